// cpu_guard_backend.c — the CPU backend dressed as a device backend, to test the core's device paths
// without a GPU. host_memory = 0; memory comes from mmap and stays PROT_NONE except inside one of this
// backend's entries (copies, kernels), which open every region, run the CPU kernel, and close them again.
// Any direct dereference of tensor data by the core (which a CUDA backend would turn into a crash or
// garbage) therefore faults here with SIGSEGV at the offending line.
#define _DEFAULT_SOURCE // MAP_ANONYMOUS
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu_backend.h"
#include "common.h"

typedef struct region {
    void *p;
    size_t len;
    struct region *next;
} region;

typedef struct {
    ditc_backend *in; // the CPU backend that runs the kernels
    region *head;
    int depth;        // nesting of open() (a kernel may call another entry of this backend)
} guard_ctx;

static void protect_all(guard_ctx *g, int prot) {
    for (region *r = g->head; r; r = r->next)
        DITC_CHECK(mprotect(r->p, r->len, prot) == 0, "cpu-guard: mprotect failed");
}
static void open_all(guard_ctx *g) {
    if (g->depth++ == 0) protect_all(g, PROT_READ | PROT_WRITE);
}
static void close_all(guard_ctx *g) {
    if (--g->depth == 0) protect_all(g, PROT_NONE);
}

static void *g_alloc(ditc_backend *be, size_t bytes) {
    guard_ctx *g = be->ctx;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = (bytes + page - 1) / page * page;
    if (!len) len = page;
    void *p = mmap(NULL, len, g->depth ? PROT_READ | PROT_WRITE : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    region *r = ditc_xcalloc(1, sizeof *r);
    *r = (region){.p = p, .len = len, .next = g->head};
    g->head = r;
    return p;
}

static void g_free(ditc_backend *be, void *p) {
    guard_ctx *g = be->ctx;
    if (!p) return;
    for (region **pr = &g->head; *pr; pr = &(*pr)->next) {
        if ((*pr)->p != p) continue;
        region *r = *pr;
        *pr = r->next;
        munmap(r->p, r->len);
        free(r);
        return;
    }
    DITC_CHECK(0, "cpu-guard: free of a pointer this backend did not allocate");
}

static void g_destroy(ditc_backend *be) {
    guard_ctx *g = be->ctx;
    while (g->head) g_free(be, g->head->p);
    g->in->destroy(g->in);
    free(g);
    free(be);
}

static void g_sync(ditc_backend *be) { (void)be; }

// Forwarders: open the regions, run the CPU entry with the CPU backend, close them.
#define FWD(entry, params, args)                                                                              \
    static void g_##entry params {                                                                            \
        guard_ctx *g = be->ctx;                                                                               \
        open_all(g);                                                                                          \
        g->in->entry args;                                                                                    \
        close_all(g);                                                                                         \
    }
#define IN g->in

FWD(copy_h2d, (ditc_backend *be, void *d, const void *s, size_t n), (IN, d, s, n))
FWD(copy_d2h, (ditc_backend *be, void *d, const void *s, size_t n), (IN, d, s, n))
FWD(copy_d2d, (ditc_backend *be, void *d, const void *s, size_t n), (IN, d, s, n))
FWD(fill, (ditc_backend *be, void *d, ditc_dtype t, size_t n, float v), (IN, d, t, n, v))
FWD(gemm, (ditc_backend *be, const ditc_gemm *x), (IN, x))
FWD(axpy, (ditc_backend *be, ditc_tensor *y, float al, const ditc_tensor *x, int acc), (IN, y, al, x, acc))
FWD(cast, (ditc_backend *be, ditc_tensor *d, const ditc_tensor *s), (IN, d, s))
FWD(binary_fwd, (ditc_backend *be, ditc_binary_op op, ditc_tensor *o, const ditc_tensor *a, const ditc_tensor *b),
    (IN, op, o, a, b))
FWD(binary_bwd, (ditc_backend *be, ditc_binary_op op, int w, ditc_tensor *dx, const ditc_tensor *dout,
                 const ditc_tensor *a, const ditc_tensor *b, int acc), (IN, op, w, dx, dout, a, b, acc))
FWD(unary_fwd, (ditc_backend *be, ditc_unary_op op, ditc_tensor *y, const ditc_tensor *x), (IN, op, y, x))
FWD(unary_bwd, (ditc_backend *be, ditc_unary_op op, ditc_tensor *dx, const ditc_tensor *dy, const ditc_tensor *x,
                int acc), (IN, op, dx, dy, x, acc))
FWD(bias_fwd, (ditc_backend *be, ditc_tensor *y, const ditc_tensor *b), (IN, y, b))
FWD(bias_bwd, (ditc_backend *be, ditc_tensor *db, const ditc_tensor *dy, int acc), (IN, db, dy, acc))
FWD(ln_mod_fwd, (ditc_backend *be, ditc_tensor *y, ditc_tensor *m, ditc_tensor *r, const ditc_tensor *x,
                 const ditc_tensor *sh, const ditc_tensor *sc, float eps), (IN, y, m, r, x, sh, sc, eps))
FWD(ln_mod_bwd, (ditc_backend *be, ditc_tensor *dx, ditc_tensor *dsh, ditc_tensor *dsc, const ditc_tensor *dy,
                 const ditc_tensor *x, const ditc_tensor *m, const ditc_tensor *r, const ditc_tensor *sc, int ax,
                 int ash, int asc), (IN, dx, dsh, dsc, dy, x, m, r, sc, ax, ash, asc))
FWD(gated_res_fwd, (ditc_backend *be, ditc_tensor *o, const ditc_tensor *x, const ditc_tensor *gt,
                    const ditc_tensor *y), (IN, o, x, gt, y))
FWD(gated_res_bwd, (ditc_backend *be, ditc_tensor *dx, ditc_tensor *dg, ditc_tensor *dy, const ditc_tensor *dout,
                    const ditc_tensor *gt, const ditc_tensor *y, int ax, int ag, int ay),
    (IN, dx, dg, dy, dout, gt, y, ax, ag, ay))
FWD(attn_fwd, (ditc_backend *be, ditc_tensor *o, ditc_tensor *l, const ditc_tensor *qkv, int h), (IN, o, l, qkv, h))
FWD(attn_bwd, (ditc_backend *be, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,
               const ditc_tensor *o, const ditc_tensor *l, int h, int acc), (IN, dqkv, dout, qkv, o, l, h, acc))
FWD(embed_fwd, (ditc_backend *be, ditc_tensor *o, const ditc_tensor *t, const ditc_tensor *i), (IN, o, t, i))
FWD(embed_bwd, (ditc_backend *be, ditc_tensor *dt, const ditc_tensor *dout, const ditc_tensor *i, int acc),
    (IN, dt, dout, i, acc))
FWD(patch_copy, (ditc_backend *be, ditc_tensor *img, ditc_tensor *tok, int p, int cl, int tt, int acc),
    (IN, img, tok, p, cl, tt, acc))
FWD(copy_2d, (ditc_backend *be, ditc_tensor *d, int64_t doff, int64_t dld, const ditc_tensor *s, int64_t soff,
              int64_t sld, int64_t rows, int64_t cols, int acc), (IN, d, doff, dld, s, soff, sld, rows, cols, acc))
FWD(reduce_rows, (ditc_backend *be, ditc_tensor *o, const ditc_tensor *x, float s, int acc), (IN, o, x, s, acc))
FWD(expand_rows, (ditc_backend *be, ditc_tensor *dx, const ditc_tensor *d, float s, int acc), (IN, dx, d, s, acc))
FWD(mse_fwd, (ditc_backend *be, ditc_tensor *o, const ditc_tensor *a, const ditc_tensor *b), (IN, o, a, b))
FWD(mse_bwd, (ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *d, const ditc_tensor *a,
              const ditc_tensor *b, int aa, int ab), (IN, da, db, d, a, b, aa, ab))
FWD(rms_norm_fwd, (ditc_backend *be, ditc_tensor *y, ditc_tensor *r, const ditc_tensor *x, const ditc_tensor *w,
                   float eps), (IN, y, r, x, w, eps))
FWD(rms_norm_bwd, (ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, const ditc_tensor *dy, const ditc_tensor *x,
                   const ditc_tensor *w, const ditc_tensor *r, int ax, int aw), (IN, dx, dw, dy, x, w, r, ax, aw))
FWD(layer_norm_fwd, (ditc_backend *be, ditc_tensor *y, ditc_tensor *m, ditc_tensor *r, const ditc_tensor *x,
                     const ditc_tensor *w, const ditc_tensor *b, float eps), (IN, y, m, r, x, w, b, eps))
FWD(layer_norm_bwd, (ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, ditc_tensor *db, const ditc_tensor *dy,
                     const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *m, const ditc_tensor *r, int ax,
                     int aw, int ab), (IN, dx, dw, db, dy, x, w, m, r, ax, aw, ab))
FWD(rope, (ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, int h, float th, int inv, int acc),
    (IN, y, x, h, th, inv, acc))
FWD(swiglu_fwd, (ditc_backend *be, ditc_tensor *o, const ditc_tensor *a, const ditc_tensor *b), (IN, o, a, b))
FWD(swiglu_bwd, (ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *d, const ditc_tensor *a,
                 const ditc_tensor *b, int aa, int ab), (IN, da, db, d, a, b, aa, ab))
FWD(modulate_fwd, (ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *sh,
                   const ditc_tensor *sc), (IN, y, x, sh, sc))
FWD(modulate_bwd, (ditc_backend *be, ditc_tensor *dx, ditc_tensor *dsh, ditc_tensor *dsc, const ditc_tensor *dy,
                   const ditc_tensor *x, const ditc_tensor *sc, int ax, int ash, int asc),
    (IN, dx, dsh, dsc, dy, x, sc, ax, ash, asc))
FWD(q_sample, (ditc_backend *be, ditc_tensor *xt, const ditc_tensor *x0, const ditc_tensor *n, const ditc_tensor *c),
    (IN, xt, x0, n, c))
FWD(diff_loss_fwd, (ditc_backend *be, ditc_tensor *mse, ditc_tensor *vb, ditc_tensor *loss, const ditc_tensor *o,
                    const ditc_tensor *x0, const ditc_tensor *xt, const ditc_tensor *n, const ditc_tensor *c),
    (IN, mse, vb, loss, o, x0, xt, n, c))
FWD(diff_loss_bwd, (ditc_backend *be, ditc_tensor *dout, const ditc_tensor *dl, const ditc_tensor *o,
                    const ditc_tensor *x0, const ditc_tensor *xt, const ditc_tensor *n, const ditc_tensor *c, int acc),
    (IN, dout, dl, o, x0, xt, n, c, acc))
FWD(cfg_combine, (ditc_backend *be, ditc_tensor *o, float s, int gd), (IN, o, s, gd))
FWD(diff_step, (ditc_backend *be, ditc_tensor *x, const ditc_tensor *o, const ditc_tensor *n, ditc_diff_coefs c,
                int ddim), (IN, x, o, n, c, ddim))
FWD(adamw, (ditc_backend *be, float *p, const float *gr, float *m, float *v, float *ema, size_t n, ditc_adamw_args a),
    (IN, p, gr, m, v, ema, n, a))
FWD(ema_update, (ditc_backend *be, float *ema, const float *p, size_t n, float d, float omd), (IN, ema, p, n, d, omd))
FWD(scale_buffer, (ditc_backend *be, float *x, size_t n, float s), (IN, x, n, s))
FWD(sophia, (ditc_backend *be, float *p, const float *gr, float *m, const float *h, float *ema, size_t n,
             ditc_sophia_args a), (IN, p, gr, m, h, ema, n, a))
FWD(sophia_hessian, (ditc_backend *be, float *h, const float *gr, size_t n, float b2, float omb2), (IN, h, gr, n, b2, omb2))
FWD(rng_fill, (ditc_backend *be, ditc_tensor *t, ditc_rng_dist d, uint64_t seed, uint32_t pu, uint32_t st,
               uint64_t i0), (IN, t, d, seed, pu, st, i0))

static double g_sum_squares(ditc_backend *be, const float *x, size_t n) {
    guard_ctx *g = be->ctx;
    open_all(g);
    double s = g->in->sum_squares(g->in, x, n);
    close_all(g);
    return s;
}

ditc_backend *ditc_cpu_guard_backend_new(int threads) {
    guard_ctx *g = ditc_xcalloc(1, sizeof *g);
    g->in = ditc_cpu_backend_new(threads);
    ditc_backend *be = ditc_xcalloc(1, sizeof *be);
    be->name = "cpu-guard";
    be->host_memory = 0;
    be->ctx = g;
    be->destroy = g_destroy;
    be->alloc = g_alloc;
    be->free = g_free;
    be->synchronize = g_sync;
    be->sum_squares = g_sum_squares;
#define SET(entry) be->entry = g_##entry;
    SET(copy_h2d) SET(copy_d2h) SET(copy_d2d) SET(fill) SET(gemm) SET(axpy) SET(cast) SET(binary_fwd)
    SET(binary_bwd) SET(unary_fwd) SET(unary_bwd) SET(bias_fwd) SET(bias_bwd) SET(ln_mod_fwd) SET(ln_mod_bwd)
    SET(gated_res_fwd) SET(gated_res_bwd) SET(attn_fwd) SET(attn_bwd) SET(embed_fwd) SET(embed_bwd)
    SET(patch_copy) SET(copy_2d) SET(reduce_rows) SET(expand_rows) SET(mse_fwd) SET(mse_bwd) SET(rms_norm_fwd)
    SET(rms_norm_bwd) SET(layer_norm_fwd) SET(layer_norm_bwd) SET(rope) SET(swiglu_fwd) SET(swiglu_bwd)
    SET(modulate_fwd) SET(modulate_bwd) SET(q_sample) SET(diff_loss_fwd) SET(diff_loss_bwd) SET(cfg_combine)
    SET(diff_step) SET(adamw) SET(ema_update) SET(scale_buffer) SET(rng_fill)
    SET(sophia) SET(sophia_hessian)
#undef SET
    return be;
}

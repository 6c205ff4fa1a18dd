// test_gpu_parity.c — every backend entry on the CPU backend and on a peer backend (CUDA by default) from the same
// inputs, at DiT-XL/2 sizes (ctest label gpu). The run FAILS when an entry of core/tensor/backend.h has no case here
// (optional entries the peer leaves NULL are listed as skipped).
//
// usage: test_gpu_parity [--peer cuda|cpu-guard|cpu] [--small] [--only GROUP,GROUP...] [--no-cap]
//   --peer    the backend compared with the CPU one (default cuda; cpu-guard / cpu check this program itself
//             without a GPU: every result must then be bit-identical);
//   --small   toy shapes only (sanitizer runs, CPU self-check); default: the toy shapes and the real ones;
//   --only    run the named groups (memory (+ timer marks) gemm attention rng elementwise norm reduce layout diffusion optim vae fid
//             large cap); the coverage check is then skipped;
//   --no-cap  skip the second pass (CUDA only) that reopens the backend with DITC_CUDA_GRID_CAP=3, so every
//             grid-stride loop of the kernels runs several rounds.
// Exits 77 with a SKIP line when the peer is cuda and there is no CUDA device (or the build has no CUDA).
//
// Real shapes: DiT-XL/2 blocks (B 32, T 256, D 1152, 16 heads of 72: 8192 rows for the column reductions, B·H 64
// batches for attention matmuls), attention at head dims 48/64/72/96/128 and T 256/1024, every GEMM form the
// core issues (linear forward/backward, strided batches in all transposes, head slices with ld > cols writing
// into a wider C, beta 0 over NaN-filled C, bf16 operands), B·heads and column-sum groups above 65535; the GEMM
// attention (core/ops/ops_attention_gemm.c: its row softmax entries, and the whole path with the peer at fp32, tf32
// and bf16 against the CPU's fp32, T up to 4096 in head chunks).
//
// Outputs written with acc = 0 (and GEMM C with beta 0) are filled with NaN first on both sides: an element the
// peer leaves unwritten stays NaN and fails. Elements legitimately untouched (outside a copied block, another
// head's columns of C) must be NaN on both sides, and their number is checked.
//
// Thresholds on NMSE = Σ(peer − cpu)² / Σ cpu² per output: fp32 ≤ 1e-10 (reordered sums, expf/tanhf vs the CPU's
// polynomial exp/tanh, FMA contraction), tf32 ≤ 1e-5 and bf16 ≤ 1e-4 (GEMM; the fused attention stays fp32; the
// GEMM attention at tf32 ≤ 1e-4, bf16 ≤ 1e-3, stated before the first device run), bf16
// operands in an fp32 GEMM ≤ 1e-8 (products exact in fp32, tensor-core accumulation). RNG: uniform streams
// bit-equal; normal streams bit-equal except ≤ 1e-6 of the elements by ≤ 1 float ulp (CUDA's double
// log/sin/cos vs glibc's; see core/util/philox.h). With a CPU peer every threshold is 0.
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_open.h"
#include "cpu_backend.h"
#include "cuda_backend.h"
#include "diffusion.h"
#include "ops_attention_gemm.h"
#include "rng.h"

#define TOL_FP32          1e-10
#define TOL_TF32          1e-5
#define TOL_BF16          1e-4
#define TOL_BF16_OPERANDS 1e-8
// Outputs written as BF16 (the next GEMM's operand): fp32 arithmetic, then one rounding — the sides differ where their
// F32 values straddle a rounding boundary (one bf16 ulp, 2^-8 relative). Stated before the first device run.
#define TOL_BF16_OUT      1e-8 // elementwise kernels (F32 values ~1e-7 apart)
#define TOL_GEMM_BF16_OUT 1e-7 // an fp32 GEMM (F32 sums ~1e-6 apart)
// The GEMM attention (core/ops/ops_attention_gemm.c) at tf32 / bf16 against the CPU's fp32: stated before the first
// device run, to be tightened to the measured values.
#define TOL_ATTN_TF32     1e-4
#define TOL_ATTN_BF16     1e-3
// The GEMM's GELU epilogue: cuBLASLt's GELU (tanh form, perhaps a hardware tanh: ≤ 2^-11 relative) against the CPU's
// exp form, before C's rounding; the bias-gradient epilogue: F32 sums (cuBLASLt) against the CPU's double sums.
// Stated before the first device run.
#define TOL_GELU_EPI      1e-5
// The flash attention (flash_fwd/bwd) against the CPU's loops of the same arithmetic (bf16 operands, F32 scores, the
// same key blocks): the sums' order differs, so a bf16 rounding of P or dS flips now and then. Stated before the first
// device run.
#define TOL_FLASH         1e-5
#define TOL_BGRAD_EPI     1e-10

// ---- the backend entries ----------------------------------------------------------------------------------
// Every entry of core/tensor/backend.h's lists gets an index; a case marks the entries it calls (COVER), and the
// end of main fails for a required entry without a case (and an optional one the peer implements).
#define ENTRY_ENUM(ret, f, params, args) E_##f,
enum { DITC_BACKEND_REQUIRED_ENTRIES(ENTRY_ENUM) DITC_BACKEND_OPTIONAL_ENTRIES(ENTRY_ENUM) E_COUNT };
#undef ENTRY_ENUM
static int covered[E_COUNT];
#define COVER(f) (covered[E_##f] = 1)

// ---- harness ------------------------------------------------------------------------------------------------
static ditc_backend *BE[2]; // cpu, peer
static const char *peer_name = "cuda";
static int strict; // the peer is a CPU backend: bit-identical results
static int small_only, nfail, npass, nskip;
static const char *only; // comma list of groups, or NULL
static uint64_t seed_ctr = 1;
static int K_; // the side a BOTH() body is running on (0 = cpu, 1 = peer)

typedef struct {
    ditc_tensor t[2];
    float *host;
} pt; // the same F32 tensor on both backends
#define X(p)         (&(p).t[K_])
// Calls entry f on both backends with the same arguments (X(p) picks each side's tensor); an expression.
#define BOTH(f, ...) (COVER(f), K_ = 0, BE[0]->f(BE[0], __VA_ARGS__), K_ = 1, BE[1]->f(BE[1], __VA_ARGS__), (void)0)

static int want(const char *group) {
    if (!only) return 1;
    size_t n = strlen(group);
    for (const char *s = only; *s;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == n && !strncmp(s, group, n)) return 1;
        if (!e) break;
        s = e + 1;
    }
    return 0;
}
__attribute__((format(printf, 1, 2))) static void skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    nskip++;
    printf("SKIP ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}
// Optional entries: the peer may leave them NULL (then the case is skipped, and so is its coverage check).
#define HAVE(f) (BE[1]->f ? 1 : (skip("%s: not implemented by the %s backend (optional entry)", #f, peer_name), 0))

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "test_gpu_parity: out of host memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

// Σ x² of n floats on backend be (its result written to the backend's memory, poisoned first), read back.
static double sum_squares_read(ditc_backend *be, const float *x, size_t n) {
    double *d = be->alloc(be, sizeof(double)), v = NAN;
    be->copy_h2d(be, d, &v, sizeof v);
    be->sum_squares(be, d, x, n);
    be->copy_d2h(be, &v, d, sizeof v);
    be->free(be, d);
    return v;
}

static void upload(pt *p) {
    for (int k = 0; k < 2; k++) BE[k]->copy_h2d(BE[k], p->t[k].data, p->host, ditc_nbytes(&p->t[k]));
}
static void mk(pt *p, int ndim, const int64_t *shape, float lo, float hi) {
    memset(p, 0, sizeof *p);
    ditc_tensor tmp;
    memset(&tmp, 0, sizeof tmp);
    ditc_tensor_set_shape(&tmp, DITC_F32, ndim, shape);
    p->host = xmalloc(ditc_nbytes(&tmp) + 4);
    ditc_rng_fill_uniform(p->host, (size_t)tmp.numel, 1234, 7, (uint32_t)seed_ctr++, 0);
    for (int64_t i = 0; i < tmp.numel; i++) p->host[i] = lo + (hi - lo) * p->host[i];
    for (int k = 0; k < 2; k++) {
        p->t[k] = tmp;
        p->t[k].backend = BE[k];
        p->t[k].data = BE[k]->alloc(BE[k], ditc_nbytes(&tmp));
        if (!p->t[k].data) {
            fprintf(stderr, "test_gpu_parity: %s alloc of %zu bytes failed\n", BE[k]->name, ditc_nbytes(&tmp));
            exit(1);
        }
    }
    upload(p);
}
static void mk1(pt *p, int64_t a, float lo, float hi) {
    int64_t s[1] = {a};
    mk(p, 1, s, lo, hi);
}
static void mk2(pt *p, int64_t a, int64_t b, float lo, float hi) {
    int64_t s[2] = {a, b};
    mk(p, 2, s, lo, hi);
}
static void mk3(pt *p, int64_t a, int64_t b, int64_t c, float lo, float hi) {
    int64_t s[3] = {a, b, c};
    mk(p, 3, s, lo, hi);
}
static void mk4(pt *p, int64_t a, int64_t b, int64_t c, int64_t d, float lo, float hi) {
    int64_t s[4] = {a, b, c, d};
    mk(p, 4, s, lo, hi);
}
static void rm(pt *p) {
    for (int k = 0; k < 2; k++) BE[k]->free(BE[k], p->t[k].data);
    free(p->host);
    memset(p, 0, sizeof *p);
}
// Both sides filled with NaN (an output about to be overwritten).
static void poison(pt *p) {
    for (int64_t i = 0; i < p->t[0].numel; i++) p->host[i] = NAN;
    upload(p);
}

// Both sides the same new finite values in [-1, 1) (an accumulator that a previous case left NaN).
static void refill(pt *p) {
    ditc_rng_fill_uniform(p->host, (size_t)p->t[0].numel, 1234, 7, (uint32_t)seed_ctr++, 0);
    for (int64_t i = 0; i < p->t[0].numel; i++) p->host[i] = 2.0f * p->host[i] - 1.0f;
    upload(p);
}

// Both sides take the CPU side's values: an accumulator whose contents were only compared within a tolerance (a
// widened bf16 output may differ by one bf16 ulp) starts equal on both sides.
static void same_both(pt *p) {
    BE[0]->copy_d2h(BE[0], p->host, p->t[0].data, ditc_nbytes(&p->t[0]));
    upload(p);
}

// Compares the two sides: NMSE over the elements, NaN exactly where expected. nan_expected: elements that must be
// NaN on both sides (untouched by the entry); every other element must be finite on both.
static void expect_gap(const char *op, const char *what, const pt *p, double tol, int64_t nan_expected) {
    size_t n = (size_t)p->t[0].numel;
    float *a = xmalloc(n * 4), *b = xmalloc(n * 4);
    BE[0]->copy_d2h(BE[0], a, p->t[0].data, n * 4);
    BE[1]->copy_d2h(BE[1], b, p->t[1].data, n * 4);
    double num = 0, den = 0;
    int64_t nan_both = 0, bad = 0, first_bad = -1;
    for (size_t i = 0; i < n; i++) {
        int fa = isfinite(a[i]), fb = isfinite(b[i]);
        if (!fa || !fb) {
            if (isnan(a[i]) && isnan(b[i])) nan_both++;
            else {
                if (first_bad < 0) first_bad = (int64_t)i;
                bad++;
            }
            continue;
        }
        double d = (double)b[i] - a[i];
        num += d * d;
        den += (double)a[i] * a[i];
    }
    double e = den > 0 ? num / den : num;
    if (strict) tol = 0.0;
    int ok = e <= tol && bad == 0 && nan_both == nan_expected;
    ok ? npass++ : nfail++;
    printf("%s %-34s %-14s NMSE %.3e (limit %.0e)", ok ? "PASS" : "FAIL", op, what, e, tol);
    if (nan_expected || nan_both) printf(", %lld of %lld untouched", (long long)nan_both, (long long)nan_expected);
    if (bad)
        printf(", %lld non-finite or unwritten (first at %lld: cpu %g, %s %g)", (long long)bad, (long long)first_bad,
               (double)a[first_bad], BE[1]->name, (double)b[first_bad]);
    printf("\n");
    free(a);
    free(b);
}
static void expect(const char *op, const char *what, const pt *p, double tol) { expect_gap(op, what, p, tol, 0); }

// ---- sizes ---------------------------------------------------------------------------------------------------
typedef struct {
    const char *label;
    int64_t B, T, D, H;     // a DiT block: (B, T, D), H heads
    int64_t rows;           // rows of the linear GEMMs
    int64_t LB, C, S;       // latents (LB, C, S, S)
    int64_t classes, nflat; // embedding table rows; optimizer buffer length
} sizes;
static const sizes SMALL = {"toy", 3, 19, 80, 4, 37, 4, 3, 6, 11, 300001};
static const sizes XL = {"XL/2", 32, 256, 1152, 16, 2048, 32, 4, 32, 1001, (1 << 25) + 3};

// ---- memory: fill (F32, BF16, I32), copy_d2d, synchronize ----------------------------------------------------
static void raw_equal(const char *op, const char *what, void *const dptr[2], size_t bytes) {
    unsigned char *a = xmalloc(bytes), *b = xmalloc(bytes);
    BE[0]->copy_d2h(BE[0], a, dptr[0], bytes);
    BE[1]->copy_d2h(BE[1], b, dptr[1], bytes);
    size_t diff = 0;
    for (size_t i = 0; i < bytes; i++) diff += a[i] != b[i];
    int ok = diff == 0;
    ok ? npass++ : nfail++;
    printf("%s %-34s %-14s %zu of %zu bytes differ\n", ok ? "PASS" : "FAIL", op, what, diff, bytes);
    free(a);
    free(b);
}

static void t_memory(const sizes *z) {
    size_t n = (size_t)(z->B * z->T * z->D + 5); // odd, not a multiple of any block
    void *d[2];
    for (int k = 0; k < 2; k++) d[k] = BE[k]->alloc(BE[k], n * 4 + 64);
    const struct {
        ditc_dtype dt;
        float v;
        const char *name;
    } fills[] = {
        {DITC_F32, -1.25f, "f32"},     {DITC_BF16, 3.140625f, "bf16"}, {DITC_BF16, 1.0f / 3.0f, "bf16 rounded"},
        {DITC_I32, 77.0f, "i32"},      {DITC_F32, NAN, "f32 nan"},     {DITC_F32, 0.0f, "f32 zero"},
        {DITC_BF16, 0.0f, "bf16 zero"}};
    for (size_t f = 0; f < sizeof fills / sizeof *fills; f++) {
        size_t es = ditc_dtype_size(fills[f].dt), m = n - f; // different lengths
        unsigned char *junk = xmalloc(n * 4 + 64);
        memset(junk, 0x5a, n * 4 + 64);
        for (int k = 0; k < 2; k++) BE[k]->copy_h2d(BE[k], d[k], junk, n * 4 + 64);
        free(junk);
        BOTH(fill, d[K_], fills[f].dt, m, fills[f].v);
        raw_equal("fill", fills[f].name, d, m * es + 64); // the 64 bytes past the end stay untouched
    }
    pt src, dst;
    mk1(&src, (int64_t)n, -1, 1);
    mk1(&dst, (int64_t)n, 0, 0);
    poison(&dst);
    const size_t off = 3, len = n - 11; // unaligned start and length
    BOTH(copy_d2d, (float *)X(dst)->data + off, (const float *)X(src)->data + 5, len * 4);
    COVER(synchronize), BE[0]->synchronize(BE[0]), BE[1]->synchronize(BE[1]);
    expect_gap("copy_d2d", "offsets", &dst, 0.0, (int64_t)(n - len));
    BOTH(copy_d2d, X(dst)->data, X(dst)->data, n * 4); // dst == src: a no-op
    expect_gap("copy_d2d", "in place", &dst, 0.0, (int64_t)(n - len));
    rm(&src), rm(&dst);
    for (int k = 0; k < 2; k++) BE[k]->free(BE[k], d[k]);
}

// ---- timer marks (optional; `ditc bench --profile`) -------------------------------------------------------------
// On each side that has them: marks count from 0 after a reset; the time across a kernel is positive and finite and
// the parts add up to the whole (no cross-side comparison: the two clocks time different hardware).
static void t_timer(const sizes *z) {
    for (int k = 0; k < 2; k++) {
        ditc_backend *b = BE[k];
        if (!b->timer_mark) {
            if (k == 1) skip("timer: not implemented by the %s backend (optional entry)", peer_name);
            continue;
        }
        COVER(timer_mark), COVER(timer_elapsed_ms), COVER(timer_reset);
        size_t n = (size_t)(z->B * z->T * z->D);
        void *d = b->alloc(b, n * 4);
        b->timer_reset(b);
        int m0 = b->timer_mark(b);
        b->fill(b, d, DITC_F32, n, 1.5f);
        int m1 = b->timer_mark(b);
        b->fill(b, d, DITC_F32, n, 2.5f);
        int m2 = b->timer_mark(b);
        double a = b->timer_elapsed_ms(b, m0, m1), c = b->timer_elapsed_ms(b, m1, m2),
               w = b->timer_elapsed_ms(b, m0, m2);
        int ok = m0 == 0 && m1 == 1 && m2 == 2 && isfinite(w) && a >= 0 && c >= 0 && w > 0 && fabs(a + c - w) <= 1e-3;
        b->timer_reset(b);
        ok = ok && b->timer_mark(b) == 0;
        ok ? npass++ : nfail++;
        printf("%s %-34s %-14s marks %d %d %d, %.4f + %.4f = %.4f ms, 0 after reset\n", ok ? "PASS" : "FAIL", "timer",
               b->name, m0, m1, m2, a, c, w);
        b->timer_reset(b);
        b->free(b, d);
    }
}

// ---- GEMM ----------------------------------------------------------------------------------------------------
typedef struct {
    const char *name;
    int ta, tb;
    int64_t m, n, k, batch, lda, ldb, ldc, sa, sb, sc, aoff, boff, coff, an, bn, cn;
    float alpha, beta;
    ditc_precision prec;
    int a_bf16, b_bf16;
    int bias, c_bf16;              // the bias epilogue (batch 1, beta 0); C written as BF16 (beta 0)
    int gelu, bgrad;               // the GELU epilogue (C = GELU, the pre-activation in aux); the bias gradient
    int dgelu;                     // the GELU-gradient epilogue (C = product · GELU' at the pre-activation aux)
    int64_t batch2, sa2, sb2, sc2; // the outer batch (0: none)
    double tol;
} gcase;

// Fills the strides of a dense case (row-major, ld = cols, batch stride = matrix size).
static gcase dense(const char *name, int ta, int tb, int64_t m, int64_t n, int64_t k, int64_t batch, float beta,
                   ditc_precision prec, double tol) {
    gcase g = {.name = name,
               .ta = ta,
               .tb = tb,
               .m = m,
               .n = n,
               .k = k,
               .batch = batch,
               .alpha = 1.0f,
               .beta = beta,
               .prec = prec,
               .tol = tol};
    g.lda = ta ? m : k, g.ldb = tb ? k : n, g.ldc = n;
    g.sa = m * k, g.sb = k * n, g.sc = m * n;
    g.an = batch * g.sa, g.bn = batch * g.sb, g.cn = batch * g.sc;
    return g;
}

static void round_bf16(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = ditc_bf16_to_f32(ditc_f32_to_bf16(x[i]));
}
// The peer's copy of p as BF16 (p's host values must already be bf16-exact). Returns device memory.
static void *peer_bf16(const pt *p) {
    int64_t n = p->t[1].numel;
    uint16_t *h = xmalloc((size_t)n * 2);
    for (int64_t i = 0; i < n; i++) h[i] = ditc_f32_to_bf16(p->host[i]);
    void *d = BE[1]->alloc(BE[1], (size_t)n * 2);
    BE[1]->copy_h2d(BE[1], d, h, (size_t)n * 2);
    free(h);
    return d;
}

// BF16 outputs: a BF16 twin of an F32 tensor on both sides, filled with NaN; after the call bf16_widen casts its
// values back into the F32 tensor (cast is bit-exact on both sides) to be compared like any output.
typedef struct {
    ditc_tensor t[2];
} bf16_twin;
static void bf16_new(bf16_twin *h, const pt *like) {
    for (int k = 0; k < 2; k++) {
        h->t[k] = like->t[k];
        h->t[k].dtype = DITC_BF16;
        h->t[k].data = BE[k]->alloc(BE[k], (size_t)like->t[k].numel * 2);
        BE[k]->fill(BE[k], h->t[k].data, DITC_BF16, (size_t)like->t[k].numel, NAN);
    }
}
static void bf16_widen(bf16_twin *h, pt *into) {
    for (int k = 0; k < 2; k++) {
        BE[k]->cast(BE[k], &into->t[k], &h->t[k]);
        BE[k]->free(BE[k], h->t[k].data);
    }
}

static void run_gemm(const gcase *c) {
    pt a, b, cc, bias, aux, db;
    bf16_twin c16, aux16;
    mk1(&a, c->an, -1, 1);
    mk1(&b, c->bn, -1, 1);
    mk1(&cc, c->cn, -1, 1);
    mk1(&bias, c->n, -2, 2);
    mk1(&aux, c->gelu || c->dgelu ? c->cn : 1, -3, 3);
    if (!c->dgelu) poison(&aux); // (an output of the GELU epilogue, an input of the GELU-gradient one)
    mk1(&db, c->bgrad ? c->m : 1, -1, 1), poison(&db);
    if (c->c_bf16) bf16_new(&c16, &cc);
    if (c->c_bf16 && (c->gelu || c->dgelu)) bf16_new(&aux16, &aux);
    if (c->c_bf16 && c->dgelu) // the pre-activation in C's dtype, the same bf16 values on both sides
        for (int k = 0; k < 2; k++) BE[k]->cast(BE[k], &aux16.t[k], &aux.t[k]);
    if (c->a_bf16) round_bf16(a.host, c->an), upload(&a);
    if (c->b_bf16) round_bf16(b.host, c->bn), upload(&b);
    if (c->beta == 0.0f) poison(&cc);
    void *a16 = c->a_bf16 ? peer_bf16(&a) : NULL, *b16 = c->b_bf16 ? peer_bf16(&b) : NULL;
    BE[1]->precision = c->prec;
    if (strict) BE[0]->precision = c->prec; // a CPU peer: both sides emulate the same arithmetic, bit for bit
    COVER(gemm);
    for (int k = 0; k < 2; k++) {
        int ab = k == 1 && c->a_bf16, bb = k == 1 && c->b_bf16;
        const char *ap = ab ? (const char *)a16 : (const char *)a.t[k].data;
        const char *bp = bb ? (const char *)b16 : (const char *)b.t[k].data;
        ditc_gemm g = {.trans_a = c->ta,
                       .trans_b = c->tb,
                       .m = c->m,
                       .n = c->n,
                       .k = c->k,
                       .batch = c->batch,
                       .alpha = c->alpha,
                       .beta = c->beta,
                       .a = ap + c->aoff * (ab ? 2 : 4),
                       .lda = c->lda,
                       .stride_a = c->sa,
                       .a_dtype = ab ? DITC_BF16 : DITC_F32,
                       .b = bp + c->boff * (bb ? 2 : 4),
                       .ldb = c->ldb,
                       .stride_b = c->sb,
                       .b_dtype = bb ? DITC_BF16 : DITC_F32,
                       .c = c->c_bf16 ? (void *)((uint16_t *)c16.t[k].data + c->coff)
                                      : (void *)((float *)cc.t[k].data + c->coff),
                       .ldc = c->ldc,
                       .stride_c = c->sc,
                       .c_dtype = c->c_bf16 ? DITC_BF16 : DITC_F32,
                       .bias = c->bias ? (const float *)bias.t[k].data : NULL,
                       .gelu_aux = !c->gelu    ? NULL
                                   : c->c_bf16 ? aux16.t[k].data
                                               : aux.t[k].data,
                       .bias_grad = c->bgrad ? (float *)db.t[k].data : NULL,
                       .dgelu_aux = !c->dgelu   ? NULL
                                    : c->c_bf16 ? aux16.t[k].data
                                                : aux.t[k].data,
                       .batch2 = c->batch2,
                       .stride_a2 = c->sa2,
                       .stride_b2 = c->sb2,
                       .stride_c2 = c->sc2};
        BE[k]->gemm(BE[k], &g);
    }
    BE[0]->precision = BE[1]->precision = DITC_PREC_FP32;
    if (c->c_bf16) bf16_widen(&c16, &cc);
    if (c->c_bf16 && c->gelu) bf16_widen(&aux16, &aux);
    if (c->c_bf16 && c->dgelu)
        for (int k = 0; k < 2; k++) BE[k]->free(BE[k], aux16.t[k].data);
    char what[48];
    snprintf(what, sizeof what, "%s%s%s%s%s b=%g", ditc_precision_name(c->prec), c->a_bf16 ? " A16" : "",
             c->b_bf16 ? " B16" : "", c->bias ? " +bias" : "", c->c_bf16 ? " C16" : "", (double)c->beta);
    int64_t outer = c->batch2 > 1 ? c->batch2 : 1;
    // C = GELU(...) or · GELU'(aux) with the epilogue (cuBLASLt's own GELU arithmetic)
    double tol_c = (c->gelu || c->dgelu) && c->tol < TOL_GELU_EPI ? TOL_GELU_EPI : c->tol;
    expect_gap(c->name, what, &cc, tol_c, c->beta == 0.0f ? c->cn - outer * c->batch * c->m * c->n : 0);
    if (c->gelu) expect(c->name, "the aux output", &aux, c->tol);
    if (c->bgrad) expect(c->name, "the bias gradient", &db, TOL_BGRAD_EPI);
    if (a16) BE[1]->free(BE[1], a16);
    if (b16) BE[1]->free(BE[1], b16);
    rm(&a), rm(&b), rm(&cc), rm(&bias), rm(&aux), rm(&db);
}

static void t_gemm(const sizes *z, int real) {
    if (!real) { // the four transposes with alpha, beta ≠ 0, 1; batches; precisions; bf16 operands
        static char names[4][32];
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                snprintf(names[ta * 2 + tb], sizeof names[0], "gemm ta=%d tb=%d", ta, tb);
                gcase g = dense(names[ta * 2 + tb], ta, tb, 37, 53, 96, 1, 0.5f, DITC_PREC_FP32, TOL_FP32);
                g.alpha = 0.7f;
                run_gemm(&g);
            }
        gcase g = dense("gemm batch 3", 0, 1, 37, 53, 96, 3, 0.5f, DITC_PREC_FP32, TOL_FP32);
        run_gemm(&g);
        g = dense("gemm batch 3", 0, 1, 37, 53, 96, 3, 0.0f, DITC_PREC_TF32, TOL_TF32), run_gemm(&g);
        g = dense("gemm batch 3", 1, 0, 37, 53, 96, 3, 0.0f, DITC_PREC_BF16, TOL_BF16), run_gemm(&g);
        g = dense("gemm", 0, 0, 37, 53, 96, 1, 1.0f, DITC_PREC_BF16, TOL_BF16), run_gemm(&g);
        g = dense("gemm bf16 operands", 0, 1, 37, 53, 96, 2, 0.0f, DITC_PREC_FP32, TOL_BF16_OPERANDS);
        g.a_bf16 = 1, g.alpha = 0.7f, run_gemm(&g);
        g.a_bf16 = 0, g.b_bf16 = 1, run_gemm(&g);
        g.a_bf16 = 1, run_gemm(&g);
    }
    const int64_t M = z->rows, D = z->D, T = z->T, H = z->H, hd = D / H, B = z->B, BH = B * H / (real ? 8 : 1);
    // linear: y = x·Wᵀ (+ bias already in y); dx = dy·W; dW = dyᵀ·x (beta = acc)
    const gcase lin[] = {
        dense("linear fwd qkv", 0, 1, M, 3 * D, D, 1, 0.0f, DITC_PREC_FP32, TOL_FP32),
        dense("linear fwd + bias", 0, 1, M, 4 * D, D, 1, 1.0f, DITC_PREC_FP32, TOL_FP32),
        dense("linear bwd dx", 0, 0, M, D, 3 * D, 1, 0.0f, DITC_PREC_FP32, TOL_FP32),
        dense("linear bwd dx acc", 0, 0, M, D, 4 * D, 1, 1.0f, DITC_PREC_FP32, TOL_FP32),
        dense("linear bwd dW", 1, 0, 3 * D, D, M, 1, 0.0f, DITC_PREC_FP32, TOL_FP32),
        dense("linear bwd dW acc", 1, 0, D, 4 * D, M, 1, 1.0f, DITC_PREC_FP32, TOL_FP32),
        dense("linear fwd qkv", 0, 1, M, 3 * D, D, 1, 0.0f, DITC_PREC_TF32, TOL_TF32),
        dense("linear bwd dW", 1, 0, 3 * D, D, M, 1, 1.0f, DITC_PREC_TF32, TOL_TF32),
        dense("linear fwd qkv", 0, 1, M, 3 * D, D, 1, 0.0f, DITC_PREC_BF16, TOL_BF16),
        dense("linear bwd dx", 0, 0, M, D, 3 * D, 1, 1.0f, DITC_PREC_BF16, TOL_BF16),
        dense("linear bwd dW", 1, 0, 3 * D, D, M, 1, 0.0f, DITC_PREC_BF16, TOL_BF16),
    };
    for (size_t i = 0; i < sizeof lin / sizeof *lin; i++) run_gemm(&lin[i]);
    // batched matmul over B·H heads (strided batches, every transpose pair), e.g. scores q·kᵀ and P·V
    const gcase mm[] = {
        dense("matmul q·kT", 0, 1, T, T, hd, BH, 0.0f, DITC_PREC_FP32, TOL_FP32),
        dense("matmul P·V", 0, 0, T, hd, T, BH, 0.0f, DITC_PREC_FP32, TOL_FP32),
        dense("matmul PT·dO", 1, 0, T, hd, T, BH, 1.0f, DITC_PREC_FP32, TOL_FP32),
        dense("matmul (1,1)", 1, 1, T, hd, T, BH, 0.0f, DITC_PREC_FP32, TOL_FP32),
        dense("matmul q·kT", 0, 1, T, T, hd, BH, 0.0f, DITC_PREC_TF32, TOL_TF32),
        dense("matmul P·V", 0, 0, T, hd, T, BH, 0.0f, DITC_PREC_BF16, TOL_BF16),
    };
    for (size_t i = 0; i < sizeof mm / sizeof *mm; i++) run_gemm(&mm[i]);
    // head slices of a packed qkv (B, T, 3D): A = q of head h (lda 3D > hd), B = k of head h, batch over B with
    // stride T·3D; then P·V written into head h's columns of out (B, T, D) (ldc D > hd): the other heads' columns
    // stay NaN.
    const int64_t h = H - 1;
    gcase s = {.name = "gemm head slice q·kT",
               .ta = 0,
               .tb = 1,
               .m = T,
               .n = T,
               .k = hd,
               .batch = B,
               .alpha = 0.125f,
               .beta = 0.0f,
               .prec = DITC_PREC_FP32,
               .tol = TOL_FP32};
    s.lda = s.ldb = 3 * D, s.ldc = T, s.sa = s.sb = T * 3 * D, s.sc = T * T;
    s.aoff = h * hd, s.boff = D + h * hd, s.an = s.bn = B * T * 3 * D, s.cn = B * T * T;
    run_gemm(&s);
    s.prec = DITC_PREC_BF16, s.tol = TOL_BF16, run_gemm(&s);
    gcase o = {.name = "gemm head slice P·V -> ldc",
               .ta = 0,
               .tb = 0,
               .m = T,
               .n = hd,
               .k = T,
               .batch = B,
               .alpha = 1.0f,
               .beta = 0.0f,
               .prec = DITC_PREC_FP32,
               .tol = TOL_FP32};
    o.lda = T, o.ldb = 3 * D, o.ldc = D, o.sa = T * T, o.sb = T * 3 * D, o.sc = T * D;
    o.boff = 2 * D + h * hd, o.coff = h * hd, o.an = B * T * T, o.bn = B * T * 3 * D, o.cn = B * T * D;
    run_gemm(&o);
    o.prec = DITC_PREC_TF32, o.tol = TOL_TF32, run_gemm(&o);
    o.prec = DITC_PREC_FP32, o.beta = 1.0f, o.name = "gemm head slice dV acc", run_gemm(&o);
    // bf16 operands (a BF16 weight or activation) in an fp32 GEMM, mixed with F32
    gcase w = dense("linear bf16 operands", 0, 1, M, 3 * D, D, 1, 0.0f, DITC_PREC_FP32, TOL_BF16_OPERANDS);
    w.b_bf16 = 1, run_gemm(&w);
    w.a_bf16 = 1, run_gemm(&w);
    w.b_bf16 = 0, w.beta = 1.0f, run_gemm(&w);
    w.a_bf16 = w.b_bf16 = 1, w.prec = DITC_PREC_BF16, w.tol = TOL_BF16, run_gemm(&w);
    // the bias epilogue (cuBLASLt at tf32/bf16; a bias fill + beta 1 at fp32) and BF16 outputs (the qkv linear and
    // the attention's P·V at bf16 write the next GEMM's operand): every precision, so each CUDA path runs
    const ditc_precision precs[3] = {DITC_PREC_FP32, DITC_PREC_TF32, DITC_PREC_BF16};
    const double tols[3] = {TOL_FP32, TOL_TF32, TOL_BF16}, tols16[3] = {TOL_GEMM_BF16_OUT, TOL_TF32, TOL_BF16};
    for (int p = 0; p < 3; p++) {
        gcase e = dense("linear fwd bias epilogue", 0, 1, M, 3 * D, D, 1, 0.0f, precs[p], tols[p]);
        e.bias = 1, run_gemm(&e);
        e.name = "linear fwd bias -> bf16", e.c_bf16 = 1, e.tol = tols16[p], run_gemm(&e);
        e.name = "linear fwd -> bf16", e.bias = 0, run_gemm(&e);
        e.name = "linear fwd bias, bf16 x", e.a_bf16 = 1, e.bias = 1, e.c_bf16 = 0, e.tol = tols[p];
        if (p == 0) e.tol = TOL_BF16_OPERANDS;
        run_gemm(&e);
        gcase v = o; // P·V into head h's columns of a BF16 out (ldc D, batch stride T·D)
        v.name = "gemm head slice P·V -> bf16", v.beta = 0.0f, v.prec = precs[p], v.tol = tols16[p], v.c_bf16 = 1;
        run_gemm(&v);
        // the GELU epilogue (fc1 + GELU: cuBLASLt GELU_AUX[_BIAS] at tf32/bf16, the GEMM + GELU passes at fp32)
        gcase u = dense("linear fwd GELU epilogue", 0, 1, M, 4 * D, D, 1, 0.0f, precs[p], tols[p]);
        u.bias = 1, u.gelu = 1, run_gemm(&u);
        u.name = "linear fwd GELU -> bf16", u.c_bf16 = 1, u.a_bf16 = 1, u.tol = tols16[p], run_gemm(&u);
        u.name = "linear fwd GELU, no bias -> bf16", u.bias = 0, run_gemm(&u);
        // the bias-gradient epilogue in the dW GEMM (BGRADB for a BF16 output gradient at tf32/bf16; bias_bwd else)
        gcase d = dense("linear bwd dW + bias grad", 1, 0, 4 * D, D, M, 1, 0.0f, precs[p], tols[p]);
        d.bgrad = 1, d.a_bf16 = 1, d.tol = p == 0 ? TOL_BF16_OPERANDS : tols[p], run_gemm(&d);
        d.name = "linear bwd dW acc + bias grad", d.beta = 1.0f, run_gemm(&d);
        d.name = "linear bwd dW + bias grad, F32 dy", d.a_bf16 = 0, d.beta = 0.0f, d.tol = tols[p], run_gemm(&d);
        // the GELU-gradient epilogue in fc2's dx GEMM (DGELU at tf32/bf16; the GEMM + GELU's backward else):
        // dy (M, D) · W2 (D, 4D) times GELU' at fc1's pre-activation, into fc1's output gradient
        gcase x = dense("linear bwd dx GELU-gradient epilogue", 0, 0, M, 4 * D, D, 1, 0.0f, precs[p], tols[p]);
        x.dgelu = 1, run_gemm(&x);
        x.name = "linear bwd dx GELU-gradient -> bf16", x.c_bf16 = 1, x.a_bf16 = x.b_bf16 = 1, x.tol = tols16[p];
        run_gemm(&x);
    }
    // an outer batch (heads inside batch elements of a packed qkv: one call; CUDA: pointer arrays), all precisions
    for (int p = 0; p < 3; p++) {
        const int64_t nb = real ? 4 : B, nh = H;
        gcase q = {.name = "gemm heads x batch q·kT",
                   .ta = 0,
                   .tb = 1,
                   .m = T,
                   .n = T,
                   .k = hd,
                   .batch = nh,
                   .alpha = 0.125f,
                   .prec = precs[p],
                   .tol = tols[p]};
        q.lda = q.ldb = 3 * D, q.ldc = T, q.sa = q.sb = hd, q.sc = T * T, q.boff = D;
        q.batch2 = nb, q.sa2 = q.sb2 = T * 3 * D, q.sc2 = nh * T * T;
        q.an = q.bn = nb * T * 3 * D, q.cn = nb * nh * T * T;
        run_gemm(&q);
        gcase v = {.name = "gemm heads x batch P·V -> rows",
                   .ta = 0,
                   .tb = 0,
                   .m = T,
                   .n = hd,
                   .k = T,
                   .batch = nh,
                   .alpha = 1.0f,
                   .prec = precs[p],
                   .tol = tols[p]};
        v.lda = T, v.ldb = 3 * D, v.ldc = D, v.sa = T * T, v.sb = hd, v.sc = hd, v.boff = 2 * D;
        v.batch2 = nb, v.sa2 = nh * T * T, v.sb2 = T * 3 * D, v.sc2 = T * D;
        v.an = nb * nh * T * T, v.bn = nb * T * 3 * D, v.cn = nb * T * D;
        run_gemm(&v);
        v.name = "gemm heads x batch P·V -> bf16", v.c_bf16 = 1, v.tol = tols16[p], run_gemm(&v);
        v.name = "gemm heads x batch dV acc", v.c_bf16 = 0, v.beta = 1.0f, v.tol = tols[p], run_gemm(&v);
    }
    if (!real) { // an outer batch that continues the inner one (folded into one strided batch on CUDA)
        gcase f = dense("gemm outer batch, uniform", 0, 1, 37, 53, 96, 3, 0.0f, DITC_PREC_TF32, TOL_TF32);
        f.batch2 = 2, f.sa2 = 3 * f.sa, f.sb2 = 3 * f.sb, f.sc2 = 3 * f.sc, f.an *= 2, f.bn *= 2, f.cn *= 2;
        run_gemm(&f);
    }
    if (!real) { // odd shapes: bias and BF16 C with ldc > n
        gcase e = dense("gemm bias ldc", 1, 1, 37, 53, 96, 1, 0.0f, DITC_PREC_BF16, TOL_BF16);
        e.ldc = 61, e.sc = 37 * 61, e.cn = 37 * 61, e.bias = 1, run_gemm(&e);
        e.c_bf16 = 1, run_gemm(&e);
        e.prec = DITC_PREC_TF32, e.tol = TOL_TF32, run_gemm(&e);
    }
}

// ---- attention -----------------------------------------------------------------------------------------------
// Forward, then backward with acc 0 and 1, on both sides from the same inputs: the fused entries (c == NULL), or the
// GEMM path (core/ops/ops_attention_gemm.c) through the contexts c[0], c[1].
// keep (GEMM path only): the forward keeps its bf16 probabilities (B, H, T, T) for the backward.
static void attention_run(const char *name, int64_t B, int64_t T, int H, int hd, ditc_ctx *c, double tol, int keep) {
    pt qkv, out, lse, dout, dqkv;
    int64_t D = (int64_t)H * hd;
    ditc_tensor kp[2] = {{0}};
    for (int k = 0; keep && k < 2; k++) { // (written by the forward before the backward reads it)
        int64_t ks[4] = {B, H, T, T};
        ditc_tensor_set_shape(&kp[k], DITC_BF16, 4, ks);
        kp[k].backend = BE[k];
        kp[k].data = BE[k]->alloc(BE[k], ditc_nbytes(&kp[k]));
    }
    mk3(&qkv, B, T, 3 * D, -1.5f, 1.5f);
    mk3(&out, B, T, D, 0, 0);
    mk3(&lse, B, H, T, 0, 0);
    mk3(&dout, B, T, D, -1, 1);
    mk3(&dqkv, B, T, 3 * D, -1, 1);
    poison(&out), poison(&lse);
    if (c)
        for (K_ = 0; K_ < 2; K_++) ditc_attn_gemm_fwd(&c[K_], X(out), X(lse), X(qkv), H, keep ? &kp[K_] : NULL);
    else BOTH(attn_fwd, X(out), X(lse), X(qkv), H);
    expect(name, "out", &out, tol);
    expect(name, "lse", &lse, tol);
    for (int acc = 0; acc < 2; acc++) {
        if (!acc) poison(&dqkv);
        if (c)
            for (K_ = 0; K_ < 2; K_++)
                ditc_attn_gemm_bwd(&c[K_], X(dqkv), X(dout), X(qkv), X(lse), H, acc, keep ? &kp[K_] : NULL);
        else BOTH(attn_bwd, X(dqkv), X(dout), X(qkv), X(out), X(lse), H, acc);
        expect(name, acc ? "dqkv acc" : "dqkv", &dqkv, tol);
    }
    rm(&qkv), rm(&out), rm(&lse), rm(&dout), rm(&dqkv);
    for (int k = 0; keep && k < 2; k++) BE[k]->free(BE[k], kp[k].data);
}

static void attention(int64_t B, int64_t T, int H, int hd) {
    char name[64];
    snprintf(name, sizeof name, "attention B=%lld H=%d T=%lld hd=%d", (long long)B, H, (long long)T, hd);
    attention_run(name, B, T, H, hd, NULL, TOL_FP32, 0);
}

// The flash entries (DITC_ATTN=flash) on both sides: qkv, out and dqkv F32 (rounded to bf16 inside) or BF16 (bf = 1;
// dout F32 as the proj linear writes it); dqkv NaN-poisoned first (every element is written).
static void attention_flash(int64_t B, int64_t T, int H, int hd, int bf) {
    pt qkv, out, lse, dout, dqkv;
    int64_t D = (int64_t)H * hd;
    mk3(&qkv, B, T, 3 * D, -1.5f, 1.5f);
    mk3(&out, B, T, D, 0, 0);
    mk3(&lse, B, H, T, 0, 0);
    mk3(&dout, B, T, D, -1, 1);
    mk3(&dqkv, B, T, 3 * D, -1, 1);
    poison(&out), poison(&lse), poison(&dqkv);
    bf16_twin q16, o16, d16;
    if (bf) {
        bf16_new(&q16, &qkv), bf16_new(&o16, &out), bf16_new(&d16, &dqkv);
        for (int k = 0; k < 2; k++) BE[k]->cast(BE[k], &q16.t[k], &qkv.t[k]);
    }
    ditc_tensor *xq[2], *xo[2], *xd[2];
    for (int k = 0; k < 2; k++) {
        xq[k] = bf ? &q16.t[k] : &qkv.t[k];
        xo[k] = bf ? &o16.t[k] : &out.t[k];
        xd[k] = bf ? &d16.t[k] : &dqkv.t[k];
    }
    char name[64];
    snprintf(name, sizeof name, "flash B=%lld H=%d T=%lld hd=%d%s", (long long)B, H, (long long)T, hd,
             bf ? " bf16" : "");
    BOTH(flash_fwd, xo[K_], X(lse), xq[K_], H);
    BOTH(flash_bwd, xd[K_], X(dout), xq[K_], xo[K_], X(lse), H);
    if (bf) bf16_widen(&o16, &out), bf16_widen(&d16, &dqkv), bf16_widen(&q16, &qkv);
    expect(name, "out", &out, TOL_FLASH);
    expect(name, "lse", &lse, TOL_FLASH);
    expect(name, "dqkv", &dqkv, TOL_FLASH);
    rm(&qkv), rm(&out), rm(&lse), rm(&dout), rm(&dqkv);
}

static void t_attention(const sizes *z, int real) {
    if (!real) { // odd T (not a multiple of the 32-row tile), every register-block width NC = 1..4
        attention(2, 45, 3, 16);
        attention(2, 77, 2, 64);
        attention(1, 64, 2, 72);
        attention(1, 50, 2, 96);
        attention(1, 70, 2, 128);
        attention(z->B, z->T, (int)z->H, (int)(z->D / z->H));
        // flash: T not a multiple of the 64-row tiles, every padded head width (64, 80, 96, 128), F32 and BF16
        attention_flash(2, 45, 3, 16, 0);
        attention_flash(2, 77, 2, 64, 1);
        attention_flash(1, 64, 2, 72, 0);
        attention_flash(1, 130, 2, 72, 1);
        attention_flash(1, 50, 2, 96, 1);
        attention_flash(1, 70, 2, 128, 0);
        return;
    }
    attention_flash(32, 256, 16, 72, 1); // DiT-XL/2 at batch 32: B·H = 512
    const int fhds[] = {64, 72, 96, 128};
    for (size_t i = 0; i < sizeof fhds / sizeof *fhds; i++) attention_flash(1, 1024, 4, fhds[i], 1);
    attention_flash(1, 4096, 1, 64, 1); // a long sequence
    attention_flash(3, 250, 6, 72, 0);
    attention(4, 256, 16, 72); // DiT-XL/2: B·H = 64
    const int hds[] = {48, 64, 72, 96, 128};
    for (size_t i = 0; i < sizeof hds / sizeof *hds; i++) {
        attention(2, 256, 8, hds[i]);
        attention(1, 1024, 4, hds[i]);
    }
    attention(3, 250, 6, 72); // T not a multiple of 32 at a real width
}

// ---- the GEMM attention: row softmax entries, and the whole path (GEMMs on head slices + softmax) ----------------
static void softmax_case(int64_t R, int64_t C) {
    pt x, lse, dy, y, w;
    mk2(&x, R, C, -6, 6);
    mk1(&lse, R, 0, 0);
    mk2(&dy, R, C, -1, 1);
    mk2(&y, R, C, 0, 0);
    mk2(&w, R, C, 0, 0); // bf16 results widened
    char name[64];
    snprintf(name, sizeof name, "softmax R=%lld C=%lld", (long long)R, (long long)C);
    poison(&lse);
    for (int k = 0; k < 2; k++) BE[k]->copy_d2d(BE[k], y.t[k].data, x.t[k].data, ditc_nbytes(&x.t[k])); // scores
    BOTH(softmax_fwd, X(y), X(lse), NULL, 0);
    expect(name, "probabilities", &y, TOL_FP32);
    expect(name, "lse", &lse, TOL_FP32);
    bf16_twin h; // the probabilities also as the P·V GEMM's bf16 operand, the scores left in x
    bf16_new(&h, &x);
    BOTH(softmax_fwd, X(x), X(lse), &h.t[K_], DITC_SOFTMAX_ONLY_P16);
    bf16_widen(&h, &w), expect(name, "-> bf16 only", &w, TOL_BF16_OUT);
    bf16_new(&h, &x);
    BOTH(softmax_fwd, X(x), X(lse), &h.t[K_], DITC_SOFTMAX_RECOMPUTE); // exp(x - lse): the probabilities again
    expect(name, "recomputed", &x, TOL_FP32);
    bf16_widen(&h, &w), expect(name, "recomputed -> bf16", &w, TOL_BF16_OUT);
    bf16_new(&h, &dy); // dS as the dQ/dK GEMMs' bf16 operand, dy left
    BOTH(softmax_bwd, X(dy), X(y), &h.t[K_]);
    bf16_widen(&h, &w), expect(name, "dx -> bf16", &w, TOL_BF16_OUT);
    bf16_twin y16; // the probabilities as the forward keeps them (bf16) read by the backward
    bf16_new(&y16, &y);
    for (int s = 0; s < 2; s++) BE[s]->cast(BE[s], &y16.t[s], &y.t[s]);
    bf16_new(&h, &dy);
    BOTH(softmax_bwd, X(dy), &y16.t[K_], &h.t[K_]);
    bf16_widen(&h, &w), expect(name, "dx, bf16 y -> bf16", &w, TOL_BF16_OUT);
    for (int s = 0; s < 2; s++) BE[s]->free(BE[s], y16.t[s].data);
    BOTH(softmax_bwd, X(dy), X(y), NULL);
    expect(name, "dx", &dy, TOL_FP32);
    rm(&x), rm(&lse), rm(&dy), rm(&y), rm(&w);
}

// ditc_attn_gemm_fwd/bwd on both sides, the CPU at fp32 and the peer at `prec` (its GEMMs on tensor cores).
static void attention_gemm(int64_t B, int64_t T, int H, int hd, ditc_precision prec, double tol) {
    ditc_ctx c[2];
    for (int k = 0; k < 2; k++) ditc_ctx_init(&c[k], BE[k]);
    BE[1]->precision = prec;
    if (strict) BE[0]->precision = prec; // a CPU peer: the same emulated arithmetic on both sides
    COVER(gemm), COVER(softmax_fwd), COVER(softmax_bwd);
    char name[64];
    snprintf(name, sizeof name, "attention gemm %s B=%lld H=%d T=%lld hd=%d", ditc_precision_name(prec), (long long)B,
             H, (long long)T, hd);
    attention_run(name, B, T, H, hd, c, tol, 0);
    if (prec == DITC_PREC_BF16 && B * H * T * T <= ((int64_t)64 << 20)) { // the bf16 probabilities kept for backward
        snprintf(name, sizeof name, "attention gemm bf16 kept P B=%lld H=%d T=%lld hd=%d", (long long)B, H,
                 (long long)T, hd);
        attention_run(name, B, T, H, hd, c, tol, 1);
    }
    BE[0]->precision = BE[1]->precision = DITC_PREC_FP32;
    for (int k = 0; k < 2; k++) ditc_ctx_free(&c[k]);
}

static void t_attention_gemm(const sizes *z, int real) {
    if (!real) {
        // (CUDA: rows ≤ 1024 a warp each, N = 1..32 slots per lane — whole and part slots —, longer ones a block)
        softmax_case(3 * 45, 45);
        softmax_case(5, 1);
        softmax_case(7, 300);
        softmax_case(6, 64);
        softmax_case(3, 1100);
        softmax_case(4, 100), softmax_case(4, 256), softmax_case(2, 1000); // (the warp kernels' 4, 8, 32 slots)
        attention_gemm(2, 45, 3, 16, DITC_PREC_FP32, TOL_FP32);
        attention_gemm(z->B, z->T, (int)z->H, (int)(z->D / z->H), DITC_PREC_FP32, TOL_FP32);
        // bf16 at toy sizes too (the sanitizer runs use --small): bf16 P/dS, the kept probabilities, outer batches
        attention_gemm(2, 45, 3, 16, DITC_PREC_BF16, TOL_ATTN_BF16);
        attention_gemm(z->B, z->T, (int)z->H, (int)(z->D / z->H), DITC_PREC_TF32, TOL_ATTN_TF32);
        return;
    }
    softmax_case(16 * 256, 256); // DiT-XL/2: one batch element's 16 heads
    softmax_case(4 * 1024, 1024);
    softmax_case(8, 4096);
    const ditc_precision precs[3] = {DITC_PREC_FP32, DITC_PREC_TF32, DITC_PREC_BF16};
    const double tols[3] = {TOL_FP32, TOL_ATTN_TF32, TOL_ATTN_BF16};
    for (int p = 0; p < 3; p++) attention_gemm(4, 256, 16, 72, precs[p], tols[p]); // DiT-XL/2
    const int hds[] = {64, 96, 128};
    for (size_t i = 0; i < sizeof hds / sizeof *hds; i++)
        attention_gemm(2, 256, 8, hds[i], DITC_PREC_BF16, TOL_ATTN_BF16);
    attention_gemm(1, 1024, 4, 72, DITC_PREC_BF16, TOL_ATTN_BF16);
    attention_gemm(1, 4096, 3, 64, DITC_PREC_BF16, TOL_ATTN_BF16); // long sequences: score chunks of 2 + 1 heads
    attention_gemm(3, 250, 6, 72, DITC_PREC_TF32, TOL_ATTN_TF32);
}

// ---- RNG -------------------------------------------------------------------------------------------------------
static void rng_case(int64_t n, uint64_t index0) {
    for (int dist = 0; dist < 2; dist++) {
        pt t;
        mk1(&t, n, 0, 0);
        poison(&t);
        BOTH(rng_fill, X(t), (ditc_rng_dist)dist, 0x123456789abcdefULL, 3, 17, index0);
        float *a = xmalloc((size_t)n * 4), *b = xmalloc((size_t)n * 4);
        BE[0]->copy_d2h(BE[0], a, t.t[0].data, (size_t)n * 4);
        BE[1]->copy_d2h(BE[1], b, t.t[1].data, (size_t)n * 4);
        int64_t diff = 0, big = 0;
        for (int64_t i = 0; i < n; i++) {
            if (a[i] == b[i]) continue;
            diff++;
            if (!(fabsf(a[i] - b[i]) <= fabsf(nextafterf(a[i], INFINITY) - a[i]))) big++; // NaN counts as big
        }
        int ok = dist == 0 || strict ? diff == 0 : (big == 0 && diff <= n / 1000000 + 1);
        ok ? npass++ : nfail++;
        printf("%s rng_fill %-7s n=%lld index0=%llu: %lld differ (%lld by more than 1 ulp)\n", ok ? "PASS" : "FAIL",
               dist ? "normal" : "uniform", (long long)n, (unsigned long long)index0, (long long)diff, (long long)big);
        free(a), free(b), rm(&t);
    }
}
static void t_rng(const sizes *z, int real) {
    if (!real) {
        rng_case(100003, 5);
        rng_case(7, 2);
        return;
    }
    rng_case(z->LB * z->C * z->S * z->S * 2 + 1, 0);
    rng_case(z->B * z->T * z->D, 4097);
}

// ---- elementwise, norms, reductions on a (B, T, D) block -------------------------------------------------------
typedef struct {
    pt x, y, x2, s1, s2, m, r, dy, dx, ds1, ds2, w, bb, dw, db;
} block;
static void block_new(block *k, const sizes *z) {
    int64_t B = z->B, T = z->T, D = z->D;
    mk3(&k->x, B, T, D, -2, 2), mk3(&k->x2, B, T, D, -2, 2), mk3(&k->y, B, T, D, 0, 0), mk3(&k->dy, B, T, D, -1, 1);
    mk3(&k->dx, B, T, D, -1, 1);
    mk2(&k->s1, B, D, -0.5f, 0.5f), mk2(&k->s2, B, D, -0.5f, 0.5f), mk2(&k->ds1, B, D, -1, 1),
        mk2(&k->ds2, B, D, -1, 1);
    mk2(&k->m, B, T, 0, 0), mk2(&k->r, B, T, 0, 0);
    mk1(&k->w, D, 0.5f, 1.5f), mk1(&k->bb, D, -1, 1), mk1(&k->dw, D, -1, 1), mk1(&k->db, D, -1, 1);
}
static void block_free(block *k) {
    pt *all[] = {&k->x,  &k->y,   &k->x2,  &k->s1, &k->s2, &k->m,  &k->r, &k->dy,
                 &k->dx, &k->ds1, &k->ds2, &k->w,  &k->bb, &k->dw, &k->db};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) rm(all[i]);
}
// the outputs of a call: poisoned for acc = 0; for acc = 1, the same values on both sides (the CPU's: what the
// previous call left there may differ within that call's tolerance, a widened bf16 output by one bf16 ulp)
#define OUT(p) (acc ? same_both(&(p)) : poison(&(p)))

static void t_elementwise(const sizes *z) {
    block k;
    block_new(&k, z);
    const double T32 = TOL_FP32;
    for (int acc = 0; acc < 2; acc++) {
        OUT(k.y), BOTH(axpy, X(k.y), 0.3f, X(k.x), acc), expect("axpy", acc ? "acc" : "", &k.y, T32);
        poison(&k.y), BOTH(binary_fwd, DITC_BIN_MUL, X(k.y), X(k.x), X(k.x2)),
            expect("binary_fwd mul", "same shape", &k.y, T32);
        poison(&k.y), BOTH(binary_fwd, DITC_BIN_ADD, X(k.y), X(k.x), X(k.x2)),
            expect("binary_fwd add", "same shape", &k.y, T32);
        OUT(k.dx), BOTH(binary_bwd, DITC_BIN_MUL, 0, X(k.dx), X(k.dy), X(k.x), X(k.x2), acc);
        expect("binary_bwd mul", acc ? "same acc" : "same", &k.dx, T32);
        OUT(k.dx), BOTH(binary_bwd, DITC_BIN_ADD, 1, X(k.dx), X(k.dy), X(k.x), X(k.x2), acc);
        expect("binary_bwd add", acc ? "same acc" : "same", &k.dx, T32);
        poison(&k.y), BOTH(unary_fwd, DITC_UN_GELU_TANH, X(k.y), X(k.x)), expect("gelu", "fwd", &k.y, T32);
        if (!acc) { // the GELU written as the fc2 GEMM's bf16 operand
            bf16_twin h;
            bf16_new(&h, &k.y);
            BOTH(unary_fwd, DITC_UN_GELU_TANH, &h.t[K_], X(k.x));
            bf16_widen(&h, &k.y), expect("gelu", "fwd -> bf16", &k.y, TOL_BF16_OUT);
        }
        OUT(k.dx), BOTH(unary_bwd, DITC_UN_GELU_TANH, X(k.dx), X(k.dy), X(k.x), acc),
            expect("gelu", acc ? "bwd acc" : "bwd", &k.dx, T32);
        if (!acc) { // dx written as the producing linear's bf16 output gradient
            bf16_twin h;
            bf16_new(&h, &k.dx);
            BOTH(unary_bwd, DITC_UN_GELU_TANH, &h.t[K_], X(k.dy), X(k.x), 0);
            bf16_widen(&h, &k.dx), expect("gelu", "bwd -> bf16", &k.dx, TOL_BF16_OUT);
            bf16_twin xh; // x read as bf16 (fc1's bf16 output), forward and backward, F32 and BF16 results
            bf16_new(&xh, &k.x);
            for (int s = 0; s < 2; s++) BE[s]->cast(BE[s], &xh.t[s], &k.x.t[s]);
            poison(&k.y), BOTH(unary_fwd, DITC_UN_GELU_TANH, X(k.y), &xh.t[K_]);
            expect("gelu", "fwd, bf16 x", &k.y, T32);
            poison(&k.dx), BOTH(unary_bwd, DITC_UN_GELU_TANH, X(k.dx), X(k.dy), &xh.t[K_], 0);
            expect("gelu", "bwd, bf16 x", &k.dx, T32);
            bf16_new(&h, &k.dx);
            BOTH(unary_bwd, DITC_UN_GELU_TANH, &h.t[K_], X(k.dy), &xh.t[K_], 0);
            bf16_widen(&h, &k.dx), expect("gelu", "bwd, bf16 x -> bf16", &k.dx, TOL_BF16_OUT);
            bf16_new(&h, &k.y);
            BOTH(unary_fwd, DITC_UN_GELU_TANH, &h.t[K_], &xh.t[K_]);
            bf16_widen(&h, &k.y), expect("gelu", "fwd, bf16 x -> bf16", &k.y, TOL_BF16_OUT);
            bf16_twin dyh; // dy read as bf16 (the GELU output's gradient, written by fc2's dx GEMM at bf16)
            bf16_new(&dyh, &k.dy);
            for (int s = 0; s < 2; s++) BE[s]->cast(BE[s], &dyh.t[s], &k.dy.t[s]);
            poison(&k.dx), BOTH(unary_bwd, DITC_UN_GELU_TANH, X(k.dx), &dyh.t[K_], X(k.x), 0);
            expect("gelu", "bwd, bf16 dy", &k.dx, T32);
            poison(&k.dx), BOTH(unary_bwd, DITC_UN_GELU_TANH, X(k.dx), &dyh.t[K_], &xh.t[K_], 0);
            expect("gelu", "bwd, bf16 dy x", &k.dx, T32);
            bf16_new(&h, &k.dx);
            BOTH(unary_bwd, DITC_UN_GELU_TANH, &h.t[K_], &dyh.t[K_], X(k.x), 0);
            bf16_widen(&h, &k.dx), expect("gelu", "bwd, bf16 dy -> bf16", &k.dx, TOL_BF16_OUT);
            bf16_new(&h, &k.dx); // the bf16 training pass: all three bf16
            BOTH(unary_bwd, DITC_UN_GELU_TANH, &h.t[K_], &dyh.t[K_], &xh.t[K_], 0);
            bf16_widen(&h, &k.dx), expect("gelu", "bwd, bf16 dy x -> bf16", &k.dx, TOL_BF16_OUT);
            for (int s = 0; s < 2; s++) BE[s]->free(BE[s], xh.t[s].data), BE[s]->free(BE[s], dyh.t[s].data);
        }
        poison(&k.y), BOTH(unary_fwd, DITC_UN_SILU, X(k.y), X(k.x)), expect("silu", "fwd", &k.y, T32);
        OUT(k.dx), BOTH(unary_bwd, DITC_UN_SILU, X(k.dx), X(k.dy), X(k.x), acc),
            expect("silu", acc ? "bwd acc" : "bwd", &k.dx, T32);
        poison(&k.y), BOTH(swiglu_fwd, X(k.y), X(k.x), X(k.x2)), expect("swiglu", "fwd", &k.y, T32);
        if (!acc) { // the SwiGLU written as w2's bf16 operand
            bf16_twin h;
            bf16_new(&h, &k.y);
            BOTH(swiglu_fwd, &h.t[K_], X(k.x), X(k.x2));
            bf16_widen(&h, &k.y), expect("swiglu", "fwd -> bf16", &k.y, TOL_BF16_OUT);
            bf16_twin a16, b16, ga, gb; // a, b bf16 (w1/w3 outputs), their gradients written as bf16
            bf16_new(&a16, &k.x), bf16_new(&b16, &k.x2);
            for (int s = 0; s < 2; s++)
                BE[s]->cast(BE[s], &a16.t[s], &k.x.t[s]), BE[s]->cast(BE[s], &b16.t[s], &k.x2.t[s]);
            poison(&k.y), BOTH(swiglu_fwd, X(k.y), &a16.t[K_], &b16.t[K_]),
                expect("swiglu", "fwd, bf16 a b", &k.y, T32);
            bf16_new(&ga, &k.dx), bf16_new(&gb, &k.y);
            BOTH(swiglu_bwd, &ga.t[K_], &gb.t[K_], X(k.dy), &a16.t[K_], &b16.t[K_], 0, 0);
            bf16_widen(&ga, &k.dx), expect("swiglu_bwd", "da, bf16 -> bf16", &k.dx, TOL_BF16_OUT);
            bf16_widen(&gb, &k.y), expect("swiglu_bwd", "db, bf16 -> bf16", &k.y, TOL_BF16_OUT);
            bf16_new(&ga, &k.dx), bf16_new(&gb, &k.y); // F32 a, b with bf16 gradients
            BOTH(swiglu_bwd, &ga.t[K_], &gb.t[K_], X(k.dy), X(k.x), X(k.x2), 0, 0);
            bf16_widen(&ga, &k.dx), expect("swiglu_bwd", "da -> bf16", &k.dx, TOL_BF16_OUT);
            bf16_widen(&gb, &k.y), expect("swiglu_bwd", "db -> bf16", &k.y, TOL_BF16_OUT);
            bf16_new(&ga, &k.dx); // mixed: da bf16 (written), db F32 accumulated
            same_both(&k.y);
            BOTH(swiglu_bwd, &ga.t[K_], X(k.y), X(k.dy), X(k.x), X(k.x2), 0, 1);
            bf16_widen(&ga, &k.dx), expect("swiglu_bwd", "da -> bf16, db F32 acc", &k.dx, TOL_BF16_OUT);
            expect("swiglu_bwd", "db F32 acc beside a bf16 da", &k.y, T32);
            bf16_new(&gb, &k.y); // ... and da F32 accumulated, db bf16 (written)
            same_both(&k.dx);
            BOTH(swiglu_bwd, X(k.dx), &gb.t[K_], X(k.dy), X(k.x), X(k.x2), 1, 0);
            expect("swiglu_bwd", "da F32 acc beside a bf16 db", &k.dx, T32);
            bf16_widen(&gb, &k.y), expect("swiglu_bwd", "db -> bf16, da F32 acc", &k.y, TOL_BF16_OUT);
            // bf16 a, b (w1/w3 outputs) with every output form: the SwiGLU as w2's bf16 operand; the gradients as
            // bf16 + F32 accumulated, F32 accumulated + bf16, both F32 accumulated (each a kernel of its own)
            bf16_new(&h, &k.y);
            BOTH(swiglu_fwd, &h.t[K_], &a16.t[K_], &b16.t[K_]);
            bf16_widen(&h, &k.y), expect("swiglu", "fwd, bf16 a b -> bf16", &k.y, TOL_BF16_OUT);
            bf16_new(&ga, &k.dx);
            same_both(&k.y);
            BOTH(swiglu_bwd, &ga.t[K_], X(k.y), X(k.dy), &a16.t[K_], &b16.t[K_], 0, 1);
            bf16_widen(&ga, &k.dx), expect("swiglu_bwd", "bf16 a b: da -> bf16", &k.dx, TOL_BF16_OUT);
            expect("swiglu_bwd", "bf16 a b: db F32 acc", &k.y, T32);
            bf16_new(&gb, &k.y);
            same_both(&k.dx);
            BOTH(swiglu_bwd, X(k.dx), &gb.t[K_], X(k.dy), &a16.t[K_], &b16.t[K_], 1, 0);
            expect("swiglu_bwd", "bf16 a b: da F32 acc", &k.dx, T32);
            bf16_widen(&gb, &k.y), expect("swiglu_bwd", "bf16 a b: db -> bf16", &k.y, TOL_BF16_OUT);
            same_both(&k.dx), same_both(&k.y);
            BOTH(swiglu_bwd, X(k.dx), X(k.y), X(k.dy), &a16.t[K_], &b16.t[K_], 1, 1);
            expect("swiglu_bwd", "bf16 a b: da, db F32 acc", &k.dx, T32);
            expect("swiglu_bwd", "bf16 a b: db beside da", &k.y, T32);
            for (int s = 0; s < 2; s++) BE[s]->free(BE[s], a16.t[s].data), BE[s]->free(BE[s], b16.t[s].data);
        }
        OUT(k.dx), OUT(k.y), BOTH(swiglu_bwd, X(k.dx), X(k.y), X(k.dy), X(k.x), X(k.x2), acc, acc);
        expect("swiglu_bwd", acc ? "da acc" : "da", &k.dx, T32), expect("swiglu_bwd", acc ? "db acc" : "db", &k.y, T32);
        OUT(k.dx), BOTH(swiglu_bwd, X(k.dx), NULL, X(k.dy), X(k.x), X(k.x2), acc, 0);
        expect("swiglu_bwd", "da only", &k.dx, T32);
    }
    { // cast F32 -> BF16 -> F32 round trip (round to nearest even on both sides)
        pt back;
        mk3(&back, z->B, z->T, z->D, 0, 0);
        poison(&back);
        for (K_ = 0; K_ < 2; K_++) {
            ditc_tensor h = k.x.t[K_];
            h.dtype = DITC_BF16;
            h.data = BE[K_]->alloc(BE[K_], ditc_nbytes(&h));
            BE[K_]->cast(BE[K_], &h, X(k.x));
            BE[K_]->cast(BE[K_], X(back), &h);
            BE[K_]->free(BE[K_], h.data);
        }
        COVER(cast);
        expect("cast f32<->bf16", "bit-equal", &back, 0.0);
        rm(&back);
    }
    // broadcast layouts (numpy rules, right-aligned): out (B, T, D) from a and b of the shapes below
    const int64_t B = z->B, T = z->T, D = z->D;
    const struct {
        const char *name;
        int na, nb;
        int64_t sa[3], sb[3];
    } bc[] = {
        {"b (B,1,D)", 3, 3, {B, T, D}, {B, 1, D}},
        {"b (1,T,D) pos", 3, 3, {B, T, D}, {1, T, D}},
        {"b (D)", 3, 1, {B, T, D}, {D}},
        {"a (B,1,D)", 3, 3, {B, 1, D}, {B, T, D}},
        {"a (B,1,D) b (1,T,D)", 3, 3, {B, 1, D}, {1, T, D}},
        {"b (B,T,1)", 3, 3, {B, T, D}, {B, T, 1}},
    };
    for (size_t i = 0; i < sizeof bc / sizeof *bc; i++) {
        pt a, b, o, da, db;
        mk(&a, bc[i].na, bc[i].sa, -1, 1), mk(&b, bc[i].nb, bc[i].sb, -1, 1);
        mk3(&o, B, T, D, 0, 0);
        mk(&da, bc[i].na, bc[i].sa, -1, 1), mk(&db, bc[i].nb, bc[i].sb, -1, 1);
        for (int op = 0; op < 2; op++) {
            const char *opn = op ? "binary mul" : "binary add";
            poison(&o), BOTH(binary_fwd, (ditc_binary_op)op, X(o), X(a), X(b)), expect(opn, bc[i].name, &o, T32);
            for (int acc = 0; acc < 2; acc++) {
                char what[64];
                OUT(da), BOTH(binary_bwd, (ditc_binary_op)op, 0, X(da), X(k.dy), X(a), X(b), acc);
                snprintf(what, sizeof what, "%s da%s", bc[i].name, acc ? " acc" : "");
                expect(op ? "binary_bwd mul" : "binary_bwd add", what, &da, T32);
                OUT(db), BOTH(binary_bwd, (ditc_binary_op)op, 1, X(db), X(k.dy), X(a), X(b), acc);
                snprintf(what, sizeof what, "%s db%s", bc[i].name, acc ? " acc" : "");
                expect(op ? "binary_bwd mul" : "binary_bwd add", what, &db, T32);
            }
        }
        rm(&a), rm(&b), rm(&o), rm(&da), rm(&db);
    }
    block_free(&k);
}

static void t_norm(const sizes *z) {
    block k;
    block_new(&k, z);
    const double T32 = TOL_FP32;
    const int heads = (int)z->H;
    for (int acc = 0; acc < 2; acc++) {
        poison(&k.y), poison(&k.m), poison(&k.r);
        BOTH(ln_mod_fwd, X(k.y), X(k.m), X(k.r), X(k.x), X(k.s1), X(k.s2), 1e-6f);
        expect("ln_mod_fwd", "y", &k.y, T32), expect("ln_mod_fwd", "mean", &k.m, T32),
            expect("ln_mod_fwd", "rstd", &k.r, T32);
        if (!acc) { // y written as the next GEMM's bf16 operand (mean, rstd stay F32)
            bf16_twin h;
            bf16_new(&h, &k.y);
            poison(&k.m), poison(&k.r);
            BOTH(ln_mod_fwd, &h.t[K_], X(k.m), X(k.r), X(k.x), X(k.s1), X(k.s2), 1e-6f);
            bf16_widen(&h, &k.y), expect("ln_mod_fwd", "y -> bf16", &k.y, TOL_BF16_OUT);
            expect("ln_mod_fwd", "mean (bf16 y)", &k.m, T32), expect("ln_mod_fwd", "rstd (bf16 y)", &k.r, T32);
        }
        OUT(k.dx), OUT(k.ds1), OUT(k.ds2);
        BOTH(ln_mod_bwd, X(k.dx), X(k.ds1), X(k.ds2), X(k.dy), X(k.x), X(k.m), X(k.r), X(k.s2), acc, acc, acc);
        expect("ln_mod_bwd", acc ? "dx acc" : "dx", &k.dx, T32),
            expect("ln_mod_bwd", acc ? "dshift acc" : "dshift", &k.ds1, T32);
        expect("ln_mod_bwd", acc ? "dscale acc" : "dscale", &k.ds2, T32);
        if (acc) { // the shift and scale gradients with different acc (CUDA sums both in one pass), then each alone
            same_both(&k.ds1), poison(&k.ds2);
            BOTH(ln_mod_bwd, NULL, X(k.ds1), X(k.ds2), X(k.dy), X(k.x), X(k.m), X(k.r), X(k.s2), 0, 1, 0);
            expect("ln_mod_bwd", "dshift acc, dscale not", &k.ds1, T32);
            expect("ln_mod_bwd", "dscale, dshift acc", &k.ds2, T32);
            poison(&k.ds1), BOTH(ln_mod_bwd, NULL, X(k.ds1), NULL, X(k.dy), X(k.x), X(k.m), X(k.r), X(k.s2), 0, 0, 0);
            expect("ln_mod_bwd", "dshift alone", &k.ds1, T32);
            poison(&k.ds2), BOTH(ln_mod_bwd, NULL, NULL, X(k.ds2), X(k.dy), X(k.x), X(k.m), X(k.r), X(k.s2), 0, 0, 0);
            expect("ln_mod_bwd", "dscale alone", &k.ds2, T32);
        }
        { // dy read as bf16 (written by the consuming linear's dx GEMM at bf16): the three gradients, then each alone
            bf16_twin dyh;
            bf16_new(&dyh, &k.dy);
            for (int s = 0; s < 2; s++) BE[s]->cast(BE[s], &dyh.t[s], &k.dy.t[s]);
            OUT(k.dx), OUT(k.ds1), OUT(k.ds2);
            BOTH(ln_mod_bwd, X(k.dx), X(k.ds1), X(k.ds2), &dyh.t[K_], X(k.x), X(k.m), X(k.r), X(k.s2), acc, acc, acc);
            expect("ln_mod_bwd", acc ? "bf16 dy: dx acc" : "bf16 dy: dx", &k.dx, T32);
            expect("ln_mod_bwd", acc ? "bf16 dy: dshift acc" : "bf16 dy: dshift", &k.ds1, T32);
            expect("ln_mod_bwd", acc ? "bf16 dy: dscale acc" : "bf16 dy: dscale", &k.ds2, T32);
            poison(&k.ds1),
                BOTH(ln_mod_bwd, NULL, X(k.ds1), NULL, &dyh.t[K_], X(k.x), X(k.m), X(k.r), X(k.s2), 0, 0, 0);
            expect("ln_mod_bwd", "bf16 dy: dshift alone", &k.ds1, T32);
            poison(&k.ds2),
                BOTH(ln_mod_bwd, NULL, NULL, X(k.ds2), &dyh.t[K_], X(k.x), X(k.m), X(k.r), X(k.s2), 0, 0, 0);
            expect("ln_mod_bwd", "bf16 dy: dscale alone", &k.ds2, T32);
            for (int s = 0; s < 2; s++) BE[s]->free(BE[s], dyh.t[s].data);
        }
        poison(&k.y), poison(&k.m), poison(&k.r);
        BOTH(ln_mod_fwd, X(k.y), X(k.m), X(k.r), X(k.x), NULL, NULL, 1e-6f),
            expect("ln_mod_fwd", "no modulation", &k.y, T32);
        OUT(k.dx), BOTH(ln_mod_bwd, X(k.dx), NULL, NULL, X(k.dy), X(k.x), X(k.m), X(k.r), NULL, acc, 0, 0);
        expect("ln_mod_bwd", acc ? "no modulation acc" : "no modulation", &k.dx, T32);
        poison(&k.y), BOTH(modulate_fwd, X(k.y), X(k.x), X(k.s1), X(k.s2)), expect("modulate_fwd", "y", &k.y, T32);
        if (!acc) { // y written as the next GEMMs' bf16 operand
            bf16_twin h;
            bf16_new(&h, &k.y);
            BOTH(modulate_fwd, &h.t[K_], X(k.x), X(k.s1), X(k.s2));
            bf16_widen(&h, &k.y), expect("modulate_fwd", "y -> bf16", &k.y, TOL_BF16_OUT);
        }
        OUT(k.dx), OUT(k.ds1), OUT(k.ds2);
        BOTH(modulate_bwd, X(k.dx), X(k.ds1), X(k.ds2), X(k.dy), X(k.x), X(k.s2), acc, acc, acc);
        expect("modulate_bwd", acc ? "dx acc" : "dx", &k.dx, T32),
            expect("modulate_bwd", acc ? "dshift acc" : "dshift", &k.ds1, T32);
        expect("modulate_bwd", acc ? "dscale acc" : "dscale", &k.ds2, T32);
        poison(&k.y), BOTH(gated_res_fwd, X(k.y), X(k.x), X(k.s1), X(k.x2)), expect("gated_res_fwd", "out", &k.y, T32);
        OUT(k.dx), OUT(k.ds1), OUT(k.y);
        BOTH(gated_res_bwd, X(k.dx), X(k.ds1), X(k.y), X(k.dy), X(k.s1), X(k.x2), acc, acc, acc);
        expect("gated_res_bwd", acc ? "dx acc" : "dx", &k.dx, T32),
            expect("gated_res_bwd", acc ? "dgate acc" : "dgate", &k.ds1, T32);
        expect("gated_res_bwd", acc ? "dy acc" : "dy", &k.y, T32);
        if (!acc) { // dy written as the producing linear's bf16 output gradient (dx, dgate F32 beside it)
            bf16_twin h;
            bf16_new(&h, &k.y);
            poison(&k.dx), poison(&k.ds1);
            BOTH(gated_res_bwd, X(k.dx), X(k.ds1), &h.t[K_], X(k.dy), X(k.s1), X(k.x2), 0, 0, 0);
            bf16_widen(&h, &k.y), expect("gated_res_bwd", "dy -> bf16", &k.y, TOL_BF16_OUT);
            expect("gated_res_bwd", "dx (bf16 dy)", &k.dx, T32),
                expect("gated_res_bwd", "dgate (bf16 dy)", &k.ds1, T32);
            bf16_twin y16; // y a bf16 linear output: the forward and dgate read it
            bf16_new(&y16, &k.x2);
            for (int s = 0; s < 2; s++) BE[s]->cast(BE[s], &y16.t[s], &k.x2.t[s]);
            poison(&k.dx), BOTH(gated_res_fwd, X(k.dx), X(k.x), X(k.s1), &y16.t[K_]);
            expect("gated_res_fwd", "bf16 y", &k.dx, T32);
            poison(&k.ds1), BOTH(gated_res_bwd, NULL, X(k.ds1), NULL, X(k.dy), X(k.s1), &y16.t[K_], 0, 0, 0);
            expect("gated_res_bwd", "dgate, bf16 y", &k.ds1, T32);
            for (int s = 0; s < 2; s++) BE[s]->free(BE[s], y16.t[s].data);
        }
        // Large-DiT pieces over the (B·T, D) rows
        poison(&k.y), poison(&k.r), BOTH(rms_norm_fwd, X(k.y), X(k.r), X(k.x), X(k.w), 1e-5f);
        expect("rms_norm_fwd", "y", &k.y, T32), expect("rms_norm_fwd", "rstd", &k.r, T32);
        OUT(k.dx), OUT(k.dw), BOTH(rms_norm_bwd, X(k.dx), X(k.dw), X(k.dy), X(k.x), X(k.w), X(k.r), acc, acc);
        expect("rms_norm_bwd", acc ? "dx acc" : "dx", &k.dx, T32),
            expect("rms_norm_bwd", acc ? "dw acc" : "dw", &k.dw, T32);
        poison(&k.y), poison(&k.r), BOTH(rms_norm_fwd, X(k.y), X(k.r), X(k.x), NULL, 1e-5f),
            expect("rms_norm_fwd", "no weight", &k.y, T32);
        OUT(k.dx), BOTH(rms_norm_bwd, X(k.dx), NULL, X(k.dy), X(k.x), NULL, X(k.r), acc, 0);
        expect("rms_norm_bwd", acc ? "no weight acc" : "no weight", &k.dx, T32);
        poison(&k.y), poison(&k.m), poison(&k.r);
        BOTH(layer_norm_fwd, X(k.y), X(k.m), X(k.r), X(k.x), X(k.w), X(k.bb), 1e-6f);
        expect("layer_norm_fwd", "y", &k.y, T32), expect("layer_norm_fwd", "mean", &k.m, T32),
            expect("layer_norm_fwd", "rstd", &k.r, T32);
        OUT(k.dx), OUT(k.dw), OUT(k.db);
        BOTH(layer_norm_bwd, X(k.dx), X(k.dw), X(k.db), X(k.dy), X(k.x), X(k.w), X(k.m), X(k.r), acc, acc, acc);
        expect("layer_norm_bwd", acc ? "dx acc" : "dx", &k.dx, T32),
            expect("layer_norm_bwd", acc ? "dw acc" : "dw", &k.dw, T32);
        expect("layer_norm_bwd", acc ? "db acc" : "db", &k.db, T32);
        OUT(k.y), BOTH(rope, X(k.y), X(k.x), heads, 10000.0f, 0, acc),
            expect("rope", acc ? "fwd acc" : "fwd", &k.y, T32);
        OUT(k.y), BOTH(rope, X(k.y), X(k.x), heads, 10000.0f, 1, acc),
            expect("rope", acc ? "inverse acc" : "inverse", &k.y, T32);
    }
    block_free(&k);
}

static void t_reduce(const sizes *z) {
    block k;
    block_new(&k, z);
    const double T32 = TOL_FP32;
    const int64_t B = z->B, T = z->T, D = z->D;
    pt perb, db;
    mk1(&perb, B, -1, 1), mk1(&db, D, -1, 1);
    for (int acc = 0; acc < 2; acc++) {
        OUT(db), BOTH(bias_bwd, X(db), X(k.dy), acc), expect("bias_bwd", acc ? "B·T rows acc" : "B·T rows", &db, T32);
        { // few columns, many rows (not a multiple of the chunk): CUDA cuts the rows into chunks summed in order
            pt dyl, dbl;
            mk2(&dyl, 1001, 70, -1, 1), mk1(&dbl, 70, -1, 1);
            OUT(dbl), BOTH(bias_bwd, X(dbl), X(dyl), acc);
            expect("bias_bwd", acc ? "1001 x 70 row chunks acc" : "1001 x 70 row chunks", &dbl, T32);
            bf16_twin h; // a bf16 output gradient: the same rows as bf16 (cast on each side, bit-exact)
            bf16_new(&h, &dyl);
            for (int s = 0; s < 2; s++) BE[s]->cast(BE[s], &h.t[s], &dyl.t[s]);
            OUT(dbl), BOTH(bias_bwd, X(dbl), &h.t[K_], acc);
            expect("bias_bwd", acc ? "bf16 dy, row chunks acc" : "bf16 dy, row chunks", &dbl, T32);
            for (int s = 0; s < 2; s++) BE[s]->free(BE[s], h.t[s].data);
            rm(&dyl), rm(&dbl);
        }
        OUT(k.m), BOTH(reduce_rows, X(k.m), X(k.x), 0.25f, acc),
            expect("reduce_rows", acc ? "(B·T, D) acc" : "(B·T, D)", &k.m, T32);
        OUT(perb), BOTH(reduce_rows, X(perb), X(k.x), 1.0f / (float)(T * D), acc);
        expect("reduce_rows", acc ? "(B, T·D) acc" : "(B, T·D)", &perb, T32);
        OUT(k.dx), BOTH(expand_rows, X(k.dx), X(k.m), 0.5f, acc),
            expect("expand_rows", acc ? "(B·T, D) acc" : "(B·T, D)", &k.dx, T32);
        OUT(k.dx), BOTH(expand_rows, X(k.dx), X(perb), -2.0f, acc),
            expect("expand_rows", acc ? "(B, T·D) acc" : "(B, T·D)", &k.dx, T32);
        poison(&k.m), BOTH(mse_fwd, X(k.m), X(k.x), X(k.x2)), expect("mse_fwd", "(B·T, D)", &k.m, T32);
        poison(&perb), BOTH(mse_fwd, X(perb), X(k.x), X(k.x2)), expect("mse_fwd", "(B, T·D)", &perb, T32);
        OUT(k.dx), OUT(k.y), BOTH(mse_bwd, X(k.dx), X(k.y), X(k.m), X(k.x), X(k.x2), acc, acc);
        expect("mse_bwd", acc ? "da acc" : "da", &k.dx, T32), expect("mse_bwd", acc ? "db acc" : "db", &k.y, T32);
        OUT(k.y), BOTH(mse_bwd, NULL, X(k.y), X(k.m), X(k.x), X(k.x2), 0, acc), expect("mse_bwd", "db only", &k.y, T32);
    }
    rm(&perb), rm(&db);
    block_free(&k);
}

// ---- layout: embedding, patchify/unpatchify, strided block copies ---------------------------------------------------
static void t_layout(const sizes *z) {
    const double T32 = TOL_FP32;
    { // class embedding: N labels with repeats (and the null class K − 1)
        int64_t N = z->B, Kc = z->classes, E = z->D;
        pt tab, out, gtab;
        mk2(&tab, Kc, E, -1, 1), mk2(&gtab, Kc, E, -1, 1), mk2(&out, N, E, 0, 0);
        int32_t *ids = xmalloc((size_t)N * sizeof *ids);
        for (int64_t n = 0; n < N; n++) ids[n] = n % 5 == 1 ? 3 : (int32_t)((n * 7919) % Kc);
        ids[N - 1] = (int32_t)(Kc - 1);
        ditc_tensor idx[2];
        for (int k = 0; k < 2; k++) {
            int64_t s[1] = {N};
            memset(&idx[k], 0, sizeof idx[k]);
            ditc_tensor_set_shape(&idx[k], DITC_I32, 1, s);
            idx[k].data = BE[k]->alloc(BE[k], (size_t)N * sizeof *ids);
            BE[k]->copy_h2d(BE[k], idx[k].data, ids, (size_t)N * sizeof *ids);
        }
        poison(&out), BOTH(embed_fwd, X(out), X(tab), &idx[K_]), expect("embed_fwd", "", &out, T32);
        BOTH(embed_bwd, X(gtab), X(out), &idx[K_], 1), expect("embed_bwd", "acc", &gtab, T32);
        poison(&gtab), BOTH(embed_bwd, X(gtab), X(out), &idx[K_], 0), expect("embed_bwd", "", &gtab, T32);
        for (int k = 0; k < 2; k++) BE[k]->free(BE[k], idx[k].data);
        free(ids);
        rm(&tab), rm(&out), rm(&gtab);
    }
    const int ps[] = {2, 4, 8};
    for (size_t pi = 0; pi < sizeof ps / sizeof *ps; pi++) { // latents (LB, C, S, S) <-> tokens (LB, (S/p)², C·p²)
        int p = ps[pi];
        if (z->S % p) continue;
        int64_t G = z->S / p;
        pt img, tok;
        mk4(&img, z->LB, z->C, z->S, z->S, -1, 1);
        mk3(&tok, z->LB, G * G, z->C * p * p, -1, 1);
        for (int cl = 0; cl < 2; cl++)
            for (int acc = 0; acc < 2; acc++) {
                char what[48];
                snprintf(what, sizeof what, "p=%d%s%s", p, cl ? " ch-last" : "", acc ? " acc" : "");
                OUT(tok), BOTH(patch_copy, X(img), X(tok), p, cl, 1, acc),
                    expect("patch_copy to tokens", what, &tok, T32);
                OUT(img), BOTH(patch_copy, X(img), X(tok), p, cl, 0, acc),
                    expect("patch_copy to image", what, &img, T32);
            }
        rm(&img), rm(&tok);
    }
    { // qkv chunks: (R, 3D) column blocks into (R, D) and back into a wider (R, 3D) (the rest untouched)
        int64_t R = z->B * z->T, D = z->D;
        pt qkv, part, wide;
        mk2(&qkv, R, 3 * D, -1, 1), mk2(&part, R, D, 0, 0), mk2(&wide, R, 3 * D, -1, 1);
        for (int acc = 0; acc < 2; acc++) {
            OUT(part), BOTH(copy_2d, X(part), 0, D, X(qkv), D, 3 * D, R, D, acc);
            expect("copy_2d", acc ? "chunk k acc" : "chunk k", &part, T32);
            OUT(wide), BOTH(copy_2d, X(wide), 2 * D, 3 * D, X(part), 0, D, R, D, acc);
            expect_gap("copy_2d", acc ? "into v acc" : "into v", &wide, T32, R * 2 * D); // the rest stays NaN
        }
        poison(&wide), BOTH(copy_2d, X(wide), 5, 3 * D, X(qkv), 3, 3 * D, R - 2, D + 7, 0);
        expect_gap("copy_2d", "odd block", &wide, T32, R * 3 * D - (R - 2) * (D + 7));
        rm(&qkv), rm(&part), rm(&wide);
    }
}

// ---- Gaussian diffusion --------------------------------------------------------------------------------------------
static void t_diffusion(const sizes *z) {
    const double T32 = TOL_FP32;
    int64_t Bn = z->LB, C = z->C, S = z->S;
    ditc_diffusion dif;
    ditc_status st = {0};
    if (ditc_diffusion_init(&dif, "", &st)) {
        printf("FAIL diffusion tables: %s\n", st.message);
        nfail++;
        return;
    }
    pt x0, noise, xt, coef, out, mse, vb, loss, dl, dout;
    mk4(&x0, Bn, C, S, S, -1, 1), mk4(&noise, Bn, C, S, S, -2, 2), mk4(&xt, Bn, C, S, S, 0, 0);
    mk2(&coef, Bn, DITC_DIFF_NCOEF, 0, 0);
    int *t = xmalloc((size_t)Bn * sizeof *t);
    for (int64_t b = 0; b < Bn; b++) t[b] = b == 0 ? 0 : b == 1 ? 999 : (int)((b * 617) % 1000); // t = 0 and T − 1
    ditc_diffusion_coefs(&dif, t, Bn, coef.host);
    upload(&coef);
    mk4(&out, Bn, 2 * C, S, S, -1, 1);
    mk1(&mse, Bn, 0, 0), mk1(&vb, Bn, 0, 0), mk1(&loss, Bn, 0, 0), mk1(&dl, Bn, 0.5f, 1.0f);
    mk4(&dout, Bn, 2 * C, S, S, -1, 1);
    for (int64_t i = 0; i < Bn * C * S * S; i++) x0.host[i] = fminf(1.0f, fmaxf(-1.0f, 1.1f * x0.host[i])); // ±1 edges
    upload(&x0);
    poison(&xt), BOTH(q_sample, X(xt), X(x0), X(noise), X(coef)), expect("q_sample", "", &xt, T32);
    poison(&mse), poison(&vb), poison(&loss);
    BOTH(diff_loss_fwd, X(mse), X(vb), X(loss), X(out), X(x0), X(xt), X(noise), X(coef));
    expect("diff_loss_fwd", "mse", &mse, T32), expect("diff_loss_fwd", "vb", &vb, T32),
        expect("diff_loss_fwd", "loss", &loss, T32);
    BOTH(diff_loss_bwd, X(dout), X(dl), X(out), X(x0), X(xt), X(noise), X(coef), 1),
        expect("diff_loss_bwd", "acc", &dout, T32);
    poison(&dout), BOTH(diff_loss_bwd, X(dout), X(dl), X(out), X(x0), X(xt), X(noise), X(coef), 0);
    expect("diff_loss_bwd", "", &dout, T32);
    pt guided;
    mk4(&guided, Bn - Bn % 2, 2 * C, S, S, -1, 1);
    BOTH(cfg_combine, X(guided), 4.0f, (int)(C - 1)), expect("cfg_combine", "3 of 4 channels", &guided, T32);
    BOTH(cfg_combine, X(guided), 1.5f, (int)(2 * C)), expect("cfg_combine", "all channels", &guided, T32);
    pt xs, zn;
    mk4(&xs, Bn / 2, C, S, S, -1, 1), mk4(&zn, Bn / 2, C, S, S, -1, 1);
    const int steps[] = {0, 1, 500, 999};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        ditc_diff_coefs dc;
        ditc_diffusion_coefs(&dif, &steps[i], 1, dc.c);
        char what[32];
        snprintf(what, sizeof what, "ddpm t=%d", steps[i]);
        BOTH(diff_step, X(xs), X(out), steps[i] ? X(zn) : NULL, dc, 0), expect("diff_step", what, &xs, T32);
        snprintf(what, sizeof what, "ddim t=%d", steps[i]);
        BOTH(diff_step, X(xs), X(out), NULL, dc, 1), expect("diff_step", what, &xs, T32);
    }
    free(t);
    ditc_diffusion_free(&dif);
    rm(&x0), rm(&noise), rm(&xt), rm(&coef), rm(&out), rm(&mse), rm(&vb), rm(&loss), rm(&dl), rm(&dout), rm(&guided);
    rm(&xs), rm(&zn);
}

// ---- optimizers over flat buffers --------------------------------------------------------------------------------
static void t_optim(const sizes *z) {
    const double T32 = TOL_FP32;
    int64_t n = z->nflat;
    pt p, g, mm, vv, ema, h;
    mk1(&p, n, -1, 1), mk1(&g, n, -1, 1), mk1(&mm, n, -0.1f, 0.1f), mk1(&vv, n, 0, 0.01f), mk1(&ema, n, -1, 1);
    mk1(&h, n, 0, 0.01f);
    ditc_adamw_args a = {.beta1 = 0.9f,
                         .one_minus_beta1 = 0.1f,
                         .beta2 = 0.999f,
                         .one_minus_beta2 = 0.001f,
                         .eps = 1e-8f,
                         .decay = 1.0f - 1e-6f,
                         .step_size = 1e-4f,
                         .bc2_sqrt = 0.05f,
                         .ema_decay = 0.9999f,
                         .one_minus_ema_decay = 1e-4f};
    BOTH(adamw, (float *)X(p)->data, (const float *)X(g)->data, (float *)X(mm)->data, (float *)X(vv)->data,
         (float *)X(ema)->data, NULL, (size_t)n, a);
    expect("adamw", "p", &p, T32), expect("adamw", "m", &mm, T32), expect("adamw", "v", &vv, T32),
        expect("adamw", "ema", &ema, T32);
    BOTH(adamw, (float *)X(p)->data, (const float *)X(g)->data, (float *)X(mm)->data, (float *)X(vv)->data, NULL, NULL,
         (size_t)n - 7, a);
    expect("adamw", "no ema, n-7", &p, T32);
    // buffers 4 bytes past 16-byte alignment (a ZeRO shard's offset: CUDA's scalar kernel), then at it again with an
    // odd length (the 16-byte kernel and a tail)
    BOTH(adamw, (float *)X(p)->data + 1, (const float *)X(g)->data + 1, (float *)X(mm)->data + 1,
         (float *)X(vv)->data + 1, (float *)X(ema)->data + 1, NULL, 5001, a);
    expect("adamw", "unaligned, p", &p, T32), expect("adamw", "unaligned, ema", &ema, T32);
    BOTH(adamw, (float *)X(p)->data, (const float *)X(g)->data, (float *)X(mm)->data, (float *)X(vv)->data,
         (float *)X(ema)->data, NULL, 4099, a);
    expect("adamw", "aligned, a tail of 3, p", &p, T32), expect("adamw", "aligned, a tail of 3, v", &vv, T32);
    // the bf16 weight copy written with the update (core/tensor/params.h): on each side exactly its own cast of p
    bf16_twin p16;
    pt w, wc;
    bf16_new(&p16, &p);
    BOTH(adamw, (float *)X(p)->data, (const float *)X(g)->data, (float *)X(mm)->data, (float *)X(vv)->data,
         (float *)X(ema)->data, p16.t[K_].data, (size_t)n, a);
    expect("adamw", "p (with the bf16 copy)", &p, T32), expect("adamw", "ema (with the bf16 copy)", &ema, T32);
    mk1(&w, n, 0, 0), mk1(&wc, n, 0, 0);
    bf16_widen(&p16, &w);
    expect("adamw", "bf16 copy", &w, TOL_BF16_OUT);
    bf16_new(&p16, &p);
    BOTH(cast, &p16.t[K_], X(p)); // cast's rounding of the same p
    bf16_widen(&p16, &wc);
    for (int k = 0; k < 2; k++) {
        float *x = xmalloc((size_t)n * 4), *y = xmalloc((size_t)n * 4);
        BE[k]->copy_d2h(BE[k], x, w.t[k].data, (size_t)n * 4);
        BE[k]->copy_d2h(BE[k], y, wc.t[k].data, (size_t)n * 4);
        int same = !memcmp(x, y, (size_t)n * 4);
        same ? npass++ : nfail++;
        printf("%s %-34s side %d (%s): the bf16 copy = cast of p, bit for bit\n", same ? "PASS" : "FAIL", "adamw", k,
               BE[k]->name);
        free(x), free(y);
    }
    rm(&w), rm(&wc);
    BOTH(ema_update, (float *)X(ema)->data, (const float *)X(p)->data, (size_t)n, 0.99f, 0.01f),
        expect("ema_update", "", &ema, T32);
    BOTH(scale_buffer, (float *)X(g)->data, (size_t)n, 0.37f), expect("scale_buffer", "", &g, T32);
    COVER(sum_squares);
    // the whole buffer (CUDA: 16-byte loads + a tail; run twice: bit-equal), 4 bytes past alignment (scalar loads),
    // one 16-byte load and a tail of 3
    const int64_t ss_cases[][2] = {{0, n}, {1, n - 1}, {0, 7}}; // {offset, count}
    int ok;
    for (size_t q = 0; q < sizeof ss_cases / sizeof *ss_cases; q++) {
        int64_t off = ss_cases[q][0], cnt = ss_cases[q][1];
        double s0 = sum_squares_read(BE[0], (const float *)g.t[0].data + off, (size_t)cnt);
        double s1 = sum_squares_read(BE[1], (const float *)g.t[1].data + off, (size_t)cnt);
        double s1b = q ? s1 : sum_squares_read(BE[1], (const float *)g.t[1].data + off, (size_t)cnt);
        ok = (strict ? s1 == s0 : fabs(s1 - s0) <= 1e-12 * fabs(s0)) && s1 == s1b;
        ok ? npass++ : nfail++;
        printf("%s sum_squares n=%lld at +%lld: cpu %.17g %s %.17g (rerun bit-equal: %s)\n", ok ? "PASS" : "FAIL",
               (long long)cnt, (long long)off, s0, BE[1]->name, s1, s1 == s1b ? "yes" : "no");
    }
    double z0 = sum_squares_read(BE[0], NULL, 0), z1 = sum_squares_read(BE[1], NULL, 0); // (n = 0 writes 0)
    ok = z0 == 0.0 && z1 == 0.0;
    ok ? npass++ : nfail++;
    printf("%s sum_squares n=0: cpu %g %s %g\n", ok ? "PASS" : "FAIL", z0, BE[1]->name, z1);
    if (HAVE(sophia)) {
        ditc_sophia_args sa = {.beta1 = 0.965f,
                               .one_minus_beta1 = 0.035f,
                               .decay = 1.0f - 1e-6f,
                               .neg_lr = -2e-4f,
                               .rho_bs = 0.01f * 8 * 4096,
                               .ema_decay = 0.9999f,
                               .one_minus_ema_decay = 1e-4f};
        BOTH(sophia, (float *)X(p)->data, (const float *)X(g)->data, (float *)X(mm)->data, (const float *)X(h)->data,
             (float *)X(ema)->data, (size_t)n, sa);
        expect("sophia", "p", &p, T32), expect("sophia", "m", &mm, T32), expect("sophia", "ema", &ema, T32);
    }
    if (HAVE(sophia_hessian)) {
        BOTH(sophia_hessian, (float *)X(h)->data, (const float *)X(g)->data, (size_t)n, 0.99f, 0.01f);
        expect("sophia_hessian", "", &h, T32);
    }
    rm(&p), rm(&g), rm(&mm), rm(&vv), rm(&ema), rm(&h);
}

// ---- VAE inference ops (optional entries) ---------------------------------------------------------------------------
static void t_vae(int real) {
    const double T32 = TOL_FP32;
    int64_t B = 1, C = real ? 128 : 8, S = real ? 64 : 12, O = real ? 128 : 6;
    if (HAVE(conv2d_fwd)) {
        pt x, w, b, y;
        mk4(&x, B, C, S, S, -1, 1), mk4(&w, O, C, 3, 3, -0.2f, 0.2f), mk1(&b, O, -1, 1);
        const int pad1[4] = {1, 1, 1, 1}, pad_down[4] = {0, 0, 1, 1};
        mk4(&y, B, O, S, S, 0, 0);
        for (int acc = 0; acc < 2; acc++) {
            OUT(y), BOTH(conv2d_fwd, X(y), X(x), X(w), X(b), 1, pad1, acc),
                expect("conv2d_fwd", acc ? "3x3 s1 acc" : "3x3 s1", &y, T32);
        }
        rm(&y);
        mk4(&y, B, O, S / 2, S / 2, 0, 0);
        poison(&y), BOTH(conv2d_fwd, X(y), X(x), X(w), NULL, 2, pad_down, 0),
            expect("conv2d_fwd", "3x3 s2 down", &y, T32);
        rm(&y), rm(&w);
        mk4(&w, O, C, 1, 1, -0.2f, 0.2f), mk4(&y, B, O, S, S, 0, 0);
        const int pad0[4] = {0, 0, 0, 0};
        poison(&y), BOTH(conv2d_fwd, X(y), X(x), X(w), X(b), 1, pad0, 0), expect("conv2d_fwd", "1x1", &y, T32);
        rm(&x), rm(&w), rm(&b), rm(&y);
    }
    if (HAVE(group_norm_fwd)) {
        pt x, w, b, y;
        mk4(&x, B, C, S, S, -2, 2), mk1(&w, C, 0.5f, 1.5f), mk1(&b, C, -1, 1), mk4(&y, B, C, S, S, 0, 0);
        for (int silu = 0; silu < 2; silu++) {
            poison(&y), BOTH(group_norm_fwd, X(y), X(x), X(w), X(b), (int)(C / 4), 1e-6f, silu);
            expect("group_norm_fwd", silu ? "+ silu" : "", &y, T32);
        }
        rm(&x), rm(&w), rm(&b), rm(&y);
    }
    if (HAVE(upsample2x_fwd)) {
        pt x, y;
        mk4(&x, B, C, S, S, -1, 1), mk4(&y, B, C, 2 * S, 2 * S, 0, 0);
        poison(&y), BOTH(upsample2x_fwd, X(y), X(x)), expect("upsample2x_fwd", "", &y, T32);
        rm(&x), rm(&y);
    }
    if (HAVE(spatial_attn_fwd)) {
        pt q, k, v, o;
        int64_t T = S * S / (real ? 4 : 1);
        mk3(&q, B, C, T, -1, 1), mk3(&k, B, C, T, -1, 1), mk3(&v, B, C, T, -1, 1), mk3(&o, B, C, T, 0, 0);
        poison(&o), BOTH(spatial_attn_fwd, X(o), X(q), X(k), X(v), 1.0f / sqrtf((float)C)),
            expect("spatial_attn_fwd", "", &o, T32);
        rm(&q), rm(&k), rm(&v), rm(&o);
    }
}

// ---- FID Inception ops (optional entries) -------------------------------------------------------------------------
static void t_fid(int real) {
    const double T32 = TOL_FP32;
    int64_t B = 2, C = real ? 192 : 5, S = real ? 35 : 9;
    if (HAVE(relu_fwd)) {
        pt x, y;
        mk4(&x, B, C, S, S, -1, 1), mk4(&y, B, C, S, S, 0, 0);
        poison(&y), BOTH(relu_fwd, X(y), X(x)), expect("relu_fwd", "", &y, T32);
        rm(&x), rm(&y);
    }
    if (HAVE(pool2d_fwd)) {
        pt x, y;
        mk4(&x, B, C, S, S, -1, 1);
        mk4(&y, B, C, (S - 3) / 2 + 1, (S - 3) / 2 + 1, 0, 0);
        poison(&y), BOTH(pool2d_fwd, X(y), X(x), 3, 2, 0, 0), expect("pool2d_fwd", "max 3 s2", &y, T32);
        rm(&y), mk4(&y, B, C, S, S, 0, 0);
        for (int avg = 0; avg < 2; avg++)
            poison(&y), BOTH(pool2d_fwd, X(y), X(x), 3, 1, 1, avg),
                expect("pool2d_fwd", avg ? "avg 3 s1 p1 (count_include_pad=False)" : "max 3 s1 p1", &y, T32);
        rm(&x), rm(&y);
    }
    if (HAVE(resize_bilinear_fwd)) {
        pt x, y;
        int64_t H = real ? 256 : 7, W = real ? 192 : 5, O = real ? 299 : 11;
        mk4(&x, 1, 3, H, W, 0, 1), mk4(&y, 1, 3, O, O, 0, 0);
        poison(&y), BOTH(resize_bilinear_fwd, X(y), X(x), 2.0f, -1.0f), expect("resize_bilinear_fwd", "up", &y, T32);
        rm(&y), mk4(&y, 1, 3, 3, 4, 0, 0);
        poison(&y), BOTH(resize_bilinear_fwd, X(y), X(x), 1.0f, 0.0f), expect("resize_bilinear_fwd", "down", &y, T32);
        rm(&x), rm(&y);
    }
}

// ---- beyond 65535: B·heads of attention and column-sum groups (grid.y) ------------------------------------------------
static void t_large(void) {
    attention(4100, 5, 16, 16); // B·H = 65600
    block k;
    sizes z = {"G > 65535", 66000, 3, 64, 4, 0, 0, 0, 0, 0, 0};
    block_new(&k, &z);
    int acc = 0;
    BOTH(ln_mod_fwd, X(k.y), X(k.m), X(k.r), X(k.x), X(k.s1), X(k.s2), 1e-6f);
    OUT(k.dx), OUT(k.ds1), OUT(k.ds2);
    BOTH(ln_mod_bwd, X(k.dx), X(k.ds1), X(k.ds2), X(k.dy), X(k.x), X(k.m), X(k.r), X(k.s2), 0, 0, 0);
    expect("ln_mod_bwd B=66000", "dshift", &k.ds1, TOL_FP32), expect("ln_mod_bwd B=66000", "dscale", &k.ds2, TOL_FP32);
    expect("ln_mod_bwd B=66000", "dx", &k.dx, TOL_FP32); // (CUDA: dx and both sums in one pass, k_ln_mod_bwd_sums)
    OUT(k.ds1), BOTH(gated_res_bwd, NULL, X(k.ds1), NULL, X(k.dy), X(k.s1), X(k.x2), 0, 0, 0);
    expect("gated_res_bwd B=66000", "dgate", &k.ds1, TOL_FP32);
    bf16_twin h; // dgate beside a bf16 dy, as the model asks (CUDA: one pass, k_gated_res_bwd_sums)
    bf16_new(&h, &k.y);
    OUT(k.ds1), BOTH(gated_res_bwd, NULL, X(k.ds1), &h.t[K_], X(k.dy), X(k.s1), X(k.x2), 0, 0, 0);
    expect("gated_res_bwd B=66000", "dgate beside a bf16 dy", &k.ds1, TOL_FP32);
    bf16_widen(&h, &k.y), expect("gated_res_bwd B=66000", "dy -> bf16", &k.y, TOL_BF16_OUT);
    block_free(&k);
}

// Few columns and groups over many rows: the column sums cut the rows into chunks (partials, then a fold), and the
// shift and scale gradients of one pass (CUDA) fold two sets of partials.
static void t_col_chunks(void) {
    block k;
    sizes zc = {"row chunks", 1, 512, 64, 4, 0, 0, 0, 0, 0, 0};
    block_new(&k, &zc);
    BOTH(ln_mod_fwd, X(k.y), X(k.m), X(k.r), X(k.x), X(k.s1), X(k.s2), 1e-6f);
    for (int acc = 0; acc < 2; acc++) {
        OUT(k.ds1), OUT(k.ds2);
        BOTH(ln_mod_bwd, NULL, X(k.ds1), X(k.ds2), X(k.dy), X(k.x), X(k.m), X(k.r), X(k.s2), 0, acc, acc);
        expect("ln_mod_bwd T=512 D=64", acc ? "dshift acc" : "dshift", &k.ds1, TOL_FP32);
        expect("ln_mod_bwd T=512 D=64", acc ? "dscale acc" : "dscale", &k.ds2, TOL_FP32);
    }
    block_free(&k);
}

// LayerNorm+modulate's backward with dx and the modulation gradients together (CUDA: one pass over dy and x,
// k_ln_mod_bwd_sums, rows up to 36 slots): 5 groups of 48 rows (6 chunks of 8), 2 groups of 5 (one chunk: warps
// without a row; part slots at D 80); each modulation gradient alone beside dx, and with an acc other than dx's;
// F32 and bf16 dy. The capped pass (DITC_CUDA_GRID_CAP=3) loops over the groups (grid.y 3 < 5) and puts 16 rows in a
// chunk (2 a warp).
static void t_ln_sums(void) {
    const sizes zs[] = {{"ln sums", 5, 48, 64, 4, 0, 0, 0, 0, 0, 0}, {"ln sums", 2, 5, 80, 4, 0, 0, 0, 0, 0, 0}};
    for (size_t i = 0; i < sizeof zs / sizeof *zs; i++) {
        block k;
        block_new(&k, &zs[i]);
        bf16_twin dyh; // dy as bf16 (the consuming linear's dx GEMM at bf16)
        bf16_new(&dyh, &k.dy);
        for (int s = 0; s < 2; s++) BE[s]->cast(BE[s], &dyh.t[s], &k.dy.t[s]);
        BOTH(ln_mod_fwd, X(k.y), X(k.m), X(k.r), X(k.x), X(k.s1), X(k.s2), 1e-6f);
        for (int b16 = 0; b16 < 2; b16++)
            for (int acc = 0; acc < 2; acc++) {
                char name[64], what[64];
                snprintf(name, sizeof name, "ln_mod_bwd B=%lld T=%lld%s", (long long)zs[i].B, (long long)zs[i].T,
                         b16 ? " bf16 dy" : "");
#define DY        (b16 ? &dyh.t[K_] : X(k.dy))
#define ACC(p, a) ((a) ? refill(&(p)) : poison(&(p)))
                ACC(k.dx, acc), ACC(k.ds1, !acc), ACC(k.ds2, acc); // (dshift's acc the other one)
                BOTH(ln_mod_bwd, X(k.dx), X(k.ds1), X(k.ds2), DY, X(k.x), X(k.m), X(k.r), X(k.s2), acc, !acc, acc);
                snprintf(what, sizeof what, "all three, dx acc %d", acc), expect(name, what, &k.dx, TOL_FP32);
                snprintf(what, sizeof what, "all three, dshift acc %d", !acc), expect(name, what, &k.ds1, TOL_FP32);
                snprintf(what, sizeof what, "all three, dscale acc %d", acc), expect(name, what, &k.ds2, TOL_FP32);
                ACC(k.dx, acc), ACC(k.ds1, acc), poison(&k.ds2);
                BOTH(ln_mod_bwd, X(k.dx), X(k.ds1), NULL, DY, X(k.x), X(k.m), X(k.r), X(k.s2), acc, acc, 0);
                snprintf(what, sizeof what, "dx + dshift%s: dx", acc ? " acc" : ""),
                    expect(name, what, &k.dx, TOL_FP32);
                snprintf(what, sizeof what, "dx + dshift%s: dshift", acc ? " acc" : "");
                expect(name, what, &k.ds1, TOL_FP32);
                expect_gap(name, "dx + dshift: dscale untouched", &k.ds2, TOL_FP32, k.ds2.t[0].numel);
                ACC(k.dx, acc), ACC(k.ds2, acc), poison(&k.ds1);
                BOTH(ln_mod_bwd, X(k.dx), NULL, X(k.ds2), DY, X(k.x), X(k.m), X(k.r), X(k.s2), acc, 0, acc);
                snprintf(what, sizeof what, "dx + dscale%s: dx", acc ? " acc" : ""),
                    expect(name, what, &k.dx, TOL_FP32);
                snprintf(what, sizeof what, "dx + dscale%s: dscale", acc ? " acc" : "");
                expect(name, what, &k.ds2, TOL_FP32);
                expect_gap(name, "dx + dscale: dshift untouched", &k.ds1, TOL_FP32, k.ds1.t[0].numel);
#undef DY
#undef ACC
            }
        for (int s = 0; s < 2; s++) BE[s]->free(BE[s], dyh.t[s].data);
        block_free(&k);
    }
}

// The gated residual's backward with dgate (CUDA: one pass over dout and y, k_gated_res_bwd_sums, 4 columns a lane,
// when D % 4 == 0; and its forward, 4 elements a thread): D 64 (lanes without columns), 260 (a last block of 4 columns), 66 (the two-pass fallback); y F32
// and bf16; dx and an F32 dy beside dgate with different acc, dy written as bf16 without dx (the model's case: the
// residual takes over dout's buffer), dx without dy. 5 groups of 48 rows (6 chunks of 8; the capped pass loops over
// the groups, 2 rows a warp).
static void t_res_sums(void) {
    const sizes zs[] = {{"res sums", 5, 48, 64, 4, 0, 0, 0, 0, 0, 0},
                        {"res sums", 2, 9, 260, 4, 0, 0, 0, 0, 0, 0},
                        {"res sums", 2, 9, 66, 4, 0, 0, 0, 0, 0, 0}};
    for (size_t i = 0; i < sizeof zs / sizeof *zs; i++) {
        block k;
        block_new(&k, &zs[i]);
        bf16_twin y16; // y a bf16 linear output
        bf16_new(&y16, &k.x2);
        for (int s = 0; s < 2; s++) BE[s]->cast(BE[s], &y16.t[s], &k.x2.t[s]);
        for (int yb = 0; yb < 2; yb++) { // (and the forward: 4 elements a thread when D % 4 == 0)
            char fname[64];
            snprintf(fname, sizeof fname, "gated_res_fwd D=%lld%s", (long long)zs[i].D, yb ? " bf16 y" : "");
            poison(&k.y), BOTH(gated_res_fwd, X(k.y), X(k.x), X(k.s1), yb ? &y16.t[K_] : X(k.x2));
            expect(fname, "out", &k.y, TOL_FP32);
        }
        for (int yb = 0; yb < 2; yb++)
            for (int acc = 0; acc < 2; acc++) {
                char name[64], what[64];
                snprintf(name, sizeof name, "gated_res_bwd B=%lld T=%lld D=%lld%s", (long long)zs[i].B,
                         (long long)zs[i].T, (long long)zs[i].D, yb ? " bf16 y" : "");
#define Y         (yb ? &y16.t[K_] : X(k.x2))
#define ACC(p, a) ((a) ? refill(&(p)) : poison(&(p)))
                ACC(k.dx, acc), ACC(k.ds1, !acc), ACC(k.y, acc); // (dgate's acc the other one)
                BOTH(gated_res_bwd, X(k.dx), X(k.ds1), X(k.y), X(k.dy), X(k.s1), Y, acc, !acc, acc);
                snprintf(what, sizeof what, "dx acc %d", acc), expect(name, what, &k.dx, TOL_FP32);
                snprintf(what, sizeof what, "dgate acc %d", !acc), expect(name, what, &k.ds1, TOL_FP32);
                snprintf(what, sizeof what, "dy acc %d", acc), expect(name, what, &k.y, TOL_FP32);
                { // dy written as bf16, no dx
                    bf16_twin h;
                    bf16_new(&h, &k.y);
                    poison(&k.dx), ACC(k.ds1, acc);
                    BOTH(gated_res_bwd, NULL, X(k.ds1), &h.t[K_], X(k.dy), X(k.s1), Y, 0, acc, 0);
                    bf16_widen(&h, &k.y), expect(name, "no dx: dy -> bf16", &k.y, TOL_BF16_OUT);
                    snprintf(what, sizeof what, "no dx: dgate acc %d", acc), expect(name, what, &k.ds1, TOL_FP32);
                    expect_gap(name, "no dx: dx untouched", &k.dx, TOL_FP32, k.dx.t[0].numel);
                }
                ACC(k.dx, acc), ACC(k.ds1, acc), poison(&k.y);
                BOTH(gated_res_bwd, X(k.dx), X(k.ds1), NULL, X(k.dy), X(k.s1), Y, acc, acc, 0);
                snprintf(what, sizeof what, "no dy: dx acc %d", acc), expect(name, what, &k.dx, TOL_FP32);
                snprintf(what, sizeof what, "no dy: dgate acc %d", acc), expect(name, what, &k.ds1, TOL_FP32);
                expect_gap(name, "no dy: dy untouched", &k.y, TOL_FP32, k.y.t[0].numel);
#undef Y
#undef ACC
            }
        for (int s = 0; s < 2; s++) BE[s]->free(BE[s], y16.t[s].data);
        block_free(&k);
    }
}

// LayerNorm+modulate at every slot count of the warp-per-row kernels (CUDA: k_ln_mod_fwd_warp, k_ln_bwd_dx_warp,
// k_ln_mod_bwd_sums are instantiated per slot count: D 32·N − 12, a part slot at the end), F32 and bf16 y and dy,
// dx alone and with the modulation gradients; 4+ rows and 2048+ elements, the bf16 output's limit TOL_BF16_OUT scaled
// to 8192 elements (the same few rounding flips). Not in the capped pass (the launch shapes are the other cases':
// the slot counts only change the unrolling).
static void t_ln_slots(void) {
    const int slots[] = {1, 2, 4, 8, 12, 16, 24, 32, 36, 48, 64};
    for (size_t i = 0; i < sizeof slots / sizeof *slots; i++) {
        const int64_t D = 32 * slots[i] - 12, T = D < 512 ? (2048 / 2 + D - 1) / D : 2;
        const double n = (double)(2 * T * D), tol16 = n < 8192 ? TOL_BF16_OUT * 8192.0 / n : TOL_BF16_OUT;
        sizes zs = {"ln slots", 2, T, D, 4, 0, 0, 0, 0, 0, 0};
        block k;
        block_new(&k, &zs);
        char name[64];
        snprintf(name, sizeof name, "ln slots %d (D %lld)", slots[i], (long long)D);
        bf16_twin h, dyh;
        bf16_new(&h, &k.y);
        BOTH(ln_mod_fwd, &h.t[K_], X(k.m), X(k.r), X(k.x), X(k.s1), X(k.s2), 1e-6f);
        bf16_widen(&h, &k.y), expect(name, "fwd y -> bf16", &k.y, tol16);
        poison(&k.y), poison(&k.m), poison(&k.r);
        BOTH(ln_mod_fwd, X(k.y), X(k.m), X(k.r), X(k.x), X(k.s1), X(k.s2), 1e-6f);
        expect(name, "fwd y", &k.y, TOL_FP32), expect(name, "fwd rstd", &k.r, TOL_FP32);
        bf16_new(&dyh, &k.dy);
        for (int s = 0; s < 2; s++) BE[s]->cast(BE[s], &dyh.t[s], &k.dy.t[s]);
        for (int b16 = 0; b16 < 2; b16++) {
            const char *dx_name = b16 ? "bf16 dy: dx" : "dx";
            poison(&k.dx), BOTH(ln_mod_bwd, X(k.dx), NULL, NULL, b16 ? &dyh.t[K_] : X(k.dy), X(k.x), X(k.m), X(k.r),
                                X(k.s2), 0, 0, 0);
            expect(name, dx_name, &k.dx, TOL_FP32);
            poison(&k.dx), poison(&k.ds1), poison(&k.ds2);
            BOTH(ln_mod_bwd, X(k.dx), X(k.ds1), X(k.ds2), b16 ? &dyh.t[K_] : X(k.dy), X(k.x), X(k.m), X(k.r), X(k.s2),
                 0, 0, 0);
            expect(name, b16 ? "bf16 dy: all, dx" : "all, dx", &k.dx, TOL_FP32);
            expect(name, b16 ? "bf16 dy: all, dshift" : "all, dshift", &k.ds1, TOL_FP32);
            expect(name, b16 ? "bf16 dy: all, dscale" : "all, dscale", &k.ds2, TOL_FP32);
        }
        if (i == 0) { // both modulation gradients without dx from a bf16 dy: one column pass for the two
            poison(&k.ds1), poison(&k.ds2);
            BOTH(ln_mod_bwd, NULL, X(k.ds1), X(k.ds2), &dyh.t[K_], X(k.x), X(k.m), X(k.r), X(k.s2), 0, 0, 0);
            expect(name, "bf16 dy: dshift", &k.ds1, TOL_FP32), expect(name, "bf16 dy: dscale", &k.ds2, TOL_FP32);
        }
        for (int s = 0; s < 2; s++) BE[s]->free(BE[s], dyh.t[s].data);
        block_free(&k);
    }
}

// LayerNorm rows of other widths (CUDA: a warp per row with the row in registers up to D 2048 — whole slots at D 32
// and 64, part slots at the toy D 80 — longer rows a block each: D 2100)
static void t_ln_widths(void) {
    const int64_t widths[] = {32, 64, 2100};
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++) {
        block k;
        // (elements enough that a few bf16 flips stay within TOL_BF16_OUT: 8192+, 67200 at D 2100; few rows where
        // they are long: the race-checked emulation runs every GPU thread)
        int64_t bt = widths[i] > 64 ? 2 : 4, tt = widths[i] > 64 ? 16 : 64;
        sizes zw = {"widths", bt, tt, widths[i], 4, 0, 0, 0, 0, 0, 0};
        block_new(&k, &zw);
        char name[64];
        snprintf(name, sizeof name, "ln D=%lld", (long long)widths[i]);
        for (int acc = 0; acc < 2; acc++) {
            poison(&k.y), poison(&k.m), poison(&k.r);
            BOTH(ln_mod_fwd, X(k.y), X(k.m), X(k.r), X(k.x), X(k.s1), X(k.s2), 1e-6f);
            expect(name, "ln_mod_fwd y", &k.y, TOL_FP32), expect(name, "ln_mod_fwd mean", &k.m, TOL_FP32);
            expect(name, "ln_mod_fwd rstd", &k.r, TOL_FP32);
            if (!acc) {
                bf16_twin h;
                bf16_new(&h, &k.y);
                BOTH(ln_mod_fwd, &h.t[K_], X(k.m), X(k.r), X(k.x), X(k.s1), X(k.s2), 1e-6f);
                bf16_widen(&h, &k.y), expect(name, "ln_mod_fwd y -> bf16", &k.y, TOL_BF16_OUT);
            }
            OUT(k.dx), BOTH(ln_mod_bwd, X(k.dx), NULL, NULL, X(k.dy), X(k.x), X(k.m), X(k.r), X(k.s2), acc, 0, 0);
            expect(name, acc ? "ln_mod_bwd dx acc" : "ln_mod_bwd dx", &k.dx, TOL_FP32);
            bf16_twin dyh; // dy as bf16 (the consuming linear's dx GEMM at bf16)
            bf16_new(&dyh, &k.dy);
            for (int s = 0; s < 2; s++) BE[s]->cast(BE[s], &dyh.t[s], &k.dy.t[s]);
            OUT(k.dx), BOTH(ln_mod_bwd, X(k.dx), NULL, NULL, &dyh.t[K_], X(k.x), X(k.m), X(k.r), X(k.s2), acc, 0, 0);
            expect(name, acc ? "ln_mod_bwd bf16 dy: dx acc" : "ln_mod_bwd bf16 dy: dx", &k.dx, TOL_FP32);
            for (int s = 0; s < 2; s++) BE[s]->free(BE[s], dyh.t[s].data);
            poison(&k.y), poison(&k.m), poison(&k.r);
            BOTH(layer_norm_fwd, X(k.y), X(k.m), X(k.r), X(k.x), X(k.w), X(k.bb), 1e-6f);
            OUT(k.dx), BOTH(layer_norm_bwd, X(k.dx), NULL, NULL, X(k.dy), X(k.x), X(k.w), X(k.m), X(k.r), acc, 0, 0);
            expect(name, acc ? "layer_norm_bwd dx acc" : "layer_norm_bwd dx", &k.dx, TOL_FP32);
        }
        block_free(&k);
    }
}

static int capped_pass; // the second toy pass, DITC_CUDA_GRID_CAP=3
static void run_suite(const sizes *z, int real) {
    printf("== %s shapes: B %lld, T %lld, D %lld, %lld heads; linear rows %lld; latents %lldx%lldx%lldx%lld\n",
           z->label, (long long)z->B, (long long)z->T, (long long)z->D, (long long)z->H, (long long)z->rows,
           (long long)z->LB, (long long)z->C, (long long)z->S, (long long)z->S);
    if (want("memory")) t_memory(z), t_timer(z);
    if (want("gemm")) t_gemm(z, real);
    if (want("attention")) t_attention(z, real), t_attention_gemm(z, real);
    if (want("rng")) t_rng(z, real);
    if (want("elementwise")) t_elementwise(z);
    if (want("norm")) t_norm(z), t_col_chunks(), t_ln_sums(), t_res_sums(), t_ln_widths();
    if (want("norm") && !capped_pass) t_ln_slots();
    if (want("reduce")) t_reduce(z);
    if (want("layout")) t_layout(z);
    if (want("diffusion")) t_diffusion(z);
    if (want("optim")) t_optim(z);
    if (want("vae")) t_vae(real);
    if (want("fid")) t_fid(real);
}

static ditc_backend *open_peer(ditc_status *st) {
    if (!strcmp(peer_name, "cpu")) return ditc_cpu_backend_new(0);
    return ditc_backend_open(peer_name, "fp32", 0, st);
}

int main(int argc, char **argv) {
    int no_cap = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--peer") && i + 1 < argc) peer_name = argv[++i];
        else if (!strcmp(argv[i], "--small")) small_only = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--no-cap")) no_cap = 1;
        else {
            fprintf(stderr,
                    "usage: test_gpu_parity [--peer cuda|cpu-guard|cpu] [--small] [--only GROUP,...] [--no-cap]\n");
            return 2;
        }
    }
    int cuda = !strcmp(peer_name, "cuda");
    if (!cuda && strcmp(peer_name, "cpu") && strcmp(peer_name, "cpu-guard")) {
        fprintf(stderr, "test_gpu_parity: --peer %s: expected cuda, cpu-guard or cpu\n", peer_name);
        return 2;
    }
    if (cuda && ditc_cuda_device_count() < 1) {
        printf("SKIP test_gpu_parity: no CUDA device (or this ditc was built without -DDITC_CUDA=ON)\n");
        return 77;
    }
    strict = !cuda;
    ditc_status st = {0};
    BE[0] = ditc_cpu_backend_new(0);
    BE[1] = open_peer(&st);
    if (!BE[1]) {
        printf("SKIP test_gpu_parity: %s\n", st.message);
        return 77;
    }
    if (cuda) {
        char name[256] = "";
        int ma = 0, mi = 0, sms = 0;
        ditc_cuda_device_info(BE[1], name, sizeof name, &ma, &mi, &sms);
        printf("peer: cuda, %s, compute capability %d.%d, %d SMs\n", name, ma, mi, sms);
    } else {
        printf("peer: %s (self-check of this program: every result must be bit-identical)\n", peer_name);
    }
    // used by the harness itself: memory, copies, destroy (at the end)
    COVER(destroy), COVER(alloc), COVER(free), COVER(copy_h2d), COVER(copy_d2h);

    run_suite(&SMALL, 0);
    if (!small_only) {
        run_suite(&XL, 1);
        if (want("large")) t_large();
    }
    if (cuda && !no_cap && want("cap")) { // again with at most 3 blocks per 1-D grid: every grid-stride loop iterates
        BE[1]->destroy(BE[1]);
        setenv("DITC_CUDA_GRID_CAP", "3", 1);
        BE[1] = open_peer(&st);
        if (!BE[1]) {
            printf("FAIL reopening the cuda backend with DITC_CUDA_GRID_CAP=3: %s\n", st.message);
            nfail++;
        } else {
            sizes capped = SMALL;
            capped.label = "toy, DITC_CUDA_GRID_CAP=3";
            capped_pass = 1;
            run_suite(&capped, 0);
        }
        unsetenv("DITC_CUDA_GRID_CAP");
    }
    // every entry of core/tensor/backend.h needs a case above (optional ones only where the peer implements them)
    if (only) {
        printf("(--only %s: the coverage check is skipped)\n", only);
    } else {
        const ditc_backend *pb = BE[1];
#define CHECK_REQUIRED(ret, f, params, args)                                                                           \
    if (!covered[E_##f]) printf("FAIL backend entry '%s' has no parity case\n", #f), nfail++;
#define CHECK_OPTIONAL(ret, f, params, args)                                                                           \
    if (!covered[E_##f] && pb && pb->f)                                                                                \
        printf("FAIL backend entry '%s' (optional, implemented by %s) has no parity case\n", #f, pb->name), nfail++;
        DITC_BACKEND_REQUIRED_ENTRIES(CHECK_REQUIRED)
        DITC_BACKEND_OPTIONAL_ENTRIES(CHECK_OPTIONAL)
#undef CHECK_REQUIRED
#undef CHECK_OPTIONAL
    }
    BE[0]->destroy(BE[0]);
    if (BE[1]) BE[1]->destroy(BE[1]);
    printf("test_gpu_parity (%s): %d passed, %d failed, %d skipped\n", peer_name, npass, nfail, nskip);
    return nfail ? 1 : 0;
}

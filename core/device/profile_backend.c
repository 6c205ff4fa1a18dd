// profile_backend.c — the profiling backend view of `ditc bench --profile` (profile_backend.h).
//
// Each forwarded transfer or kernel call is bracketed by two timer marks of the inner backend; the marks are read
// back once per step (ditc_profile_backend_collect), so on the GPU the kernels run back to back as in a normal step
// (only the event records are added). Lifetime and memory entries (alloc, free, synchronize) and the timer entries
// themselves are forwarded untimed.
#include "profile_backend.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

#define ENTRY_ENUM(ret, f, params, args) P_##f,
enum {
    DITC_BACKEND_TRANSFERS(ENTRY_ENUM) DITC_BACKEND_KERNELS(ENTRY_ENUM) DITC_BACKEND_VAE_KERNELS(ENTRY_ENUM)
        DITC_BACKEND_FID_KERNELS(ENTRY_ENUM) DITC_BACKEND_SOPHIA_KERNELS(ENTRY_ENUM) P_COUNT
};
#undef ENTRY_ENUM
#define ENTRY_NAME(ret, f, params, args) #f,
static const char *const entry_names[P_COUNT] = {
    DITC_BACKEND_TRANSFERS(ENTRY_NAME) DITC_BACKEND_KERNELS(ENTRY_NAME) DITC_BACKEND_VAE_KERNELS(ENTRY_NAME)
        DITC_BACKEND_FID_KERNELS(ENTRY_NAME) DITC_BACKEND_SOPHIA_KERNELS(ENTRY_NAME)};
#undef ENTRY_NAME

#define MAX_SHAPES 512

typedef struct {
    int64_t m, n, k, batch;
    int ta, tb, a_dtype, b_dtype, c_dtype, bias;
} gemm_shape;

typedef struct {
    int entry, mark0, shape; // shape: index into shapes, or -1
} record;

typedef struct {
    ditc_backend *in;
    record *rec;
    int n_rec, cap_rec;
    double ms[P_COUNT];
    long calls[P_COUNT];
    int gemm_shape_next; // the shape of the GEMM being forwarded (p_gemm_by_shape)
    gemm_shape shapes[MAX_SHAPES];
    double shape_ms[MAX_SHAPES];
    long shape_calls[MAX_SHAPES];
    int n_shapes;
} prof_ctx;

static int shape_index(prof_ctx *p, const ditc_gemm *g) {
    gemm_shape s;
    memset(&s, 0, sizeof s); // padding too: compared with memcmp
    s.m = g->m, s.n = g->n, s.k = g->k, s.batch = g->batch, s.ta = g->trans_a, s.tb = g->trans_b;
    s.a_dtype = g->a_dtype, s.b_dtype = g->b_dtype, s.c_dtype = g->c_dtype, s.bias = g->bias != NULL;
    for (int i = 0; i < p->n_shapes; i++)
        if (!memcmp(&p->shapes[i], &s, sizeof s)) return i;
    if (p->n_shapes == MAX_SHAPES) return -1;
    p->shapes[p->n_shapes] = s;
    return p->n_shapes++;
}

static void begin(prof_ctx *p, int entry) {
    if (p->n_rec == p->cap_rec) {
        p->cap_rec = p->cap_rec ? 2 * p->cap_rec : 4096;
        p->rec = ditc_xrealloc(p->rec, (size_t)p->cap_rec * sizeof *p->rec);
    }
    p->rec[p->n_rec++] = (record){entry, p->in->timer_mark(p->in), entry == P_gemm ? p->gemm_shape_next : -1};
}
static void end(prof_ctx *p) { p->in->timer_mark(p->in); } // a record's second mark is mark0 + 1

// Forwarders: mark, the inner entry (the inner `be` shadows the view's own), mark.
#define FWD(ret, entry, params, args)                                                                                  \
    static void p_##entry params {                                                                                     \
        prof_ctx *prof_ = be->ctx;                                                                                     \
        prof_->in->precision = be->precision;                                                                          \
        begin(prof_, P_##entry);                                                                                       \
        {                                                                                                              \
            ditc_backend *be = prof_->in;                                                                              \
            be->entry args;                                                                                            \
        }                                                                                                              \
        end(prof_);                                                                                                    \
    }
DITC_BACKEND_TRANSFERS(FWD)
DITC_BACKEND_KERNELS(FWD)
DITC_BACKEND_VAE_KERNELS(FWD)
DITC_BACKEND_FID_KERNELS(FWD)
DITC_BACKEND_SOPHIA_KERNELS(FWD)
#undef FWD

static void p_gemm_by_shape(ditc_backend *be, const ditc_gemm *g) {
    prof_ctx *p = be->ctx;
    p->gemm_shape_next = shape_index(p, g);
    p_gemm(be, g);
}

static void *p_alloc(ditc_backend *be, size_t bytes) {
    ditc_backend *in = ((prof_ctx *)be->ctx)->in;
    return in->alloc(in, bytes);
}
static void p_free(ditc_backend *be, void *ptr) {
    ditc_backend *in = ((prof_ctx *)be->ctx)->in;
    in->free(in, ptr);
}
static void p_synchronize(ditc_backend *be) {
    ditc_backend *in = ((prof_ctx *)be->ctx)->in;
    in->synchronize(in);
}
static void p_destroy(ditc_backend *be) { // the inner backend stays
    prof_ctx *p = be->ctx;
    free(p->rec);
    free(p);
    free(be);
}

ditc_backend *ditc_profile_backend_new(ditc_backend *inner) {
    if (!inner->timer_mark || !inner->timer_elapsed_ms || !inner->timer_reset) return NULL;
    prof_ctx *p = ditc_xcalloc(1, sizeof *p);
    p->in = inner;
    inner->timer_reset(inner);
    ditc_backend *be = ditc_xcalloc(1, sizeof *be);
    *be = *inner; // name, host_memory, precision, stream; every entry replaced below
    be->ctx = p;
    be->destroy = p_destroy;
    be->alloc = p_alloc;
    be->free = p_free;
    be->synchronize = p_synchronize;
#define SET(ret, entry, params, args)    be->entry = p_##entry;
#define SET_IF(ret, entry, params, args) be->entry = inner->entry ? p_##entry : NULL;
    DITC_BACKEND_TRANSFERS(SET)
    DITC_BACKEND_KERNELS(SET)
    DITC_BACKEND_VAE_KERNELS(SET_IF)
    DITC_BACKEND_FID_KERNELS(SET_IF)
    DITC_BACKEND_SOPHIA_KERNELS(SET_IF)
#undef SET
#undef SET_IF
    be->gemm = p_gemm_by_shape;
    be->timer_mark = NULL; // the view's marks are its own business
    be->timer_elapsed_ms = NULL;
    be->timer_reset = NULL;
    return be;
}

void ditc_profile_backend_collect(ditc_backend *view, int keep) {
    prof_ctx *p = view->ctx;
    for (int r = 0; keep && r < p->n_rec; r++) {
        const record *c = &p->rec[r];
        double ms = p->in->timer_elapsed_ms(p->in, c->mark0, c->mark0 + 1);
        p->ms[c->entry] += ms;
        p->calls[c->entry]++;
        if (c->shape >= 0) {
            p->shape_ms[c->shape] += ms;
            p->shape_calls[c->shape]++;
        }
    }
    p->n_rec = 0;
    p->in->timer_reset(p->in);
}

static const double *sort_key;
static int by_key_desc(const void *a, const void *b) {
    double x = sort_key[*(const int *)a], y = sort_key[*(const int *)b];
    return (x < y) - (x > y);
}

void ditc_profile_backend_print(ditc_backend *view, int steps, double step_ms, FILE *f) {
    prof_ctx *p = view->ctx;
    if (steps < 1) return;
    int idx[MAX_SHAPES > P_COUNT ? MAX_SHAPES : P_COUNT], n = 0;
    double total = 0;
    for (int i = 0; i < P_COUNT; i++)
        if (p->calls[i]) idx[n++] = i, total += p->ms[i];
    sort_key = p->ms;
    qsort(idx, (size_t)n, sizeof *idx, by_key_desc);
    fprintf(f, "  per-kernel time per step (--profile: backend entries between timer marks in queue order; %s):\n",
            view->host_memory ? "the CPU's clock" : "device events");
    for (int j = 0; j < n; j++) {
        int i = idx[j];
        fprintf(f, "    %-20s %8.3f ms %5.1f%%  %7.1f calls\n", entry_names[i], p->ms[i] / steps,
                total > 0 ? 100.0 * p->ms[i] / total : 0.0, (double)p->calls[i] / steps);
    }
    fprintf(f, "    %-20s %8.3f ms = %.1f%% of the %.3f ms step (the rest: gaps between entries, host work)\n", "total",
            total / steps, step_ms > 0 ? 100.0 * total / steps / step_ms : 0.0, step_ms);
    n = 0;
    for (int i = 0; i < p->n_shapes; i++)
        if (p->shape_calls[i]) idx[n++] = i;
    sort_key = p->shape_ms;
    qsort(idx, (size_t)n, sizeof *idx, by_key_desc);
    fprintf(f,
            "  GEMM shapes by time (m n k batch, op(A) op(B), A·B→C dtypes, +bias; TFLOP/s = 2·m·n·k·batch / time):\n");
    for (int j = 0; j < n && j < 16; j++) {
        const gemm_shape *s = &p->shapes[idx[j]];
        double flop =
            2.0 * (double)s->m * (double)s->n * (double)s->k * (double)s->batch * (double)p->shape_calls[idx[j]];
        fprintf(f, "    %6lld %6lld %6lld %4lld  %c%c  %s·%s→%-4s %-5s %8.3f ms %6.1f calls  %8.2f TFLOP/s\n",
                (long long)s->m, (long long)s->n, (long long)s->k, (long long)s->batch, s->ta ? 'T' : 'N',
                s->tb ? 'T' : 'N', ditc_dtype_name((ditc_dtype)s->a_dtype), ditc_dtype_name((ditc_dtype)s->b_dtype),
                ditc_dtype_name((ditc_dtype)s->c_dtype), s->bias ? " +bias" : "", p->shape_ms[idx[j]] / steps,
                (double)p->shape_calls[idx[j]] / steps,
                p->shape_ms[idx[j]] > 0 ? flop / (p->shape_ms[idx[j]] * 1e-3) * 1e-12 : 0.0);
    }
    if (n > 16) fprintf(f, "    (%d more shapes)\n", n - 16);
}

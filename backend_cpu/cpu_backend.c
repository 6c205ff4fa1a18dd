// cpu_backend.c — the CPU backend object: memory, synchronisation, RNG, and the kernel table.
#include "cpu_backend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <cblas.h>

#include "cpu_kernels.h"
#include "rng.h"

typedef struct {
    float *scratch;
    size_t scratch_floats;
    float *rope;             // cpu_rope_table's cos | sin tables, (T, hd/2) each
    int64_t rope_T, rope_hd; // their key (0: none yet)
    float rope_theta;
    double *marks; // timer marks (seconds)
    int n_marks, cap_marks;
} cpu_ctx;

float *cpu_scratch(ditc_backend *be, size_t floats) {
    cpu_ctx *cx = be->ctx;
    if (floats > cx->scratch_floats) {
        free(cx->scratch);
        size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        cx->scratch = aligned_alloc(64, bytes);
        DITC_ALLOC_CHECK(cx->scratch, bytes);
        cx->scratch_floats = floats;
    }
    return cx->scratch;
}

const float *cpu_rope_table(ditc_backend *be, int64_t T, int64_t hd, float theta) {
    cpu_ctx *cx = be->ctx;
    if (cx->rope && cx->rope_T == T && cx->rope_hd == hd && cx->rope_theta == theta) return cx->rope;
    int64_t P = hd / 2;
    free(cx->rope);
    size_t bytes = ((size_t)(2 * T * P) * sizeof(float) + 63) / 64 * 64;
    cx->rope = aligned_alloc(64, bytes ? bytes : 64);
    DITC_ALLOC_CHECK(cx->rope, bytes);
    float *cs = cx->rope, *sn = cx->rope + T * P;
#pragma omp parallel for schedule(static) if (T * P > 4096)
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < P; i++) {
            // LLaMA's precompute_freqs_cis in float32: f = 1 / theta^(2i/hd), angle = t·f (one rounding each)
            float f = 1.0f / powf(theta, (float)(2 * i) / (float)hd);
            float a = (float)t * f;
            cs[t * P + i] = (float)cos((double)a);
            sn[t * P + i] = (float)sin((double)a);
        }
    cx->rope_T = T, cx->rope_hd = hd, cx->rope_theta = theta;
    return cx->rope;
}

static void *cpu_alloc(ditc_backend *be, size_t bytes) {
    (void)be;
    return aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
}

static void cpu_free(ditc_backend *be, void *p) {
    (void)be;
    free(p);
}
static void cpu_copy(ditc_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes) memmove(dst, src, bytes);
}
static void cpu_sync(ditc_backend *be) { (void)be; }

static void cpu_fill(ditc_backend *be, void *dst, ditc_dtype dtype, size_t n, float value) {
    (void)be;
    if (value == 0.0f) {
        memset(dst, 0, n * ditc_dtype_size(dtype));
        return;
    }
    switch (dtype) {
    case DITC_F32: {
        float *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = value;
        break;
    }
    case DITC_BF16: {
        uint16_t v = ditc_f32_to_bf16(value), *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = v;
        break;
    }
    case DITC_I32: {
        int32_t v = (int32_t)value, *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = v;
        break;
    }
    default: DITC_CHECK(0, "fill: unsupported dtype %s", ditc_dtype_name(dtype));
    }
}

void cpu_rng_fill(ditc_backend *be, ditc_tensor *t, ditc_rng_dist dist, uint64_t seed, uint32_t purpose, uint32_t step,
                  uint64_t index0) {
    (void)be;
    DITC_CHECK(t->dtype == DITC_F32, "rng_fill needs F32");
    if (dist == DITC_RNG_DIST_NORMAL) ditc_rng_fill_normal(F32(t), (size_t)t->numel, seed, purpose, step, index0);
    else ditc_rng_fill_uniform(F32(t), (size_t)t->numel, seed, purpose, step, index0);
}

// Timer marks: the clock (every CPU kernel has finished when its entry returns).
static int cpu_timer_mark(ditc_backend *be) {
    cpu_ctx *cx = be->ctx;
    if (cx->n_marks == cx->cap_marks) {
        cx->cap_marks = cx->cap_marks ? 2 * cx->cap_marks : 4096;
        cx->marks = ditc_xrealloc(cx->marks, (size_t)cx->cap_marks * sizeof *cx->marks);
    }
    cx->marks[cx->n_marks] = ditc_now_s();
    return cx->n_marks++;
}
static double cpu_timer_elapsed_ms(ditc_backend *be, int a, int b) {
    cpu_ctx *cx = be->ctx;
    DITC_CHECK(a >= 0 && b >= 0 && a < cx->n_marks && b < cx->n_marks, "timer marks %d, %d of %d", a, b, cx->n_marks);
    return (cx->marks[b] - cx->marks[a]) * 1e3;
}
static void cpu_timer_reset(ditc_backend *be) { ((cpu_ctx *)be->ctx)->n_marks = 0; }

static void cpu_destroy(ditc_backend *be) {
    cpu_ctx *cx = be->ctx;
    free(cx->marks);
    free(cx->scratch);
    free(cx->rope);
    free(cx);
    free(be);
}

int ditc_cpu_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

ditc_backend *ditc_cpu_backend_new(int threads) {
    if (threads > 0) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        openblas_set_num_threads(threads);
    }
    ditc_backend *be = ditc_xcalloc(1, sizeof *be);
    be->name = "cpu";
    be->host_memory = 1;
    be->ctx = ditc_xcalloc(1, sizeof(cpu_ctx));
    be->destroy = cpu_destroy;
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->copy_h2d = cpu_copy;
    be->copy_d2h = cpu_copy;
    be->copy_d2d = cpu_copy;
    be->fill = cpu_fill;
    be->synchronize = cpu_sync;
#define SET(ret, name, params, args) be->name = cpu_##name;
    DITC_BACKEND_KERNELS(SET)
    DITC_BACKEND_VAE_KERNELS(SET)
    DITC_BACKEND_FID_KERNELS(SET)
    DITC_BACKEND_SOPHIA_KERNELS(SET)
    DITC_BACKEND_TIMER_ENTRIES(SET)
#undef SET
    return be;
}

// cpu_gemm.c — strided-batched row-major GEMM on OpenBLAS sgemm (F32 arithmetic on the CPU).
//
// BF16 operands are widened to F32 first; at `--precision bf16` F32 operands are rounded to bf16 values first (round
// to nearest even, as the CUDA backend's casts): products of bf16 values summed in F32, the tensor cores' arithmetic
// up to the order of the sums — the CPU emulation of the GPU's bf16 mode, for cross-checking it.
//
// OpenBLAS's own threading loses a quarter of the rate on the small GEMMs of tiny models (a few hundred rows
// by 128–512: thread start-up, shared packing). Instead the call is cut here into one block per OpenMP thread
// — along the larger of C's rows and columns, in multiples of 16 — each on single-threaded OpenBLAS (it runs
// serially inside a parallel region); a batch of several matrices runs one matrix per thread. Every element of
// C is still one dot product over the whole K, so the split changes no result beyond the library's own kernel
// choice per block shape (training is bit-identical on 1 and 2 threads).
//
// Built with oneDNN, blocks with a long reduction (K >= GEMM_DNNL_MIN_K: the weight gradients, K = batch x
// tokens, and K-512 forwards) go to oneDNN's sgemm instead, which measured 1.2-1.4x OpenBLAS on those shapes and
// slower on the short-K rest (docs/benchmarks.md). DITC_GEMM=openblas turns it off (for A/B runs).
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef DITC_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

#include "cpu_backend.h"
#include "cpu_kernels.h"

#define GEMM_SPLIT_MIN_MACS (1 << 18) // below this one thread does the whole call
#define GEMM_SPLIT_ALIGN    16

#define GEMM_DNNL_MIN_K 512

#ifdef DITC_HAVE_DNNL
static int dnnl_wanted(void) {
    static _Atomic int wanted = -1; // DITC_GEMM read once (threads racing to it all store the same value)
    int w = wanted;
    if (w < 0) {
        const char *e = getenv("DITC_GEMM");
        wanted = w = !(e && !strcmp(e, "openblas"));
    }
    return w;
}
#endif

static void sgemm1(const ditc_gemm *g, int64_t i, int64_t r0, int64_t m, int64_t c0, int64_t n) {
    const float *a = (const float *)g->a + i * g->stride_a + (g->trans_a ? r0 : r0 * g->lda);
    const float *b = (const float *)g->b + i * g->stride_b + (g->trans_b ? c0 * g->ldb : c0);
    float *c = (float *)g->c + i * g->stride_c + r0 * g->ldc + c0;
#ifdef DITC_HAVE_DNNL
    // row-major like cblas_sgemm; runs on the calling thread inside the split's parallel region
    if (g->k >= GEMM_DNNL_MIN_K && dnnl_wanted() &&
        dnnl_sgemm(g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', m, n, g->k, g->alpha, a, g->lda, b, g->ldb, g->beta,
                   c, g->ldc) == dnnl_success)
        return;
#endif
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans, g->trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)g->k, g->alpha, a, (int)g->lda, b, (int)g->ldb, g->beta, c, (int)g->ldc);
}

// Block t of nb along a dimension of size len: [*lo, *lo + *len_t), boundaries at multiples of GEMM_SPLIT_ALIGN.
static void block_range(int64_t len, int t, int nb, int64_t *lo, int64_t *n) {
    int64_t units = (len + GEMM_SPLIT_ALIGN - 1) / GEMM_SPLIT_ALIGN;
    int64_t u0 = units * t / nb, u1 = units * (t + 1) / nb;
    int64_t a = u0 * GEMM_SPLIT_ALIGN, b = u1 * GEMM_SPLIT_ALIGN;
    *lo = a < len ? a : len;
    *n = (b < len ? b : len) - *lo;
}

// The operand's n elements as F32 in a new buffer: widened from BF16, or F32 rounded to bf16 values.
static float *f32_copy(const void *p, ditc_dtype dt, int64_t n) {
    float *o = ditc_xmalloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (dt == DITC_BF16) {
        const uint16_t *h = p;
#pragma omp parallel for schedule(static) if (n > 65536)
        for (int64_t i = 0; i < n; i++) o[i] = ditc_bf16_to_f32(h[i]);
    } else {
        const float *f = p;
#pragma omp parallel for schedule(static) if (n > 65536)
        for (int64_t i = 0; i < n; i++) o[i] = ditc_bf16_to_f32(ditc_f32_to_bf16(f[i]));
    }
    return o;
}

static void gemm_f32(const ditc_gemm *g);

// A and B as F32 (widened, or rounded to bf16 values at bf16 precision), into an F32 C.
static void gemm_operands(ditc_backend *be, const ditc_gemm *g) {
    int round = be->precision == DITC_PREC_BF16;
    if (!round && g->a_dtype == DITC_F32 && g->b_dtype == DITC_F32) return gemm_f32(g);
    ditc_gemm w = *g;
    float *a = NULL, *b = NULL;
    if (round || g->a_dtype == DITC_BF16) {
        w.a = a = f32_copy(g->a, g->a_dtype, ditc_gemm_span(g, 0));
        w.a_dtype = DITC_F32;
    }
    if (round || g->b_dtype == DITC_BF16) {
        w.b = b = f32_copy(g->b, g->b_dtype, ditc_gemm_span(g, 1));
        w.b_dtype = DITC_F32;
    }
    gemm_f32(&w);
    free(a);
    free(b);
}

// rows (m, n) at c (row stride ldc) = bias on every row
static void bias_rows(float *c, int64_t ldc, const float *bias, int64_t m, int64_t n) {
#pragma omp parallel for schedule(static) if (m * n > 65536)
    for (int64_t i = 0; i < m; i++) memcpy(c + i * ldc, bias, (size_t)n * sizeof(float));
}

static void gemm_dispatch(ditc_backend *be, const ditc_gemm *g);

// The GEMM w into an F32 product of mn elements: in `home` (C, or the GELU's aux output) when that is F32 (c32), else
// a temporary the caller frees
static float *gemm_f32_product(ditc_backend *be, ditc_gemm *w, void *home, int c32, int64_t mn) {
    float *f = c32 ? home : ditc_xmalloc((size_t)(mn > 0 ? mn : 1) * sizeof(float));
    w->c = f;
    w->c_dtype = DITC_F32;
    gemm_dispatch(be, w);
    return f;
}

// The GELU, GELU-gradient and bias-gradient epilogues (backend.h), as the separate passes they replace: the GEMM
// (+ bias) into an F32 result, then GELU from it (and the pre-activation rounded once for a BF16 C) — at F32 the old
// linear + GELU exactly; the GEMM into F32, then GELU's backward — at F32 the old dx GEMM + GELU backward exactly; the
// GEMM, then bias_bwd over A — the old bias gradient exactly.
static void gemm_epilogue(ditc_backend *be, const ditc_gemm *g) {
    ditc_gemm w = *g;
    w.gelu_aux = NULL;
    w.bias_grad = NULL;
    w.dgelu_aux = NULL;
    if (g->dgelu_aux) { // the GEMM into F32, then GELU's backward from it (the old dx GEMM + GELU backward at F32)
        DITC_CHECK(g->beta == 0.0f && g->ldc == g->n && g->batch == 1 && ditc_gemm_outer(g) == 1 && !g->bias &&
                       !g->gelu_aux && !g->bias_grad,
                   "CPU gemm: the GELU-gradient epilogue needs one dense matrix, beta 0, no other epilogue");
        int64_t mn = g->m * g->n;
        int c32 = g->c_dtype == DITC_F32; // (an F32 C holds the product, then its gradient: in place, per element)
        float *f = gemm_f32_product(be, &w, g->c, c32, mn);
        ditc_tensor ft = ditc_tensor_flat(f, DITC_F32, mn), dx = ditc_tensor_flat(g->c, g->c_dtype, mn),
                    pre = ditc_tensor_flat((void *)g->dgelu_aux, g->c_dtype, mn);
        cpu_unary_bwd(be, DITC_UN_GELU_TANH, &dx, &ft, &pre, 0);
        if (!c32) free(f);
        return;
    }
    if (g->bias_grad) {
        DITC_CHECK(g->trans_a && g->lda == g->m && !g->bias && !g->gelu_aux && g->batch == 1 && ditc_gemm_outer(g) == 1,
                   "CPU gemm: the bias-gradient epilogue needs one matrix, A (k, m) dense, no other epilogue");
        gemm_dispatch(be, &w);
        ditc_tensor db = ditc_tensor_flat(g->bias_grad, DITC_F32, g->m),
                    dy = ditc_tensor_flat((void *)g->a, g->a_dtype, g->k * g->m);
        cpu_bias_bwd(be, &db, &dy, 0);
        return;
    }
    DITC_CHECK(g->beta == 0.0f && g->ldc == g->n && g->batch == 1 && ditc_gemm_outer(g) == 1,
               "CPU gemm: the GELU epilogue needs one dense matrix, beta 0");
    int64_t mn = g->m * g->n;
    int c32 = g->c_dtype == DITC_F32;
    float *f = gemm_f32_product(be, &w, g->gelu_aux, c32, mn); // (its bias already rounded by cpu_gemm at bf16)
    ditc_tensor ft = ditc_tensor_flat(f, DITC_F32, mn), y = ditc_tensor_flat(g->c, g->c_dtype, mn),
                aux = ditc_tensor_flat(g->gelu_aux, g->c_dtype, mn);
    if (!c32) cpu_cast(be, &aux, &ft);
    cpu_unary_fwd(be, DITC_UN_GELU_TANH, &y, &ft);
    if (!c32) free(f);
}

void cpu_gemm(ditc_backend *be, const ditc_gemm *g) {
    float *b16 = NULL;
    ditc_gemm r;
    if (g->bias && (g->c_dtype == DITC_BF16 || be->precision == DITC_PREC_BF16)) { // the bias rounded (backend.h)
        b16 = ditc_xmalloc((size_t)(g->n ? g->n : 1) * sizeof(float));
        for (int64_t j = 0; j < g->n; j++) b16[j] = ditc_bf16_to_f32(ditc_f32_to_bf16(g->bias[j]));
        r = *g;
        r.bias = b16;
        g = &r;
    }
    gemm_dispatch(be, g);
    free(b16);
}

static void gemm_dispatch(ditc_backend *be, const ditc_gemm *g) {
    if (g->gelu_aux || g->bias_grad || g->dgelu_aux) return gemm_epilogue(be, g);
    DITC_CHECK((g->c_dtype == DITC_F32 || (g->c_dtype == DITC_BF16 && g->beta == 0.0f)) &&
                   (g->a_dtype == DITC_F32 || g->a_dtype == DITC_BF16) &&
                   (g->b_dtype == DITC_F32 || g->b_dtype == DITC_BF16),
               "CPU gemm: F32 or BF16 operands, F32 result or BF16 with beta 0");
    DITC_CHECK(!g->bias || (g->batch == 1 && ditc_gemm_outer(g) == 1 && g->beta == 0.0f),
               "CPU gemm: the bias epilogue needs batch 1, beta 0");
    if (g->m == 0 || g->n == 0 || g->batch == 0) return;
    if (ditc_gemm_outer(g) > 1) { // the outer batch: one strided batch after the other
        for (int64_t o = 0; o < g->batch2; o++) {
            ditc_gemm w = ditc_gemm_outer_slice(g, o);
            gemm_dispatch(be, &w);
        }
        return;
    }
    if (g->c_dtype == DITC_F32) {
        if (!g->bias) return gemm_operands(be, g);
        ditc_gemm w = *g; // C = bias, then C += A·B: the sums of a bias fill + beta-1 GEMM, element for element
        bias_rows(g->c, g->ldc, g->bias, g->m, g->n);
        w.beta = 1.0f;
        return gemm_operands(be, &w);
    }
    // BF16 C: the F32 result in a dense buffer (m, n) per matrix, rounded once into C
    int64_t mn = g->m * g->n;
    float *f = ditc_xmalloc((size_t)(mn * g->batch) * sizeof(float));
    ditc_gemm w = *g;
    w.c = f;
    w.ldc = g->n;
    w.stride_c = mn;
    w.c_dtype = DITC_F32;
    if (g->bias) {
        bias_rows(f, g->n, g->bias, g->m, g->n);
        w.beta = 1.0f;
    }
    gemm_operands(be, &w);
    uint16_t *c = g->c;
#pragma omp parallel for collapse(2) schedule(static) if (mn * g->batch > 65536)
    for (int64_t i = 0; i < g->batch; i++)
        for (int64_t r = 0; r < g->m; r++)
            for (int64_t j = 0; j < g->n; j++)
                c[i * g->stride_c + r * g->ldc + j] = ditc_f32_to_bf16(f[i * mn + r * g->n + j]);
    free(f);
}

static void gemm_f32(const ditc_gemm *g) {
    int nth = ditc_cpu_threads();
    int64_t macs = g->m * g->n * g->k;
#ifdef _OPENMP
    if (omp_in_parallel()) nth = 1;
#endif
    if (nth > 1 && g->batch >= nth) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < g->batch; i++) sgemm1(g, i, 0, g->m, 0, g->n);
        return;
    }
    int by_rows = g->m >= g->n;
    int64_t len = by_rows ? g->m : g->n;
    int nb = (int)((len + GEMM_SPLIT_ALIGN - 1) / GEMM_SPLIT_ALIGN);
    if (nb > nth) nb = nth;
    if (nb < 2 || macs < GEMM_SPLIT_MIN_MACS) {
        for (int64_t i = 0; i < g->batch; i++) sgemm1(g, i, 0, g->m, 0, g->n);
        return;
    }
    for (int64_t i = 0; i < g->batch; i++) {
#pragma omp parallel for schedule(static) num_threads(nb)
        for (int t = 0; t < nb; t++) {
            int64_t lo, n;
            block_range(len, t, nb, &lo, &n);
            if (n > 0) {
                if (by_rows) sgemm1(g, i, lo, n, 0, g->n);
                else sgemm1(g, i, 0, g->m, lo, n);
            }
        }
    }
}

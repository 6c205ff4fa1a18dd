// cuda_gemm.cu — the strided-batched row-major GEMM on cuBLAS (cublasGemmStridedBatchedEx).
//
// Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so cuBLAS gets (B, A) swapped with n and m
// swapped and the same leading dimensions. Precision (be->precision):
//   fp32: CUBLAS_COMPUTE_32F (true fp32 FMA);  tf32: CUBLAS_COMPUTE_32F_FAST_TF32 (tensor cores, fp32 I/O);
//   bf16: F32 operands are rounded to bf16 in scratch (same strides) and multiplied on tensor cores with fp32
//         accumulation. Operands that already are BF16 (written so by their producers) are used as they are.
//   A BF16 operand beside an F32 one at fp32/tf32 is widened to F32 (the CPU backend's exact arithmetic).
// C is F32, or BF16 (beta 0): written by cuBLAS directly from bf16 operands, else through an F32 temporary and
// one rounding kernel. The bias epilogue: cuBLASLt at tf32/bf16 (cuda_gemm_lt.cu); otherwise the bias is written into
// an F32 C first and the GEMM adds to it (beta 1, the CPU backend's order of sums), or added by the rounding kernel.
// The GELU, GELU-gradient and bias-gradient epilogues: cuBLASLt at tf32/bf16 (DITC_CUBLASLT=0: off), otherwise the
// passes they replace (epilogue_passes below, as the CPU backend's).
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.cuh"

// rows (m, n) of c (row stride ldc) = bias
__global__ void k_bias_rows(float *c, int64_t ldc, const float *bias, int64_t m, int64_t n) {
    GRID_LOOP(i, m * n) c[(i / n) * ldc + i % n] = bias[i % n];
}

// c (batch × (m, n), row stride ldc, batch stride sc) = bf16(f + bias), f dense (batch, m, n); bias (n) or NULL
__global__ void k_round_rows(__nv_bfloat16 *c, int64_t ldc, int64_t sc, const float *f, const float *bias, int64_t m,
                             int64_t n, int64_t total) {
    GRID_LOOP(i, total) {
        int64_t j = i % n, r = (i / n) % m, b = i / (m * n);
        c[b * sc + r * ldc + j] = __float2bfloat16_rn(bias ? f[i] + bias[j] : f[i]);
    }
}

// h = bias rounded to BF16, f = the same values as F32
__global__ void k_bias_round(float *f, __nv_bfloat16 *h, const float *bias, int64_t n) {
    GRID_LOOP(j, n) {
        h[j] = __float2bfloat16_rn(bias[j]);
        f[j] = __bfloat162float(h[j]);
    }
}

// matrix (o, i) of each operand: base + o·s2 + i·s (bytes), for cublasGemmBatchedEx
__global__ void k_batch_ptrs(const void **pa, const void **pb, void **pc, const char *a, const char *b, char *c,
                             int64_t sa, int64_t sb, int64_t sc, int64_t sa2, int64_t sb2, int64_t sc2, int64_t inner,
                             int64_t total) {
    GRID_LOOP(i, total) {
        int64_t o = i / inner, j = i % inner;
        pa[i] = a + o * sa2 + j * sa;
        pb[i] = b + o * sb2 + j * sb;
        pc[i] = c + o * sc2 + j * sc;
    }
}

static size_t tsize(cudaDataType_t t) { return t == CUDA_R_16BF ? 2 : 4; }

// The cuBLAS call: A, B (types at, bt) into C (type ctp, row stride ldc, batch stride sc); an outer batch (g->batch2,
// C at g->c with g's outer strides) goes through pointer arrays (cublasGemmBatchedEx), one call for every matrix.
static void blas_gemm(ditc_backend *be, const ditc_gemm *g, const void *a, cudaDataType_t at, const void *b,
                      cudaDataType_t bt, float beta, void *cp, cudaDataType_t ctp, int64_t ldc, int64_t sc,
                      cublasComputeType_t ct) {
    cuda_ctx *c = cctx(be);
    cublasOperation_t opa = g->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, opb = g->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    float alpha = g->alpha;
    int64_t outer = ditc_gemm_outer(g);
    if (outer > 1) {
        int64_t total = outer * g->batch;
        DITC_CHECK(total <= INT32_MAX, "cuda gemm: %lld matrices in one call", (long long)total);
        if (3 * total > c->ptrs_cap) {
            if (c->ptrs) CUDA_CHECK(cudaFreeAsync(c->ptrs, c->stream));
            c->ptrs_cap = 3 * total + 3 * total / 2;
            CUDA_CHECK(
                cudaMallocFromPoolAsync((void **)&c->ptrs, (size_t)c->ptrs_cap * sizeof(void *), c->pool, c->stream));
        }
        const void **pa = (const void **)c->ptrs, **pb = pa + total;
        void **pc = c->ptrs + 2 * total;
        size_t ea = tsize(at), eb = tsize(bt), ec = tsize(ctp);
        k_batch_ptrs<<<grid_for(total, 256), 256, 0, c->stream>>>(
            pa, pb, pc, (const char *)a, (const char *)b, (char *)cp, g->stride_a * (int64_t)ea,
            g->stride_b * (int64_t)eb, sc * (int64_t)ec, g->stride_a2 * (int64_t)ea, g->stride_b2 * (int64_t)eb,
            g->stride_c2 * (int64_t)ec, g->batch, total);
        CUDA_LAUNCHED();
        CUBLAS_CHECK(cublasGemmBatchedEx(c->blas, opb, opa, (int)g->n, (int)g->m, (int)g->k, &alpha, pb, bt,
                                         (int)g->ldb, pa, at, (int)g->lda, &beta, pc, ctp, (int)ldc, (int)total, ct,
                                         CUBLAS_GEMM_DEFAULT));
    } else if (g->batch == 1) {
        CUBLAS_CHECK(cublasGemmEx(c->blas, opb, opa, (int)g->n, (int)g->m, (int)g->k, &alpha, b, bt, (int)g->ldb, a, at,
                                  (int)g->lda, &beta, cp, ctp, (int)ldc, ct, CUBLAS_GEMM_DEFAULT));
    } else {
        CUBLAS_CHECK(cublasGemmStridedBatchedEx(c->blas, opb, opa, (int)g->n, (int)g->m, (int)g->k, &alpha, b, bt,
                                                (int)g->ldb, g->stride_b, a, at, (int)g->lda, g->stride_a, &beta, cp,
                                                ctp, (int)ldc, sc, (int)g->batch, ct, CUBLAS_GEMM_DEFAULT));
    }
}

static size_t align256(size_t n) { return (n + 255) / 256 * 256; }

// The bias (n) of a GEMM at bf16 precision or with a BF16 C rounded to BF16 (backend.h): returned as F32 values, and
// as BF16 in c->bias16 for cuBLASLt (whose BIAS epilogue takes a BF16 D's bias as BF16). Valid until the next call
// (stream-ordered).
static const float *bias_rounded(ditc_backend *be, const float *bias, int64_t n) {
    cuda_ctx *c = cctx(be);
    if (n > c->bias_round_cap) {
        if (c->bias_round) CUDA_CHECK(cudaFreeAsync(c->bias_round, c->stream));
        c->bias_round_cap = n;
        CUDA_CHECK(
            cudaMallocFromPoolAsync(&c->bias_round, align256((size_t)n * 4) + (size_t)n * 2, c->pool, c->stream));
        c->bias16 = (__nv_bfloat16 *)((char *)c->bias_round + align256((size_t)n * 4));
    }
    k_bias_round<<<grid_for(n, 256), 256, 0, c->stream>>>((float *)c->bias_round, c->bias16, bias, n);
    CUDA_LAUNCHED();
    return (const float *)c->bias_round;
}

// The GEMM w into an F32 product of mn elements: in `home` (C, or the GELU's aux output) when that is F32 (c32), else
// a stream-ordered temporary the caller frees (cudaFreeAsync)
static float *gemm_f32_product(ditc_backend *be, ditc_gemm *w, void *home, int c32, int64_t mn) {
    cuda_ctx *c = cctx(be);
    float *f = (float *)home;
    if (!c32) CUDA_CHECK(cudaMallocFromPoolAsync((void **)&f, (size_t)mn * sizeof(float), c->pool, c->stream));
    w->c = f;
    w->c_dtype = DITC_F32;
    cuda_gemm(be, w);
    return f;
}

// The GELU / GELU-gradient / bias-gradient epilogue of g without cuBLASLt: the GEMM (operands a, b as prepared by
// cuda_gemm) into F32, then GELU from it (the pre-activation rounded once for a BF16 C), or GELU's backward from it;
// or the GEMM, then bias_bwd over A.
static void epilogue_passes(ditc_backend *be, const ditc_gemm *g, const void *a, ditc_dtype adt, const void *b,
                            ditc_dtype bdt) {
    cuda_ctx *c = cctx(be);
    ditc_gemm w = *g;
    w.gelu_aux = NULL;
    w.bias_grad = NULL;
    w.dgelu_aux = NULL;
    w.a = a, w.a_dtype = adt, w.b = b, w.b_dtype = bdt; // (bf16 operands are not cast again)
    if (g->dgelu_aux) { // the GEMM into F32 (C itself, or a stream-ordered temporary for a BF16 C), then GELU's
        int64_t mn = g->m * g->n; // backward from it (in place for an F32 C: each element read, then written)
        int c32 = g->c_dtype == DITC_F32;
        float *f = gemm_f32_product(be, &w, g->c, c32, mn);
        ditc_tensor ft = ditc_tensor_flat(f, DITC_F32, mn), dx = ditc_tensor_flat(g->c, g->c_dtype, mn),
                    pre = ditc_tensor_flat((void *)g->dgelu_aux, g->c_dtype, mn);
        cuda_unary_bwd(be, DITC_UN_GELU_TANH, &dx, &ft, &pre, 0);
        if (!c32) CUDA_CHECK(cudaFreeAsync(f, c->stream));
        return;
    }
    if (g->bias_grad) {
        cuda_gemm(be, &w);
        ditc_tensor db = ditc_tensor_flat(g->bias_grad, DITC_F32, g->m),
                    dy = ditc_tensor_flat((void *)g->a, g->a_dtype, g->k * g->m);
        cuda_bias_bwd(be, &db, &dy, 0);
        return;
    }
    int64_t mn = g->m * g->n;
    int c32 = g->c_dtype == DITC_F32;
    float *f = gemm_f32_product(be, &w, g->gelu_aux, c32, mn);
    ditc_tensor ft = ditc_tensor_flat(f, DITC_F32, mn), y = ditc_tensor_flat(g->c, g->c_dtype, mn),
                aux = ditc_tensor_flat(g->gelu_aux, g->c_dtype, mn);
    if (!c32) cuda_cast(be, &aux, &ft);
    cuda_unary_fwd(be, DITC_UN_GELU_TANH, &y, &ft);
    if (!c32) CUDA_CHECK(cudaFreeAsync(f, c->stream));
}

extern "C" void cuda_gemm(ditc_backend *be, const ditc_gemm *g) {
    int cbf = g->c_dtype == DITC_BF16;
    ditc_gemm rb;
    // the bias rounded (backend.h), once: epilogue_passes' inner call gets the rounded copy itself
    if (g->bias && (cbf || be->precision == DITC_PREC_BF16) && g->m && g->n &&
        g->bias != (const float *)cctx(be)->bias_round) {
        rb = *g;
        rb.bias = bias_rounded(be, g->bias, g->n);
        g = &rb;
    }
    int64_t outer = ditc_gemm_outer(g);
    DITC_CHECK(g->c_dtype == DITC_F32 || (cbf && g->beta == 0.0f), "cuda gemm: C must be F32, or BF16 with beta 0");
    DITC_CHECK(!g->bias || (g->batch == 1 && outer == 1 && g->beta == 0.0f),
               "cuda gemm: the bias epilogue needs batch 1, beta 0");
    DITC_CHECK(!g->gelu_aux || (g->batch == 1 && outer == 1 && g->beta == 0.0f && g->ldc == g->n),
               "cuda gemm: the GELU epilogue needs one dense matrix, beta 0");
    DITC_CHECK(!g->bias_grad ||
                   (g->batch == 1 && outer == 1 && g->trans_a && g->lda == g->m && !g->bias && !g->gelu_aux),
               "cuda gemm: the bias-gradient epilogue needs one matrix, A (k, m) dense, no other epilogue");
    DITC_CHECK(!g->dgelu_aux || (g->batch == 1 && outer == 1 && g->beta == 0.0f && g->ldc == g->n && !g->bias &&
                                 !g->gelu_aux && !g->bias_grad),
               "cuda gemm: the GELU-gradient epilogue needs one dense matrix, beta 0, no other epilogue");
    if (g->n == 0 && g->bias_grad && g->m) { // (no dW to compute, still the bias gradient: as the CPU's passes)
        ditc_tensor db = ditc_tensor_flat(g->bias_grad, DITC_F32, g->m),
                    dy = ditc_tensor_flat((void *)g->a, g->a_dtype, g->k * g->m);
        cuda_bias_bwd(be, &db, &dy, 0);
    }
    if (g->m == 0 || g->n == 0 || g->batch == 0) return;
    if (outer > 1 && g->stride_a2 == g->batch * g->stride_a && g->stride_b2 == g->batch * g->stride_b &&
        g->stride_c2 == g->batch * g->stride_c) { // the outer batch continues the inner one: one strided batch
        ditc_gemm w = *g;
        w.batch = g->batch * outer;
        w.batch2 = 1;
        return cuda_gemm(be, &w);
    }
    static int no_ptr_arrays = -1; // DITC_GEMM_PTR_ARRAYS=0: an outer batch as one call per outer matrix set (A/B)
    ditc_env_off("DITC_GEMM_PTR_ARRAYS", &no_ptr_arrays);
    // bf16 precision: both operands become bf16 (cast below); mixed operand types at fp32 / tf32: the BF16 one is
    // widened to F32 (exact: the CPU backend's arithmetic; cuBLAS takes no mixed A/B types)
    int cast = be->precision == DITC_PREC_BF16, widen = !cast && g->a_dtype != g->b_dtype;
    if (outer > 1 && ((cbf && !cast) || no_ptr_arrays)) { // (BF16 C through the F32 temporary: the same)
        for (int64_t o = 0; o < outer; o++) {
            ditc_gemm w = ditc_gemm_outer_slice(g, o);
            cuda_gemm(be, &w);
        }
        return;
    }
    cuda_ctx *c = cctx(be);
    const void *a = g->a, *b = g->b;
    cudaDataType_t at = g->a_dtype == DITC_BF16 ? CUDA_R_16BF : CUDA_R_32F;
    cudaDataType_t bt = g->b_dtype == DITC_BF16 ? CUDA_R_16BF : CUDA_R_32F;
    cublasComputeType_t ct = CUBLAS_COMPUTE_32F;
    if (be->precision == DITC_PREC_TF32) ct = CUBLAS_COMPUTE_32F_FAST_TF32;
    int64_t na = cast && at == CUDA_R_32F ? ditc_gemm_span(g, 0) : 0;
    int64_t nb = cast && bt == CUDA_R_32F ? ditc_gemm_span(g, 1) : 0;
    size_t oa = 0, ob = align256((size_t)na * 2); // scratch: [bf16 A | bf16 B]
    char *s = na || nb ? (char *)cuda_scratch(be, ob + (size_t)nb * 2 + 256) : NULL;
    if (na) {
        cuda_cast_f32_bf16(be, (__nv_bfloat16 *)(s + oa), (const float *)a, na);
        a = s + oa;
        at = CUDA_R_16BF;
    }
    if (nb) {
        cuda_cast_f32_bf16(be, (__nv_bfloat16 *)(s + ob), (const float *)b, nb);
        b = s + ob;
        bt = CUDA_R_16BF;
    }
    if (widen) { // the BF16 operand as F32 in the scratch
        int wa = at == CUDA_R_16BF;
        int64_t n = ditc_gemm_span(g, wa ? 0 : 1);
        float *f = (float *)cuda_scratch(be, (size_t)n * sizeof(float));
        ditc_tensor src = ditc_tensor_flat((void *)(wa ? a : b), DITC_BF16, n), dst = ditc_tensor_flat(f, DITC_F32, n);
        cuda_cast(be, &dst, &src);
        if (wa) a = f, at = CUDA_R_32F;
        else b = f, bt = CUDA_R_32F;
    }
    if (cast || at == CUDA_R_16BF || bt == CUDA_R_16BF) ct = CUBLAS_COMPUTE_32F; // (bf16 operands: no TF32 compute)
    cudaDataType_t cty = cbf ? CUDA_R_16BF : CUDA_R_32F;
    int epi = g->bias || g->gelu_aux || g->bias_grad || g->dgelu_aux;
    if (epi && be->precision != DITC_PREC_FP32 && cuda_gemm_lt(be, g, a, at, b, bt, cty, ct)) return;
    if (g->gelu_aux || g->bias_grad || g->dgelu_aux)
        return epilogue_passes(be, g, a, at == CUDA_R_16BF ? DITC_BF16 : DITC_F32, b,
                               bt == CUDA_R_16BF ? DITC_BF16 : DITC_F32);
    if (cbf && cast && !g->bias) // bf16 operands → bf16 C in cuBLAS
        return blas_gemm(be, g, a, at, b, bt, 0.0f, g->c, CUDA_R_16BF, g->ldc, g->stride_c, ct);
    if (!cbf) {
        float beta = g->beta;
        if (g->bias) { // C = bias, then C += A·B
            k_bias_rows<<<grid_for(g->m * g->n, 256), 256, 0, c->stream>>>((float *)g->c, g->ldc, g->bias, g->m, g->n);
            CUDA_LAUNCHED();
            beta = 1.0f;
        }
        return blas_gemm(be, g, a, at, b, bt, beta, g->c, CUDA_R_32F, g->ldc, g->stride_c, ct);
    }
    // BF16 C otherwise: the F32 result in a stream-ordered temporary, then (+ bias) rounded once
    int64_t total = g->batch * g->m * g->n;
    float *f = NULL;
    CUDA_CHECK(cudaMallocFromPoolAsync((void **)&f, (size_t)total * sizeof(float), c->pool, c->stream));
    blas_gemm(be, g, a, at, b, bt, 0.0f, f, CUDA_R_32F, g->n, g->m * g->n, ct); // (outer 1 here)
    k_round_rows<<<grid_for(total, 256), 256, 0, c->stream>>>((__nv_bfloat16 *)g->c, g->ldc, g->stride_c, f, g->bias,
                                                              g->m, g->n, total);
    CUDA_LAUNCHED();
    CUDA_CHECK(cudaFreeAsync(f, c->stream));
}

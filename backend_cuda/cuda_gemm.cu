// cuda_gemm.cu — the strided-batched row-major GEMM on cuBLAS (cublasGemmStridedBatchedEx).
//
// Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so cuBLAS gets (B, A) swapped with n and m
// swapped and the same leading dimensions. Precision (be->precision):
//   fp32: CUBLAS_COMPUTE_32F (true fp32 FMA);  tf32: CUBLAS_COMPUTE_32F_FAST_TF32 (tensor cores, fp32 I/O);
//   bf16: F32 operands are rounded to bf16 in scratch (same strides) and multiplied on tensor cores with fp32
//         accumulation and an F32 result. Operands that already are BF16 are used as they are.
// C is always F32 here (the core keeps activations and gradients in F32).
#include "cuda_internal.cuh"

extern "C" void cuda_gemm(ditc_backend *be, const ditc_gemm *g) {
    DITC_CHECK(g->c_dtype == DITC_F32, "cuda gemm: C must be F32");
    if (g->m == 0 || g->n == 0 || g->batch == 0) return;
    cuda_ctx *c = cctx(be);
    const void *a = g->a, *b = g->b;
    cudaDataType_t at = g->a_dtype == DITC_BF16 ? CUDA_R_16BF : CUDA_R_32F;
    cudaDataType_t bt = g->b_dtype == DITC_BF16 ? CUDA_R_16BF : CUDA_R_32F;
    cublasComputeType_t ct = CUBLAS_COMPUTE_32F;
    if (be->precision == DITC_PREC_TF32) ct = CUBLAS_COMPUTE_32F_FAST_TF32;
    if (be->precision == DITC_PREC_BF16 || at != bt) {
        int64_t na = at == CUDA_R_32F ? ditc_gemm_span(g, 0) : 0;
        int64_t nb = bt == CUDA_R_32F ? ditc_gemm_span(g, 1) : 0;
        char *s = (char *)cuda_scratch(be, (size_t)(na + nb) * sizeof(__nv_bfloat16) + 512);
        if (na) {
            cuda_cast_f32_bf16(be, (__nv_bfloat16 *)s, (const float *)a, na);
            a = s;
            at = CUDA_R_16BF;
        }
        if (nb) {
            __nv_bfloat16 *sb = (__nv_bfloat16 *)(s + ((size_t)na * sizeof(__nv_bfloat16) + 255) / 256 * 256);
            cuda_cast_f32_bf16(be, sb, (const float *)b, nb);
            b = sb;
            bt = CUDA_R_16BF;
        }
        ct = CUBLAS_COMPUTE_32F;
    }
    cublasOperation_t opa = g->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, opb = g->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    float alpha = g->alpha, beta = g->beta;
    if (g->batch == 1) {
        CUBLAS_CHECK(cublasGemmEx(c->blas, opb, opa, (int)g->n, (int)g->m, (int)g->k, &alpha, b, bt, (int)g->ldb, a, at,
                                  (int)g->lda, &beta, g->c, CUDA_R_32F, (int)g->ldc, ct, CUBLAS_GEMM_DEFAULT));
    } else {
        CUBLAS_CHECK(cublasGemmStridedBatchedEx(c->blas, opb, opa, (int)g->n, (int)g->m, (int)g->k, &alpha, b, bt,
                                                (int)g->ldb, g->stride_b, a, at, (int)g->lda, g->stride_a, &beta, g->c,
                                                CUDA_R_32F, (int)g->ldc, g->stride_c, (int)g->batch, ct,
                                                CUBLAS_GEMM_DEFAULT));
    }
}

// cpu_gemm.c — strided-batched row-major GEMM on OpenBLAS sgemm (F32 only on the CPU).
#include <cblas.h>

#include "cpu_kernels.h"

void cpu_gemm(ditc_backend *be, const ditc_gemm *g) {
    (void)be;
    DITC_CHECK(g->a_dtype == DITC_F32 && g->b_dtype == DITC_F32 && g->c_dtype == DITC_F32,
               "CPU gemm computes in F32 only (cast BF16 operands first)");
    for (int64_t i = 0; i < g->batch; i++) {
        const float *a = (const float *)g->a + i * g->stride_a;
        const float *b = (const float *)g->b + i * g->stride_b;
        float *c = (float *)g->c + i * g->stride_c;
        cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans, g->trans_b ? CblasTrans : CblasNoTrans,
                    (int)g->m, (int)g->n, (int)g->k, g->alpha, a, (int)g->lda, b, (int)g->ldb, g->beta, c, (int)g->ldc);
    }
}

// cpu_sgemm_cols.c — row-major sgemm whose rounding does not depend on the thread count, for the VAE kernels.
//
// C (M, N) = alpha · op(A) (M, K) · op(B) (K, N) + beta · C is cut into fixed blocks of SGEMM_COLS columns of C
// (independent of the thread count); the blocks run in an OpenMP loop, each on single-threaded OpenBLAS. A
// multi-threaded OpenBLAS sgemm rounds differently at different thread counts; this one gives the same bits on
// any. openblas_set_num_threads also sets OpenMP's thread count (OpenMP OpenBLAS), so every loop that runs
// blocks on one OpenBLAS thread names its thread count with num_threads (without it the loop ran on one core).
#include <cblas.h>

#include "cpu_kernels.h"

#define SGEMM_COLS 256

void cpu_sgemm_cols(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                    const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    int64_t nb = (N + SGEMM_COLS - 1) / SGEMM_COLS;
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
#pragma omp parallel for schedule(dynamic, 1) num_threads(blas_threads)
    for (int64_t j = 0; j < nb; j++) {
        int64_t j0 = j * SGEMM_COLS, n = N - j0 < SGEMM_COLS ? N - j0 : SGEMM_COLS;
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M,
                    (int)n, (int)K, alpha, A, (int)lda, B + (trans_b ? j0 * ldb : j0), (int)ldb, beta, C + j0,
                    (int)ldc);
    }
    openblas_set_num_threads(blas_threads);
}

// The same column blocks on the calling thread (inside a parallel region; the caller has set OpenBLAS to one
// thread): the same bits as cpu_sgemm_cols.
void cpu_sgemm_cols_serial(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                           int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    for (int64_t j0 = 0; j0 < N; j0 += SGEMM_COLS) {
        int64_t n = N - j0 < SGEMM_COLS ? N - j0 : SGEMM_COLS;
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M,
                    (int)n, (int)K, alpha, A, (int)lda, B + (trans_b ? j0 * ldb : j0), (int)ldb, beta, C + j0,
                    (int)ldc);
    }
}

// fid_stats.c — batched float64 mean and covariance (fid_stats.h); the D×D update is one dsyrk per batch
// (OpenBLAS), the only O(D²·N) work.
#include "fid_stats.h"

#include <cblas.h>
#include <string.h>

#include "common.h"

void ditc_fid_acc_init(ditc_fid_acc *a, int d) {
    memset(a, 0, sizeof *a);
    a->d = d;
    a->shift = ditc_xcalloc((size_t)d, sizeof(double));
    a->sum = ditc_xcalloc((size_t)d, sizeof(double));
    a->sq = ditc_xcalloc((size_t)d * (size_t)d, sizeof(double));
}

void ditc_fid_acc_add(ditc_fid_acc *a, const float *feats, int64_t rows) {
    if (rows <= 0) return;
    int64_t D = a->d;
    if (a->n == 0) { // the shift: the first batch's mean
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < D; j++) a->shift[j] += feats[r * D + j];
        for (int64_t j = 0; j < D; j++) a->shift[j] /= (double)rows;
    }
    if (rows > a->tmp_rows) {
        a->tmp = ditc_xrealloc(a->tmp, (size_t)(rows * D) * sizeof(double));
        a->tmp_rows = rows;
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < D; j++) {
            double v = (double)feats[r * D + j] - a->shift[j];
            a->tmp[r * D + j] = v;
            a->sum[j] += v;
        }
    // sq (lower) += tmpᵀ tmp
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)D, (int)rows, 1.0, a->tmp, (int)D, 1.0, a->sq, (int)D);
    a->n += rows;
}

void ditc_fid_acc_finish(const ditc_fid_acc *a, double *mu, double *sigma) {
    DITC_CHECK(a->n >= 2, "statistics of %lld samples", (long long)a->n);
    int64_t D = a->d;
    double n = (double)a->n;
    for (int64_t j = 0; j < D; j++) mu[j] = a->sum[j] / n;
    for (int64_t i = 0; i < D; i++)
        for (int64_t j = 0; j <= i; j++) {
            double v = (a->sq[i * D + j] - n * mu[i] * mu[j]) / (n - 1.0);
            sigma[i * D + j] = v, sigma[j * D + i] = v;
        }
    for (int64_t j = 0; j < D; j++) mu[j] += a->shift[j];
}

void ditc_fid_acc_free(ditc_fid_acc *a) {
    free(a->shift), free(a->sum), free(a->sq), free(a->tmp);
    memset(a, 0, sizeof *a);
}

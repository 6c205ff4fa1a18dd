// frechet.c — tr(sqrtm(A·B)) via two symmetric eigendecompositions and the Fréchet distance (frechet.h).
// LAPACK comes with OpenBLAS; dsyevd_ is declared here (Fortran calling convention, hidden string lengths last).
#include "frechet.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
             const int *lwork, int *iwork, const int *liwork, int *info, size_t jobz_len, size_t uplo_len);

// Eigenvalues w (ascending) and, if vectors, eigenvectors (columns of the column-major = rows of the row-major a).
static int syevd(int n, double *a, double *w, int vectors) {
    const char jobz = vectors ? 'V' : 'N', uplo = 'L';
    int lwork = -1, liwork = -1, info = 0, iw;
    double wq;
    dsyevd_(&jobz, &uplo, &n, a, &n, w, &wq, &lwork, &iw, &liwork, &info, 1, 1);
    if (info) return info;
    lwork = (int)wq + 1, liwork = iw + 1;
    double *work = ditc_xmalloc((size_t)lwork * sizeof(double));
    int *iwork = ditc_xmalloc((size_t)liwork * sizeof(int));
    dsyevd_(&jobz, &uplo, &n, a, &n, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    free(work), free(iwork);
    return info;
}

int ditc_trace_sqrt_product(int d, const double *a, const double *b, double *trace, double *min_eig, ditc_status *st) {
    size_t dd = (size_t)d * (size_t)d;
    double *v = ditc_xmalloc(dd * sizeof(double)), *w = ditc_xmalloc((size_t)d * sizeof(double));
    double *r = ditc_xmalloc(dd * sizeof(double)), *s = ditc_xmalloc(dd * sizeof(double));
    memcpy(v, a, dd * sizeof(double));
    // a is symmetric, so its row-major and column-major forms agree; after the call column k of the
    // column-major v (= row k of the row-major array) is eigenvector k.
    int info = syevd(d, v, w, 1);
    if (info) {
        free(v), free(w), free(r), free(s);
        return ditc_fail(st, DITC_ERR_FORMAT, "eigendecomposition of sigma1 failed (LAPACK dsyevd info %d)", info);
    }
    // a^½ = Σ_k √max(λ_k, 0) e_k e_kᵀ = Eᵀ diag(√λ) E with E (d, d) rows = eigenvectors: r = diag(√λ)·E
    for (int k = 0; k < d; k++) {
        double sq = w[k] > 0 ? sqrt(w[k]) : 0.0;
        for (int j = 0; j < d; j++) r[(size_t)k * d + j] = sq * v[(size_t)k * d + j];
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, d, 1.0, v, d, r, d, 0.0, s, d);   // s = a^½
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, s, d, b, d, 0.0, r, d); // r = a^½ b
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, r, d, s, d, 0.0, v, d); // v = a^½ b a^½
    for (int i = 0; i < d; i++) // symmetrise the rounding
        for (int j = 0; j < i; j++) {
            double m = 0.5 * (v[(size_t)i * d + j] + v[(size_t)j * d + i]);
            v[(size_t)i * d + j] = v[(size_t)j * d + i] = m;
        }
    info = syevd(d, v, w, 0);
    if (info) {
        free(v), free(w), free(r), free(s);
        return ditc_fail(st, DITC_ERR_FORMAT, "eigendecomposition of the covariance product failed (dsyevd info %d)",
                         info);
    }
    double t = 0.0, mn = d ? w[0] : 0.0;
    for (int k = 0; k < d; k++) {
        if (w[k] > 0) t += sqrt(w[k]);
        if (w[k] < mn) mn = w[k];
    }
    *trace = t;
    if (min_eig) *min_eig = mn;
    free(v), free(w), free(r), free(s);
    return 0;
}

int ditc_frechet_distance(int d, const double *mu1, const double *sigma1, const double *mu2, const double *sigma2,
                          double eps, double *fid, ditc_status *st) {
    double diff = 0.0, tr1 = 0.0, tr2 = 0.0, trc, mn;
    for (int i = 0; i < d; i++) {
        double x = mu1[i] - mu2[i];
        diff += x * x;
        tr1 += sigma1[(size_t)i * d + i];
        tr2 += sigma2[(size_t)i * d + i];
    }
    int rc = ditc_trace_sqrt_product(d, sigma1, sigma2, &trc, &mn, st);
    if (rc) return rc;
    if (!isfinite(trc)) { // pytorch-fid: "fid calculation produces singular product; adding eps to diagonal"
        size_t dd = (size_t)d * (size_t)d;
        double *a = ditc_xmalloc(dd * sizeof(double)), *b = ditc_xmalloc(dd * sizeof(double));
        memcpy(a, sigma1, dd * sizeof(double)), memcpy(b, sigma2, dd * sizeof(double));
        for (int i = 0; i < d; i++) a[(size_t)i * d + i] += eps, b[(size_t)i * d + i] += eps;
        fprintf(stderr, "fid calculation produces singular product; adding %g to diagonal of cov estimates\n", eps);
        rc = ditc_trace_sqrt_product(d, a, b, &trc, &mn, st);
        free(a), free(b);
        if (rc) return rc;
    }
    if (mn < 0 && sqrt(-mn) > 1e-3)
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "Imaginary component %g (the covariance product is not positive "
                         "semi-definite: are the statistics valid covariances?)",
                         sqrt(-mn));
    *fid = diff + tr1 + tr2 - 2.0 * trc;
    return 0;
}

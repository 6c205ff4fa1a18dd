// fid_stats.h — the statistics of a feature set as pytorch-fid computes them (mu = mean(acts, 0), sigma =
// np.cov(acts, rowvar=False): float64, N − 1 denominator), accumulated batch by batch so memory is O(D²), not
// O(N·D): sums of (x − s) and (x − s)(x − s)ᵀ in float64 about a shift s (the first batch's mean, which keeps
// the one-pass covariance free of cancellation), sigma = (Q − n·m mᵀ)/(n − 1), mu = s + m.
#ifndef DITC_FID_STATS_H
#define DITC_FID_STATS_H

#include <stdint.h>

typedef struct {
    int d;
    int64_t n;
    double *shift, *sum, *sq; // (D), (D), (D, D) (lower triangle until finished)
    double *tmp;              // (rows, D) batch in double
    int64_t tmp_rows;
} ditc_fid_acc;

void ditc_fid_acc_init(ditc_fid_acc *a, int d);
// feats (rows, D) float32, row-major.
void ditc_fid_acc_add(ditc_fid_acc *a, const float *feats, int64_t rows);
// mu (D), sigma (D, D) of the n rows added (n >= 2: internal invariant; the caller checks the count).
void ditc_fid_acc_finish(const ditc_fid_acc *a, double *mu, double *sigma);
void ditc_fid_acc_free(ditc_fid_acc *a);

#endif

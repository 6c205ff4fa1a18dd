// frechet.h — the Fréchet distance of pytorch-fid's calculate_frechet_distance, in float64:
//   ‖mu1 − mu2‖² + tr(sigma1) + tr(sigma2) − 2 tr(sqrtm(sigma1·sigma2)),
// with tr(sqrtm(sigma1·sigma2)) = Σᵢ √λᵢ over the eigenvalues of the symmetric S = sigma1^½ sigma2 sigma1^½
// (LAPACK dsyevd twice: sigma1 = V Λ Vᵀ, sigma1^½ = V Λ^½ Vᵀ, then the eigenvalues of S). The same value as
// scipy's sqrtm of the product for covariance matrices, without its complex Schur form. pytorch-fid's rules are
// kept: a non-finite result retries with eps·I added to both covariances; tiny negative eigenvalues (rounding)
// are the real part 0 of their imaginary root, and an imaginary part above 1e-3 is an error as in pytorch-fid.
#ifndef DITC_FRECHET_H
#define DITC_FRECHET_H

#include "common.h"

// mu (D), sigma (D, D) symmetric. *fid set on success; errors (imaginary component, LAPACK failure) in st.
int ditc_frechet_distance(int d, const double *mu1, const double *sigma1, const double *mu2, const double *sigma2,
                          double eps, double *fid, ditc_status *st);
// tr(sqrtm(a·b)) alone (the part above), for tests; *min_eig receives the smallest eigenvalue of S.
int ditc_trace_sqrt_product(int d, const double *a, const double *b, double *trace, double *min_eig, ditc_status *st);

#endif

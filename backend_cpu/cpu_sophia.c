// cpu_sophia.c — SophiaG (Liuhong99/Sophia `_single_tensor_sophiag`, rho/bs version) fused with the EMA update,
// and the Hessian EMA update from a Gauss-Newton-Bartlett gradient. Flat F32 buffers, elementwise, so the
// results do not depend on the thread count.
#include <math.h>

#include "cpu_kernels.h"

// One element in torch's order: param.mul_(1 − lr·wd); exp_avg.mul_(β1).add_(g, alpha=1 − β1);
// ratio = (|exp_avg| / (rho·bs·h + 1e-15)).clamp(max=1); param.addcmul_(sign(exp_avg), ratio, value=−lr).
// The clamp is written so that a NaN ratio stays NaN (as torch.clamp), and sign(0) = 0.
#define SOPHIA_ELEMENT(i)                                                                                              \
    float pi = p[i] * a.decay;                                                                                         \
    float mi = m[i] * a.beta1 + a.one_minus_beta1 * g[i];                                                              \
    float ri = fabsf(mi) / (a.rho_bs * h[i] + 1e-15f);                                                                 \
    ri = ri > 1.0f ? 1.0f : ri;                                                                                        \
    float si = (float)((mi > 0.0f) - (mi < 0.0f));                                                                     \
    pi = pi + a.neg_lr * si * ri;                                                                                      \
    m[i] = mi;                                                                                                         \
    p[i] = pi

void cpu_sophia(ditc_backend *be, float *p, const float *g, float *m, const float *h, float *ema, size_t n,
                ditc_sophia_args a) {
    (void)be;
    if (ema) {
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) {
            SOPHIA_ELEMENT(i);
            ema[i] = ema[i] * a.ema_decay + a.one_minus_ema_decay * pi;
        }
    } else {
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) { SOPHIA_ELEMENT(i); }
    }
}

// hessian.mul_(β2).addcmul_(g, g, value=1 − β2)
void cpu_sophia_hessian(ditc_backend *be, float *h, const float *g, size_t n, float beta2, float one_minus_beta2) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) h[i] = h[i] * beta2 + one_minus_beta2 * g[i] * g[i];
}

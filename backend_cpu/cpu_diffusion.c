// cpu_diffusion.c — Gaussian diffusion kernels: q_sample, the hybrid loss (mse + vb) forward/backward,
// classifier-free guidance and the DDPM / DDIM reverse steps. Float32 arithmetic in the reference's order.
#include <math.h>

#include "cpu_kernels.h"

#define LN2F  0.6931471805599453f
#define CDF_K 0.7978845608028654f // √(2/π)

void cpu_q_sample(ditc_backend *be, ditc_tensor *xt, const ditc_tensor *x0, const ditc_tensor *noise,
                  const ditc_tensor *coef) {
    (void)be;
    int64_t B = x0->shape[0], M = x0->numel / B;
    const float *x = CF32(x0), *n = CF32(noise), *cf = CF32(coef);
    float *o = F32(xt);
#pragma omp parallel for schedule(static) if (B * M > 32768)
    for (int64_t b = 0; b < B; b++) {
        float a = cf[b * DITC_DIFF_NCOEF + DITC_DC_SQRT_AC], s = cf[b * DITC_DIFF_NCOEF + DITC_DC_SQRT_1M_AC];
        for (int64_t i = b * M; i < (b + 1) * M; i++) o[i] = a * x[i] + s * n[i];
    }
}

// Φ(z) ≈ 0.5·(1 + tanh(√(2/π)·(z + 0.044715·z³))) and its derivative.
static inline float cdf(float z) { return 0.5f * (1.0f + tanhf(CDF_K * (z + 0.044715f * z * z * z))); }
static inline float cdf_d(float z) {
    float th = tanhf(CDF_K * (z + 0.044715f * z * z * z));
    return 0.5f * (1.0f - th * th) * CDF_K * (1.0f + 3.0f * 0.044715f * z * z);
}

// Model mean μ and log-variance of one element (the learned-range interpolation).
static inline void model_mean_logvar(const float *cf, float xt, float eps, float v, float *mean, float *lv) {
    float pred_x0 = cf[DITC_DC_SQRT_RECIP_AC] * xt - cf[DITC_DC_SQRT_RECIPM1_AC] * eps;
    *mean = cf[DITC_DC_COEF1] * pred_x0 + cf[DITC_DC_COEF2] * xt;
    float frac = (v + 1.0f) / 2.0f;
    *lv = frac * cf[DITC_DC_LOG_BETA] + (1.0f - frac) * cf[DITC_DC_POST_LOGVAR];
}

// Discretized Gaussian log-likelihood of x0 under N(mean, exp(lv)) and d/d(log-scale) (log-scale = lv/2).
static inline float decoder_logp(float x0, float mean, float lv, float *dlogp_dls) {
    float ls = 0.5f * lv, centered = x0 - mean, inv = expf(-ls);
    float zp = inv * (centered + 1.0f / 255.0f), zm = inv * (centered - 1.0f / 255.0f);
    float cp = cdf(zp), cm = cdf(zm);
    float logp, d;
    if (x0 < -0.999f) {
        logp = logf(fmaxf(cp, 1e-12f));
        d = cp >= 1e-12f ? cdf_d(zp) * -zp / cp : 0.0f;
    } else if (x0 > 0.999f) {
        float om = 1.0f - cm;
        logp = logf(fmaxf(om, 1e-12f));
        d = om >= 1e-12f ? cdf_d(zm) * zm / om : 0.0f;
    } else {
        float delta = cp - cm;
        logp = logf(fmaxf(delta, 1e-12f));
        d = delta >= 1e-12f ? (cdf_d(zp) * -zp - cdf_d(zm) * -zm) / delta : 0.0f;
    }
    if (dlogp_dls) *dlogp_dls = d;
    return logp;
}

void cpu_diff_loss_fwd(ditc_backend *be, ditc_tensor *mse, ditc_tensor *vb, ditc_tensor *loss, const ditc_tensor *out,
                       const ditc_tensor *x0, const ditc_tensor *xt, const ditc_tensor *noise,
                       const ditc_tensor *coef) {
    (void)be;
    int64_t B = x0->shape[0], M = x0->numel / B;
    const float *o = CF32(out), *x = CF32(x0), *xtd = CF32(xt), *n = CF32(noise), *cfa = CF32(coef);
    float *ms = F32(mse), *vbs = F32(vb), *ls = F32(loss);
#pragma omp parallel for schedule(static) if (B * M > 4096)
    for (int64_t b = 0; b < B; b++) {
        const float *cf = cfa + b * DITC_DIFF_NCOEF, *eps = o + b * 2 * M, *v = eps + M;
        int t0 = cf[DITC_DC_IS_T0] != 0.0f;
        float lv1 = cf[DITC_DC_POST_LOGVAR];
        double se = 0.0, sv = 0.0;
        for (int64_t i = 0; i < M; i++) {
            int64_t k = b * M + i;
            float d = n[k] - eps[i];
            se += (double)(d * d);
            float mean, lv;
            model_mean_logvar(cf, xtd[k], eps[i], v[i], &mean, &lv);
            if (t0) {
                sv += (double)-decoder_logp(x[k], mean, lv, NULL);
            } else {
                float true_mean = cf[DITC_DC_COEF1] * x[k] + cf[DITC_DC_COEF2] * xtd[k], dm = true_mean - mean;
                sv += (double)(0.5f * (-1.0f + lv - lv1 + expf(lv1 - lv) + dm * dm * expf(-lv)));
            }
        }
        ms[b] = (float)(se / (double)M);
        vbs[b] = (float)(sv / (double)M) / LN2F;
        ls[b] = ms[b] + vbs[b];
    }
}

void cpu_diff_loss_bwd(ditc_backend *be, ditc_tensor *dout, const ditc_tensor *dloss, const ditc_tensor *out,
                       const ditc_tensor *x0, const ditc_tensor *xt, const ditc_tensor *noise, const ditc_tensor *coef,
                       int acc) {
    (void)be;
    int64_t B = x0->shape[0], M = x0->numel / B;
    const float *o = CF32(out), *x = CF32(x0), *xtd = CF32(xt), *n = CF32(noise), *cfa = CF32(coef), *gl = CF32(dloss);
    float *g = F32(dout);
#pragma omp parallel for schedule(static) if (B * M > 4096)
    for (int64_t b = 0; b < B; b++) {
        const float *cf = cfa + b * DITC_DIFF_NCOEF, *eps = o + b * 2 * M, *v = eps + M;
        float *geps = g + b * 2 * M, *gv = geps + M;
        int t0 = cf[DITC_DC_IS_T0] != 0.0f;
        float lv1 = cf[DITC_DC_POST_LOGVAR];
        float k_mse = gl[b] * 2.0f / (float)M, k_vb = gl[b] / ((float)M * LN2F);
        float dlv_dv = 0.5f * (cf[DITC_DC_LOG_BETA] - cf[DITC_DC_POST_LOGVAR]);
        for (int64_t i = 0; i < M; i++) {
            int64_t k = b * M + i;
            float de = k_mse * (eps[i] - n[k]);
            float mean, lv, dvb_dlv;
            model_mean_logvar(cf, xtd[k], eps[i], v[i], &mean, &lv);
            if (t0) {
                float dlogp_dls;
                decoder_logp(x[k], mean, lv, &dlogp_dls);
                dvb_dlv = -0.5f * dlogp_dls; // nll = −log p, log-scale = lv / 2
            } else {
                float true_mean = cf[DITC_DC_COEF1] * x[k] + cf[DITC_DC_COEF2] * xtd[k], dm = true_mean - mean;
                dvb_dlv = 0.5f * (1.0f - expf(lv1 - lv) - dm * dm * expf(-lv));
            }
            float dv = k_vb * dvb_dlv * dlv_dv;
            geps[i] = acc ? geps[i] + de : de;
            gv[i] = acc ? gv[i] + dv : dv;
        }
    }
}

void cpu_cfg_combine(ditc_backend *be, ditc_tensor *out, float scale, int guided) {
    (void)be;
    int64_t N = out->shape[0] / 2, CH = out->shape[1], HW = out->shape[2] * out->shape[3];
    float *o = F32(out);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t ch = 0; ch < guided && ch < CH; ch++) {
            float *cond = o + (n * CH + ch) * HW;
            const float *unc = o + ((n + N) * CH + ch) * HW;
            for (int64_t i = 0; i < HW; i++) cond[i] = unc[i] + scale * (cond[i] - unc[i]);
        }
}

void cpu_diff_step(ditc_backend *be, ditc_tensor *x, const ditc_tensor *out, const ditc_tensor *noise,
                   ditc_diff_coefs coef, int ddim) {
    (void)be;
    int64_t N = x->shape[0], M = x->numel / N;
    const float *o = CF32(out), *z = noise ? CF32(noise) : NULL, *cf = coef.c;
    float *xd = F32(x);
    float ab = cf[DITC_DC_AC], abp = cf[DITC_DC_AC_PREV];
    float sq_abp = sqrtf(abp), sq_rest = sqrtf(1.0f - abp); // DDIM with η = 0 (σ = 0)
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < M; i++) {
            int64_t k = n * M + i;
            float eps = o[n * 2 * M + i], v = o[n * 2 * M + M + i], xt = xd[k], mean, lv;
            if (ddim) {
                float pred_x0 = cf[DITC_DC_SQRT_RECIP_AC] * xt - cf[DITC_DC_SQRT_RECIPM1_AC] * eps;
                float e = (cf[DITC_DC_SQRT_RECIP_AC] * xt - pred_x0) / cf[DITC_DC_SQRT_RECIPM1_AC];
                xd[k] = pred_x0 * sq_abp + sq_rest * e;
                (void)ab;
            } else {
                model_mean_logvar(cf, xt, eps, v, &mean, &lv);
                xd[k] = z ? mean + expf(0.5f * lv) * z[k] : mean;
            }
        }
}

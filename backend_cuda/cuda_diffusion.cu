// cuda_diffusion.cu — Gaussian diffusion on the device: q_sample, the hybrid loss (mse + vb, one block per
// sample with fixed-order double reductions like the CPU backend), its backward, classifier-free guidance and
// the DDPM / DDIM reverse steps. Same float expressions as backend_cpu/cpu_diffusion.c.
#include "cuda_internal.cuh"

#define TPB   256
#define LN2F  0.6931471805599453f
#define CDF_K 0.7978845608028654f

__global__ void k_q_sample(float *o, const float *x, const float *n, const float *cf, int64_t M, int64_t total) {
    GRID_LOOP(i, total) {
        const float *c = cf + (i / M) * DITC_DIFF_NCOEF;
        o[i] = c[DITC_DC_SQRT_AC] * x[i] + c[DITC_DC_SQRT_1M_AC] * n[i];
    }
}

extern "C" void cuda_q_sample(ditc_backend *be, ditc_tensor *xt, const ditc_tensor *x0, const ditc_tensor *noise,
                              const ditc_tensor *coef) {
    int64_t B = x0->shape[0], M = x0->numel / B;
    if (!x0->numel) return;
    k_q_sample<<<grid_for(B * M, TPB), TPB, 0, cstream(be)>>>(F32P(xt), CF32P(x0), CF32P(noise), CF32P(coef), M, B * M);
    CUDA_LAUNCHED();
}

__device__ __forceinline__ float cdf(float z) { return 0.5f * (1.0f + tanhf(CDF_K * (z + 0.044715f * z * z * z))); }
__device__ __forceinline__ float cdf_d(float z) {
    float th = tanhf(CDF_K * (z + 0.044715f * z * z * z));
    return 0.5f * (1.0f - th * th) * CDF_K * (1.0f + 3.0f * 0.044715f * z * z);
}
__device__ __forceinline__ void model_mean_logvar(const float *cf, float xt, float eps, float v, float *mean,
                                                  float *lv) {
    float pred_x0 = cf[DITC_DC_SQRT_RECIP_AC] * xt - cf[DITC_DC_SQRT_RECIPM1_AC] * eps;
    *mean = cf[DITC_DC_COEF1] * pred_x0 + cf[DITC_DC_COEF2] * xt;
    float frac = (v + 1.0f) / 2.0f;
    *lv = frac * cf[DITC_DC_LOG_BETA] + (1.0f - frac) * cf[DITC_DC_POST_LOGVAR];
}
__device__ __forceinline__ float decoder_logp(float x0, float mean, float lv, float *dlogp_dls) {
    float ls = 0.5f * lv, centered = x0 - mean, inv = expf(-ls);
    float zp = inv * (centered + 1.0f / 255.0f), zm = inv * (centered - 1.0f / 255.0f);
    float cp = cdf(zp), cm = cdf(zm), logp, d;
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

// One block per sample b: out (B, 2C, H, W) = [eps | v], M = C·H·W.
__global__ void k_diff_loss_fwd(float *ms, float *vbs, float *ls, const float *o, const float *x, const float *xtd,
                                const float *n, const float *cfa, int64_t M) {
    __shared__ double sh[32];
    int64_t b = blockIdx.x;
    const float *cf = cfa + b * DITC_DIFF_NCOEF, *eps = o + b * 2 * M, *v = eps + M;
    int t0 = cf[DITC_DC_IS_T0] != 0.0f;
    float lv1 = cf[DITC_DC_POST_LOGVAR];
    double se = 0.0, sv = 0.0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
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
    se = block_sum_d(se, sh);
    sv = block_sum_d(sv, sh);
    if (threadIdx.x == 0) {
        float m = (float)(se / (double)M), vb = (float)(sv / (double)M) / LN2F;
        ms[b] = m;
        vbs[b] = vb;
        ls[b] = m + vb;
    }
}

extern "C" void cuda_diff_loss_fwd(ditc_backend *be, ditc_tensor *mse, ditc_tensor *vb, ditc_tensor *loss,
                                   const ditc_tensor *out, const ditc_tensor *x0, const ditc_tensor *xt,
                                   const ditc_tensor *noise, const ditc_tensor *coef) {
    int64_t B = x0->shape[0], M = x0->numel / B;
    if (!B) return;
    k_diff_loss_fwd<<<(unsigned)B, TPB, 0, cstream(be)>>>(F32P(mse), F32P(vb), F32P(loss), CF32P(out), CF32P(x0),
                                                          CF32P(xt), CF32P(noise), CF32P(coef), M);
    CUDA_LAUNCHED();
}

__global__ void k_diff_loss_bwd(float *g, const float *gl, const float *o, const float *x, const float *xtd,
                                const float *n, const float *cfa, int64_t M, int64_t total, int acc) {
    GRID_LOOP(q, total) { // q over (b, i)
        int64_t b = q / M, i = q % M, k = q;
        const float *cf = cfa + b * DITC_DIFF_NCOEF, *eps = o + b * 2 * M, *v = eps + M;
        float *geps = g + b * 2 * M, *gv = geps + M;
        int t0 = cf[DITC_DC_IS_T0] != 0.0f;
        float lv1 = cf[DITC_DC_POST_LOGVAR];
        float k_mse = gl[b] * 2.0f / (float)M, k_vb = gl[b] / ((float)M * LN2F);
        float dlv_dv = 0.5f * (cf[DITC_DC_LOG_BETA] - cf[DITC_DC_POST_LOGVAR]);
        float de = k_mse * (eps[i] - n[k]), mean, lv, dvb_dlv;
        model_mean_logvar(cf, xtd[k], eps[i], v[i], &mean, &lv);
        if (t0) {
            float dlogp_dls;
            decoder_logp(x[k], mean, lv, &dlogp_dls);
            dvb_dlv = -0.5f * dlogp_dls;
        } else {
            float true_mean = cf[DITC_DC_COEF1] * x[k] + cf[DITC_DC_COEF2] * xtd[k], dm = true_mean - mean;
            dvb_dlv = 0.5f * (1.0f - expf(lv1 - lv) - dm * dm * expf(-lv));
        }
        float dv = k_vb * dvb_dlv * dlv_dv;
        geps[i] = acc_store(geps[i], de, acc);
        gv[i] = acc_store(gv[i], dv, acc);
    }
}

extern "C" void cuda_diff_loss_bwd(ditc_backend *be, ditc_tensor *dout, const ditc_tensor *dloss,
                                   const ditc_tensor *out, const ditc_tensor *x0, const ditc_tensor *xt,
                                   const ditc_tensor *noise, const ditc_tensor *coef, int acc) {
    int64_t B = x0->shape[0], M = x0->numel / B;
    if (!x0->numel) return;
    k_diff_loss_bwd<<<grid_for(B * M, TPB), TPB, 0, cstream(be)>>>(F32P(dout), CF32P(dloss), CF32P(out), CF32P(x0),
                                                                   CF32P(xt), CF32P(noise), CF32P(coef), M, B * M, acc);
    CUDA_LAUNCHED();
}

__global__ void k_cfg(float *o, float scale, int64_t N, int64_t CH, int64_t HW, int64_t guided, int64_t total) {
    GRID_LOOP(q, total) { // q over (n, ch < guided, i)
        int64_t i = q % HW, ch = (q / HW) % guided, n = q / (HW * guided);
        float *cond = o + (n * CH + ch) * HW;
        const float *unc = o + ((n + N) * CH + ch) * HW;
        cond[i] = unc[i] + scale * (cond[i] - unc[i]);
    }
}

extern "C" void cuda_cfg_combine(ditc_backend *be, ditc_tensor *out, float scale, int guided) {
    int64_t N = out->shape[0] / 2, CH = out->shape[1], HW = out->shape[2] * out->shape[3];
    int64_t g = guided < CH ? guided : CH, total = N * g * HW;
    if (total <= 0) return;
    k_cfg<<<grid_for(total, TPB), TPB, 0, cstream(be)>>>(F32P(out), scale, N, CH, HW, g, total);
    CUDA_LAUNCHED();
}

__global__ void k_diff_step(float *xd, const float *o, const float *z, ditc_diff_coefs coef, int ddim, int64_t M,
                            int64_t total, float sq_abp, float sq_rest) {
    const float *cf = coef.c;
    GRID_LOOP(k, total) {
        int64_t nn = k / M, i = k % M;
        float eps = o[nn * 2 * M + i], v = o[nn * 2 * M + M + i], xt = xd[k], mean, lv;
        if (ddim) {
            float pred_x0 = cf[DITC_DC_SQRT_RECIP_AC] * xt - cf[DITC_DC_SQRT_RECIPM1_AC] * eps;
            float e = (cf[DITC_DC_SQRT_RECIP_AC] * xt - pred_x0) / cf[DITC_DC_SQRT_RECIPM1_AC];
            xd[k] = pred_x0 * sq_abp + sq_rest * e;
        } else {
            model_mean_logvar(cf, xt, eps, v, &mean, &lv);
            xd[k] = z ? mean + expf(0.5f * lv) * z[k] : mean;
        }
    }
}

extern "C" void cuda_diff_step(ditc_backend *be, ditc_tensor *x, const ditc_tensor *out, const ditc_tensor *noise,
                               ditc_diff_coefs coef, int ddim) {
    int64_t N = x->shape[0], M = x->numel / N;
    if (!x->numel) return;
    float abp = coef.c[DITC_DC_AC_PREV];
    k_diff_step<<<grid_for(N * M, TPB), TPB, 0, cstream(be)>>>(F32P(x), CF32P(out), noise ? CF32P(noise) : NULL, coef,
                                                               ddim, M, N * M, sqrtf(abp), sqrtf(1.0f - abp));
    CUDA_LAUNCHED();
}

// sophia_gnb.c — the GNB loss of SophiaG's Hessian pass on the diffusion MSE (see sophia_gnb.h).
#include "sophia_gnb.h"

#include "ops_internal.h"

ditc_tensor *ditc_sophia_gnb_loss(ditc_ctx *c, const ditc_diffusion *d, ditc_dit *m, ditc_tensor *x0, const int *t,
                                  const int32_t *y, ditc_tensor *noise, ditc_tensor *z) {
    int64_t B = x0->shape[0];
    float *coef = ditc_xmalloc(sizeof(float) * (size_t)(B * DITC_DIFF_NCOEF)), *tf = ditc_xmalloc(sizeof(float) * (size_t)B);
    ditc_diffusion_coefs(d, t, B, coef);
    for (int64_t b = 0; b < B; b++) tf[b] = (float)d->timestep_map[t[b]];
    ditc_tensor *ct = ditc_from_host(c, DITC_F32, 2, (int64_t[]){B, DITC_DIFF_NCOEF}, coef);
    ditc_tensor *xt = ditc_new_like(c, x0);
    BE->q_sample(BE, xt, x0, noise, ct);
    ditc_tensor *out = ditc_dit_forward(c, m, xt, tf, y); // (B, 2C, H, W)
    free(coef);
    free(tf);
    ditc_tensor *ev[2];
    ditc_chunk(c, out, 1, 2, ev);                          // ε_pred, v: (B, C, H, W) each
    ditc_tensor *target = ditc_new_like(c, ev[0]);         // ε̂ = ε_pred + σ·z, no gradient (torch: eps.detach() + σ*z)
    BE->axpy(BE, target, (float)DITC_SOPHIA_GNB_SIGMA, z, 0);
    BE->axpy(BE, target, 1.0f, ev[0], 1);
    return ditc_mean(c, ditc_mse(c, ev[0], target, 1), 0);
}

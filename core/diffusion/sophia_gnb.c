// sophia_gnb.c — the GNB loss of SophiaG's Hessian pass on the diffusion MSE (see sophia_gnb.h).
#include "sophia_gnb.h"

#include "ops.h"

ditc_tensor *ditc_sophia_gnb_loss(ditc_ctx *c, const ditc_diffusion *d, ditc_dit *m, ditc_tensor *x0, const int *t,
                                  const int32_t *y, ditc_tensor *noise, ditc_tensor *z) {
    ditc_tensor *xt, *ct;
    ditc_tensor *out = ditc_diffusion_noisy_forward(c, d, m, x0, t, y, noise, &xt, &ct); // (B, 2C, H, W)
    ditc_tensor *ev[2];
    ditc_chunk(c, out, 1, 2, ev);                  // ε_pred, v: (B, C, H, W) each
    ditc_tensor *target = ditc_new_like(c, ev[0]); // ε̂ = ε_pred + σ·z, no gradient (torch: eps.detach() + σ*z)
    c->be->axpy(c->be, target, (float)DITC_SOPHIA_GNB_SIGMA, z, 0);
    c->be->axpy(c->be, target, 1.0f, ev[0], 1);
    return ditc_mean(c, ditc_mse(c, ev[0], target, 1), 0);
}

// sophia_gnb.h — the Gauss-Newton-Bartlett (GNB) loss behind SophiaG's Hessian estimate, for the diffusion MSE.
//
// Sophia's LM recipe: sample labels ŷ from the model's own softmax, back-propagate the loss against ŷ; the
// squared gradient ĝ² estimates the diagonal Gauss-Newton matrix (Bartlett: E[∇ℓ∇ℓᵀ] = ∇²ℓ for an NLL).
// The diffusion analogue used by ditc: on the step's batch (x0, t, y, noise → x_t) and the updated weights,
//     out = model(x_t, t, y) = [ε_pred | v];   ε̂ = stopgrad(ε_pred) + σ·z,  z ~ N(0, 1),  σ = 1/√2;
//     loss = mean_b mean_flat((ε_pred − ε̂)²)    (the mse term of the hybrid loss; vb is not part of it)
// σ² = 1/2 makes the per-element squared error (ε_pred − ε̂)² exactly the Gaussian NLL −log N(ε̂; ε_pred, σ²)
// up to a constant, so ε̂ is a sample from the model's own predictive distribution (as ŷ from the softmax).
// The variance output v receives no gradient here: parameters that only feed v (the v rows of
// final_layer.linear) keep h = 0, so their SophiaG update is the clipped sign step −lr·sign(m).
// z is keyed by (seed, DITC_RNG_HESSIAN, step, global batch position · C·H·W + element), like the noise.
// bs: the gradient of a mean over N independent sampled elements has E[ĝ²] = diag(GN of the mean loss) / N,
// so bs = N = global batch · C·H·W (the element count, as the LM's bs = tokens per step) makes rho·bs·h
// compare |m| with rho × the Gauss-Newton diagonal of the mean loss itself, independent of batch and image size.
#ifndef DITC_SOPHIA_GNB_H
#define DITC_SOPHIA_GNB_H

#include "diffusion.h"

#define DITC_SOPHIA_GNB_SIGMA 0.70710678118654752440 // 1/√2

// x0, noise, z (B, C, H, W); t, y (B) → mean over the batch of mean_flat((ε_pred − ε̂)²), a [1] tensor
// differentiable w.r.t. the model parameters (ε̂ is a constant).
ditc_tensor *ditc_sophia_gnb_loss(ditc_ctx *c, const ditc_diffusion *d, ditc_dit *m, ditc_tensor *x0, const int *t,
                                  const int32_t *y, ditc_tensor *noise, ditc_tensor *z);

#endif

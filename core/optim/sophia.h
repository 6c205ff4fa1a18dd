// sophia.h — SophiaG (Liu et al. 2023, Liuhong99/Sophia `SophiaG`, the rho/bs version) on the flat
// parameter buffers, sharing ditc_optimizer's state layout, warm-up, clipping, EMA and ZeRO shard ranges:
// o->m = exp_avg, o->v = the Hessian EMA. Per element, in this order (ditc_optimizer_apply → the update rule
// set here):
//     p ·= 1 − lr·wd;  m = β1·m + (1 − β1)·g;  p += −lr·sign(m)·min(|m| / (rho·bs·h + 1e-15), 1)
// and after every k-th update, from the gradient ĝ of the Gauss-Newton-Bartlett loss
// (core/diffusion/sophia_gnb.h):
//     h = β2·h + (1 − β2)·ĝ²
// bs (o->hess_bs) is the number of sampled target elements behind ĝ, see core/diffusion/sophia_gnb.h for why.
#ifndef DITC_SOPHIA_H
#define DITC_SOPHIA_H

#include "common.h"
#include "optimizer.h"

// Defaults of the DiT usage: lr 2e-4 (the caller's), betas (0.965, 0.99), rho 0.01, weight decay 0, k = 10.
#define DITC_SOPHIA_LR    2e-4
#define DITC_SOPHIA_BETA1 0.965
#define DITC_SOPHIA_BETA2 0.99
#define DITC_SOPHIA_RHO   0.01
#define DITC_SOPHIA_EVERY 10

// Turns an initialised ditc_optimizer (zero state) into SophiaG with the defaults above (its update rule:
// clipped sign steps, the EMA fused as for AdamW); hess_bs must be set.
void ditc_sophia_configure(ditc_optimizer *o);
// 0 if the backend has the SophiaG kernels (optional entries), else an error naming --optimizer and the backend.
int ditc_sophia_check_backend(const ditc_backend *be, ditc_status *st);
// 1 if a Hessian refresh follows the update just done (o->step % k == 0: the reference's
// iter_num % k == k − 1 with iter_num counted from 0).
int ditc_sophia_hessian_due(const ditc_optimizer *o);
// h = β2·h + (1 − β2)·ĝ² over the owned range, with ĝ in p->grad (already averaged over ranks).
void ditc_sophia_update_hessian(ditc_optimizer *o);

#endif

// train_optim.h — the trainer's optimizer: AdamW or SophiaG from the flags (defaults, validation with messages
// naming the flag), and SophiaG's Hessian pass inside the training loop (core/sophia_gnb.h for the method).
#ifndef DITC_TRAIN_OPTIM_H
#define DITC_TRAIN_OPTIM_H

#include "comm.h"
#include "diffusion.h"
#include "loader.h"
#include "optim.h"
#include "trainer.h"

// Validates the optimizer flags (--optimizer, --lr, --beta1, --beta2, --weight-decay, --rho, --hessian-every):
// one message naming the flag.
int ditc_train_optim_check(const ditc_train_args *a, ditc_status *st);
// Validates --optimizer/--lr/--beta1/--beta2/--rho/--hessian-every/--weight-decay and initialises o over the
// shard [begin, end) of p (with EMA). hess_elems: the sampled elements behind one Hessian estimate (global
// batch · C·H·W), SophiaG's bs. Returns non-zero with a message on a bad flag (o untouched then).
int ditc_train_optim_init(ditc_adamw *o, ditc_params *p, const ditc_train_args *a, int64_t begin, int64_t end,
                          int64_t hess_elems, ditc_status *st);
// The name written into checkpoints ("adamw" / "sophiag").
const char *ditc_train_optim_name(const ditc_adamw *o);

// SophiaG's Hessian refresh after the update of step `step` (0-based, the key of the batch's noise) when it is
// due: the GNB loss on the same local batch in micro-batches of mb (each scaled by mb/B, as the gradient
// pass), ĝ averaged over the ranks (reduce-scattered with ZeRO-2), then h = β2·h + (1 − β2)·ĝ² on the owned
// range. Leaves p->grad holding ĝ. Returns 1 if it ran.
int ditc_train_hessian_pass(ditc_ctx *c, const ditc_diffusion *d, ditc_dit *m, ditc_adamw *o, ditc_comm *comm,
                            const ditc_batch *bt, int64_t mb, uint64_t seed, int64_t step, int zero);

#endif

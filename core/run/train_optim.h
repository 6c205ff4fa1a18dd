// train_optim.h — the trainer's optimizer: AdamW or SophiaG from the flags (defaults, validation with messages
// naming the flag). SophiaG's Hessian pass is a stage of the training step (train_step.c).
#ifndef DITC_TRAIN_OPTIM_H
#define DITC_TRAIN_OPTIM_H

#include "optim.h"
#include "train.h"

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

#endif

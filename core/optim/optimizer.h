// optimizer.h — the optimizer of the flat parameter buffers: state (moments, EMA) over this rank's range,
// clipping, warm-up and the EMA of the reference train.py, and an update rule: AdamW (torch.optim.AdamW
// semantics, here) or SophiaG (sophia.h), one fused pass per contiguous run of trainable tensors.
#ifndef DITC_OPTIMIZER_H
#define DITC_OPTIMIZER_H

#include "params.h"

// Which update rule the optimizer runs (the state layout is shared: see sophia.h for SophiaG).
typedef enum { DITC_OPT_ADAMW = 0, DITC_OPT_SOPHIAG = 1 } ditc_opt_kind;

typedef struct ditc_optimizer ditc_optimizer;
struct ditc_optimizer {
    ditc_params *p;
    ditc_opt_kind kind; // DITC_OPT_ADAMW unless ditc_sophia_configure was called
    // The parameter update of one step at learning rate lr, after clipping and the step count (the EMA fused):
    // AdamW's, or SophiaG's once ditc_sophia_configure has set it.
    void (*update)(ditc_optimizer *o, double lr);
    int64_t begin, end; // the element range of the flat layout this optimizer owns (ZeRO shard)
    float *m, *v, *ema; // moments and EMA of [begin, end): element i at [i − begin] (ema NULL if off);
                        // SophiaG: m = exp_avg, v = the Hessian EMA
    double lr, beta1, beta2, eps, weight_decay, ema_decay, max_grad_norm; // as Python floats; max_grad_norm 0 = off
    int64_t warmup_steps;  // linear warm-up of lr over this many steps (0 = off)
    int64_t decay_steps;   // cosine decay of lr from the end of the warm-up to step decay_steps (0 = constant)
    double min_lr_ratio;   // the decay ends at lr · min_lr_ratio
    int64_t step;          // updates done so far
    double rho, hess_bs;   // SophiaG: rho and the bs of rho·bs·h (core/optim/sophia.h)
    int64_t hessian_every; // SophiaG: k, a Hessian refresh after every k-th update
    int64_t (*runs)[2];    // [begin, end) element ranges of trainable tensors (merged)
    int n_runs;
    int64_t (*frozen)[2]; // ranges of non-trainable tensors (EMA only)
    int n_frozen;
    double *sumsq; // [1] on the backend: ditc_optimizer_grad_sumsq's result before its read-back
};

// Defaults of the reference: lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0, EMA 0.9999.
void ditc_optimizer_init(ditc_optimizer *o, ditc_params *p, double lr, int with_ema);
// The same for the shard [begin, end) of the flat layout only (ZeRO: state memory ∝ 1/world).
void ditc_optimizer_init_shard(ditc_optimizer *o, ditc_params *p, double lr, int with_ema, int64_t begin, int64_t end);
// Bytes of optimizer state (moments + EMA) this optimizer holds.
size_t ditc_optimizer_state_bytes(const ditc_optimizer *o);
void ditc_optimizer_free(ditc_optimizer *o);
// EMA := parameters (the reference's update_ema(ema, model, decay=0)).
void ditc_optimizer_ema_copy(ditc_optimizer *o);
// One update from the gradients in p->grad: optional clipping, warm-up, the update rule, EMA.
// Returns the gradient's global L2 norm before clipping. (Single process: sum_squares + apply.)
double ditc_optimizer_step(ditc_optimizer *o);
// Σ g² over the owned range (for the global norm; sum it over shards), read back (a wait on a device).
double ditc_optimizer_grad_sumsq(ditc_optimizer *o);
// The same into *out (one double in the backend's memory), without waiting: the caller reads it back together
// with the step's other scalars (core/run/step_scalars.h).
void ditc_optimizer_grad_sumsq_to(ditc_optimizer *o, double *out);
// Clipping against the given global norm, then the update rule + EMA on the owned range.
void ditc_optimizer_apply(ditc_optimizer *o, double grad_norm);
// EMA of the owned runs the optimizer does not update (frozen tensors such as pos_embed): ema = d·ema + (1−d)·p.
// The update kernels fuse the EMA of the trained runs.
void ditc_optimizer_ema_frozen(ditc_optimizer *o, float d, float one_minus_d);
// The learning rate the next step will use (after warm-up).
double ditc_optimizer_current_lr(const ditc_optimizer *o);
// The name written into checkpoints: "adamw" or "sophiag".
const char *ditc_optimizer_name(const ditc_optimizer *o);

#endif

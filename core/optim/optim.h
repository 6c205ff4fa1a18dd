// optim.h — AdamW (torch.optim.AdamW semantics) with the EMA of the reference train.py, on the flat
// parameter buffers: one fused pass per contiguous run of trainable tensors.
#ifndef DITC_OPTIM_H
#define DITC_OPTIM_H

#include "params.h"

// Which update ditc_adamw_apply runs (the state layout is shared: see core/optim_sophia.h for SophiaG).
typedef enum { DITC_OPT_ADAMW = 0, DITC_OPT_SOPHIAG = 1 } ditc_opt_kind;

typedef struct {
    ditc_params *p;
    ditc_opt_kind kind;         // DITC_OPT_ADAMW unless ditc_sophia_configure was called
    int64_t begin, end;         // the element range of the flat layout this optimizer owns (ZeRO shard)
    float *m, *v, *ema;         // moments and EMA of [begin, end): element i at [i − begin] (ema NULL if off);
                                // SophiaG: m = exp_avg, v = the Hessian EMA
    double lr, beta1, beta2, eps, weight_decay, ema_decay, max_grad_norm; // as Python floats; max_grad_norm 0 = off
    int64_t warmup_steps;       // linear warm-up of lr over this many steps (0 = off)
    int64_t step;               // updates done so far
    double rho, hess_bs;        // SophiaG: rho and the bs of rho·bs·h (core/optim_sophia.h)
    int64_t hessian_every;      // SophiaG: k, a Hessian refresh after every k-th update
    int64_t (*runs)[2];         // [begin, end) element ranges of trainable tensors (merged)
    int n_runs;
    int64_t (*frozen)[2];       // ranges of non-trainable tensors (EMA only)
    int n_frozen;
} ditc_adamw;

// Defaults of the reference: lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0, EMA 0.9999.
void ditc_adamw_init(ditc_adamw *o, ditc_params *p, double lr, int with_ema);
// The same for the shard [begin, end) of the flat layout only (ZeRO: state memory ∝ 1/world).
void ditc_adamw_init_shard(ditc_adamw *o, ditc_params *p, double lr, int with_ema, int64_t begin, int64_t end);
// Bytes of optimizer state (moments + EMA) this optimizer holds.
size_t ditc_adamw_state_bytes(const ditc_adamw *o);
void ditc_adamw_free(ditc_adamw *o);
// EMA := parameters (the reference's update_ema(ema, model, decay=0)).
void ditc_adamw_ema_copy(ditc_adamw *o);
// One update from the gradients in p->grad: optional clipping, warm-up, AdamW, EMA.
// Returns the gradient's global L2 norm before clipping. (Single process: sum_squares + apply.)
double ditc_adamw_step(ditc_adamw *o);
// Σ g² over the owned range (for the global norm; sum it over shards).
double ditc_adamw_grad_sumsq(ditc_adamw *o);
// Clipping against the given global norm, then AdamW + EMA on the owned range.
void ditc_adamw_apply(ditc_adamw *o, double grad_norm);
// EMA of the owned runs the optimizer does not update (frozen tensors such as pos_embed): ema = d·ema + (1−d)·p.
// The update kernels fuse the EMA of the trained runs.
void ditc_adamw_ema_frozen(ditc_adamw *o, float d, float one_minus_d);
// The learning rate the next step will use (after warm-up).
double ditc_adamw_current_lr(const ditc_adamw *o);

#endif

// diffusion.h — the reference Gaussian diffusion (shared/spec/diffusion.md): linear schedule, respacing,
// the hybrid training loss, and the DDPM / DDIM samplers with classifier-free guidance.
#ifndef DITC_DIFFUSION_H
#define DITC_DIFFUSION_H

#include "dit_model.h"

#define DITC_DIFF_TRAIN_STEPS 1000

typedef struct {
    int n;             // steps of this (possibly respaced) process
    int *timestep_map; // model timestep (0..999) of each step
    // float64 tables of length n, as the reference's numpy arrays
    double *betas, *ac, *ac_prev, *post_logvar_clipped, *coef1, *coef2, *log_betas;
} ditc_diffusion;

// respacing: "" = 1000 steps (training), "250" = 250 evenly spaced, "ddim50" = integer stride.
int ditc_diffusion_init(ditc_diffusion *d, const char *respacing, ditc_status *st);
void ditc_diffusion_free(ditc_diffusion *d);
// Per-sample float32 coefficients (B, DITC_DIFF_NCOEF) for step indices t[b] of this process.
void ditc_diffusion_coefs(const ditc_diffusion *d, const int *t, int64_t B, float *coef);

// x_t = q_sample(x0, t, noise) → model(x_t, t, y) (B, 2C, H, W); *xt_out = x_t, *coef_out = the per-sample
// coefficients (B, NCOEF). Shared by the training loss and SophiaG's Hessian pass.
ditc_tensor *ditc_diffusion_noisy_forward(ditc_ctx *c, const ditc_diffusion *d, ditc_dit *m, ditc_tensor *x0,
                                          const int *t, const int32_t *y, ditc_tensor *noise, ditc_tensor **xt_out,
                                          ditc_tensor **coef_out);
// One training loss evaluation: x_t = q_sample(x0, t, noise); out = model(x_t, t, y);
// returns loss (B) with the terms in *mse, *vb (may be NULL), and the model output in *out_model.
ditc_tensor *ditc_diffusion_training_loss(ditc_ctx *c, const ditc_diffusion *d, ditc_dit *m, ditc_tensor *x0,
                                          const int *t, const int32_t *y, ditc_tensor *noise, ditc_tensor **mse,
                                          ditc_tensor **vb, ditc_tensor **out_model);

typedef struct {
    float cfg_scale;      // 1 = no guidance
    int cfg_all_channels; // 0: reference rule (output channels [0, min(3, 2C))); 1: all ε channels
    int ddim;             // 0: ancestral DDPM; 1: DDIM (η = 0)
    uint64_t seed;
    // Global index of sample 0 of this batch: sample j's initial and per-step noise are elements
    // [(index0 + j)·per, (index0 + j + 1)·per) of the streams (seed, DITC_RNG_SAMPLING, step), per = C·S·S, so
    // batches starting at index0 = 0, B, 2B, ... give exactly the samples of one big batch's noise.
    uint64_t index0;
    void (*progress)(int done, int total, void *user);
    // If set, called with each noise tensor the loop draws, on the host: step 0 = the initial x_T (n, C, S, S),
    // step k = 1 .. steps-1 = the noise z added at the k-th step (DDPM only); for tests (`ditc sample --dump`).
    void (*noise_hook)(int step, const float *noise, int64_t numel, void *user);
    void *user;
} ditc_sample_opts;

// Draws n samples for labels[n] with the model; writes (n, C, S, S) floats to out_host. Stream step 0 is the
// initial noise, stream step k the noise of the k-th denoising step (k = 1 .. d->n - 1).
void ditc_diffusion_sample(ditc_ctx *c, ditc_dit *m, const ditc_diffusion *d, int n, const int32_t *labels,
                           const ditc_sample_opts *o, float *out_host);

#endif

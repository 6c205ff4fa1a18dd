// check.h — `ditc check`: the numerics of one batch (model output, loss terms, gradients, a few AdamW or
// SophiaG steps) written to safetensors, for comparison with the PyTorch reference.
#ifndef DITC_CHECK_H
#define DITC_CHECK_H

#include "backend.h"
#include "common.h"

typedef struct {
    const char *ckpt, *inputs, *out;
    int num_heads;         // 0 = from metadata, else D/64
    int grads;             // write grad.<name>
    int train_steps;       // optimizer steps on the fixed batch (0 = none)
    double lr;             // NaN = the optimizer's default (AdamW 1e-4, SophiaG 2e-4)
    const char *optimizer; // "adamw" (NULL too) or "sophiag"
    double rho;            // SophiaG rho
    int hessian_every;     // SophiaG k; the GNB targets' noise z of each refresh is written as hessian_noise
} ditc_check_args;

int ditc_check_run(ditc_backend *be, const ditc_check_args *a, ditc_status *st);

#endif

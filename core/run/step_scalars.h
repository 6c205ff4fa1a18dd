// step_scalars.h — a training step's scalars on the backend, read back together: the loss (the micro-batches'
// losses summed in queue order) and the gradient's Σ g². Their one read-back is the step's host wait: the
// loss-spike guard and clipping need both before the update, and nothing else in a step waits for the device.
#ifndef DITC_STEP_SCALARS_H
#define DITC_STEP_SCALARS_H

#include "backend.h"
#include "tensor.h"

typedef struct {
    ditc_backend *be;
    void *block;      // 16 bytes on the backend: the double Σ g² at byte 0, the float loss at byte 8
    ditc_tensor loss; // [1] F32: a view of the loss slot (ops write it, e.g. be->axpy)
} ditc_step_scalars;

void ditc_step_scalars_init(ditc_step_scalars *s, ditc_backend *be);
void ditc_step_scalars_free(ditc_step_scalars *s);
// Where Σ g² goes (ditc_optimizer_grad_sumsq_to).
double *ditc_step_scalars_sumsq(ditc_step_scalars *s);
// Both, in one copy (a wait on a device).
void ditc_step_scalars_read(ditc_step_scalars *s, float *loss, double *sumsq);
// One of them alone (another wait on a device: where the loss is needed before Σ g² can be computed).
float ditc_step_scalars_read_loss(ditc_step_scalars *s);
double ditc_step_scalars_read_sumsq(ditc_step_scalars *s);

#endif

// step_scalars.c — the step's loss and Σ g² in one small block on the backend, read back together.
#include "step_scalars.h"

#include <string.h>

#include "common.h"

#define SUMSQ_AT 0
#define LOSS_AT  8
#define BLOCK    16

void ditc_step_scalars_init(ditc_step_scalars *s, ditc_backend *be) {
    memset(s, 0, sizeof *s);
    s->be = be;
    s->block = be->alloc(be, BLOCK);
    DITC_ALLOC_CHECK(s->block, BLOCK);
    be->fill(be, s->block, DITC_F32, BLOCK / sizeof(float), 0.0f);
    int64_t one = 1;
    ditc_tensor_set_shape(&s->loss, DITC_F32, 1, &one);
    s->loss.backend = be;
    s->loss.data = (char *)s->block + LOSS_AT;
}

void ditc_step_scalars_free(ditc_step_scalars *s) {
    if (s->block) s->be->free(s->be, s->block);
    memset(s, 0, sizeof *s);
}

double *ditc_step_scalars_sumsq(ditc_step_scalars *s) { return (double *)((char *)s->block + SUMSQ_AT); }

void ditc_step_scalars_read(ditc_step_scalars *s, float *loss, double *sumsq) {
    unsigned char host[LOSS_AT + sizeof(float)];
    s->be->copy_d2h(s->be, host, s->block, sizeof host);
    memcpy(sumsq, host + SUMSQ_AT, sizeof *sumsq);
    memcpy(loss, host + LOSS_AT, sizeof *loss);
}

float ditc_step_scalars_read_loss(ditc_step_scalars *s) {
    float v;
    s->be->copy_d2h(s->be, &v, s->loss.data, sizeof v);
    return v;
}

double ditc_step_scalars_read_sumsq(ditc_step_scalars *s) {
    double v;
    s->be->copy_d2h(s->be, &v, ditc_step_scalars_sumsq(s), sizeof v);
    return v;
}

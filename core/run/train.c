// train.c — the training loop of `ditc train` (train.h), top to bottom: set-up, one named call per stage
// of a step, teardown. The stages live in train_step.c, train_log.c and train_state.c (train_internal.h).
#include <math.h>

#include "train_internal.h"

// One step: batch → model input → gradient → reduce over ranks → update → SophiaG's Hessian when due →
// log → checkpoint when due.
static int train_step(ditc_trainer *t, ditc_status *st) {
    const ditc_batch *bt;
    const float *x0;
    int r;
    if ((r = ditc_train_next_batch(t, &bt, st))) return r;
    if ((r = ditc_train_model_input(t, bt, &x0, st))) return r;
    float loss = ditc_train_gradient(t, bt, x0);
    loss = ditc_train_reduce(t, loss);
    double lr, grad_norm = ditc_train_update(t, &lr);
    ditc_train_hessian_if_due(t, bt, x0);
    t->step++;
    if (!isfinite(loss))
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "step %lld: the loss is %g; stopping (try a lower --lr or --max-grad-norm)",
                         (long long)t->step, loss);
    ditc_train_log_step(t, loss, lr, grad_norm);
    return ditc_train_checkpoint_if_due(t, st);
}

int ditc_train(ditc_backend *be, ditc_comm *comm, const ditc_train_args *a, ditc_status *st) {
    ditc_trainer t;
    int r = ditc_trainer_open(&t, be, comm, a, st);
    if (!r) ditc_train_log_start(&t);
    while (!r && t.step < t.total) r = train_step(&t, st);
    if (!r) ditc_train_log_done(&t);
    ditc_trainer_close(&t);
    return r;
}

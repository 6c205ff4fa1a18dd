// train.c — the training loop of `ditc train` (train.h), top to bottom: set-up, one named call per stage
// of a step, teardown. The stages live in train_step.c, train_guard.c, train_log.c and train_state.c
// (train_internal.h).
#include "train_internal.h"

// One step: batch → model input → gradient → reduce over ranks (and learn of stop signals) → the loss-spike
// guard → update and SophiaG's Hessian when due (unless skipped) → FID when due → log → checkpoint when due or stopping → an EMA
// sample grid when due.
static int train_step(ditc_trainer *t, ditc_status *st) {
    const ditc_batch *bt;
    const float *x0;
    int r;
    if ((r = ditc_train_next_batch(t, &bt, st))) return r;
    if ((r = ditc_train_model_input(t, bt, &x0, st))) return r;
    ditc_train_gradient(t, bt, x0);
    float loss;
    double grad_norm, lr = ditc_optimizer_current_lr(&t->opt);
    ditc_train_reduce(t, &loss, &grad_norm); // (the step's host wait)
    if (!ditc_train_guard_skips(t, loss, grad_norm)) {
        ditc_train_update(t, grad_norm, &lr);
        ditc_train_hessian_if_due(t, bt, x0);
    }
    t->step++;
    if ((r = ditc_train_fid_if_due(t, st))) return r;
    ditc_train_log_step(t, loss, lr, grad_norm);
    if ((r = ditc_train_guard_check_stop(t, st))) return r;
    if ((r = ditc_train_checkpoint_if_due(t, st)) || (r = ditc_train_sample_if_due(t, st))) return r;
    return t->stop_signal ? ditc_train_stopped(t, st) : 0;
}

int ditc_train(ditc_backend *be, ditc_comm *comm, const ditc_train_args *a, ditc_status *st) {
    ditc_trainer t;
    int r = ditc_trainer_open(&t, be, comm, a, st);
    if (!r) ditc_train_log_start(&t);
    if (!r && t.step == 0 && t.total == 0) r = ditc_train_checkpoint_if_due(&t, st); // --max-steps 0: the start
    while (!r && t.step < t.total) r = train_step(&t, st);
    if (!r) ditc_train_log_done(&t);
    ditc_trainer_close(&t);
    return r;
}

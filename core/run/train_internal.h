// train_internal.h — the state of one `ditc train` run and the named pieces its loop is made of (train.c).
// One file per concern: train_setup.c (flags → data, model, optimizer, resume), train_step.c (model input,
// micro-batch passes, rank reduction, update, SophiaG's Hessian), train_log.c (run directory, log.txt,
// metrics.csv, progress), train_state.c (checkpoints and resume), train_optim.c (optimizer flags), train_init.c
// (--init-from, --resume FILE.pt).
#ifndef DITC_TRAIN_INTERNAL_H
#define DITC_TRAIN_INTERNAL_H

#include <signal.h>
#include <stdio.h>

#include "checkpoint.h"
#include "data_order.h"
#include "diffusion.h"
#include "grad_reduce.h"
#include "latents.h"
#include "loader.h"
#include "optimizer.h"
#include "step_scalars.h"
#include "tfevents.h"
#include "train.h"
#include "vae.h"

// Run directory, logs and the running statistics of the log lines.
typedef struct {
    char dir[4096];
    FILE *log, *csv;
    ditc_tfevents *tb; // TensorBoard events (NULL: --no-tensorboard)
    int tb_failed;     // a write failed (warned once; later writes are still tried)
    int tty;
    int quiet;                     // ranks other than 0 neither log nor write
    double t_start, t_log, t_ckpt; // run start, last log line, last checkpoint written (or run start)
    double t_step, busy_log;       // start of the current step; this rank's time outside reductions
    double slowest_step;           // the slowest rank's mean step time over the last log interval (MPI)
    double loss_sum, wait_log, wait_total;
    int64_t log_steps, bad_reported;
    char last_ckpt[4096 + 64]; // the newest checkpoint written ("" if none)
    char plot_path[4096 + 32]; // loss.png once drawn (--plot)
    double fid;                // the last FID (--fid-every) and its step (0: none yet)
    int64_t fid_step;
} ditc_train_log;

// The loss-spike guard's statistics (train_guard.c): the loss and gradient norm of the last accepted steps.
#define DITC_GUARD_WINDOW 128 // accepted steps in the statistics
#define DITC_GUARD_MIN    32  // z-scores are used once this many are in
typedef struct {
    double loss[DITC_GUARD_WINDOW], norm[DITC_GUARD_WINDOW];
    int n, head;                  // values held, next slot
    int64_t skipped, consecutive; // updates skipped in all, in a row now
} ditc_train_guard;

// The signal handlers the run replaced (train_signal.c).
#define DITC_TRAIN_MAX_SIGNALS 8
typedef struct {
    struct sigaction old[DITC_TRAIN_MAX_SIGNALS];
    int installed[DITC_TRAIN_MAX_SIGNALS];
} ditc_train_signals;

typedef struct {
    const ditc_train_args *a;
    ditc_backend *be;
    ditc_comm *comm;
    ditc_dataset *ds;
    ditc_vae *vae;  // --vae: images encoded to latents on the fly (NULL: none)
    int is_latents; // the data are latent shards (moments): a posterior sample per step
    ditc_latents_info lat;
    ditc_dit model;
    ditc_optimizer opt; // AdamW or SophiaG
    ditc_diffusion diff;
    ditc_ctx ctx;
    ditc_data_order order; // which samples each step takes
    ditc_loader *loader;
    ditc_kv state;                  // state.json of the checkpoint resumed from
    int64_t B, mb;                  // local batch, micro-batch (B when not accumulating)
    int64_t per;                    // floats per model-input sample (C·H·W of the model)
    int64_t steps_per_epoch, total; // the run ends at step `total`
    int64_t hess_elems;             // SophiaG's bs: global batch · C·H·W
    size_t shard_b, shard_e;        // the flat range this rank's optimizer owns (all of it without ZeRO)
    float *input;                   // (B, C, H, W) model input when it is not the loader's batch (VAE, latents)
    ditc_step_scalars scalars;      // on the backend: the micro-batches' losses summed in queue order and Σ g², read
                                    // together once per step (the step's one host wait)
    int64_t step, epoch, step_in_epoch, start_step;
    int stop_signal; // a stop signal every rank knows of (-1: another rank's): stop after this step's checkpoint
    // Test hooks (tests/test_cluster.sh): DITC_TEST_INJECT_NAN="5,9" makes those steps' loss and gradient NaN
    // (on rank 0), DITC_TEST_INJECT_SPIKE those steps' loss and gradient 1000 times larger.
    const char *inject_nan, *inject_spike;
    int loss_nan, loss_spike;   // this step's hooks, applied to the loss when it is read back
    struct ditc_train_fid *fid; // --fid-every: the Inception and the reference statistics (rank 0)
    ditc_dit sampler;           // --sample-every: the EMA weights in a model of their own (created at the first grid)
    const char *dump_batch;     // DITC_TEST_DUMP_BATCH=DIR: each step's x, t, y, noise (train_step.c)
    ditc_grad_reducer reducer;  // the bucketed gradient reduction during backward (world > 1, --grad-bucket-mb > 0)
    ditc_train_guard guard;
    ditc_train_signals signals;
    ditc_train_log log;
} ditc_trainer;

// ---- train_setup.c ----------------------------------------------------------------------------------
// Everything before the first step; on failure t holds what was opened (ditc_trainer_close frees it).
int ditc_trainer_open(ditc_trainer *t, ditc_backend *be, ditc_comm *comm, const ditc_train_args *a, ditc_status *st);
void ditc_trainer_close(ditc_trainer *t);

// ---- train_step.c: the pieces of one step, in loop order ---------------------------------------------
// The next step's batch from the loader (its data wait counted in the log statistics).
int ditc_train_next_batch(ditc_trainer *t, const ditc_batch **bt, ditc_status *st);
// The model input of the batch, (B, C, H, W): the loader's samples, their VAE latents (posterior samples of
// the flipped images) or a posterior sample of the latent shards' moments.
int ditc_train_model_input(ditc_trainer *t, const ditc_batch *bt, const float **x0, ditc_status *st);
// Gradient of the local-batch mean diffusion loss in the flat gradient buffer, accumulated over micro-batches;
// the local mean loss stays on the backend (t->scalars) until ditc_train_reduce reads it.
void ditc_train_gradient(ditc_trainer *t, const ditc_batch *bt, const float *x0);
// The gradient averaged over the ranks (all of it, or this rank's ZeRO-2 shard); *loss the loss averaged over
// the ranks, *grad_norm the global norm of the gradient (before clipping). The step's host wait: one read of
// the loss and Σ g² together (several ranks: the loss first, for the rank reduction and the busy time, then Σ g²).
// The same reduction tells every rank whether any of them received a stop signal (t->stop_signal).
void ditc_train_reduce(ditc_trainer *t, float *loss, double *grad_norm);
// Clipping against the global gradient norm, warm-up, the AdamW or SophiaG update and the EMA (ZeRO-2: on the
// owned shard, then the parameters all-gathered). *lr: the rate used.
void ditc_train_update(ditc_trainer *t, double norm, double *lr);
// SophiaG, after every k-th update: the GNB loss on the same model input and noise as the gradient pass,
// its gradient averaged over the ranks, then the Hessian EMA. Returns 1 if it ran.
int ditc_train_hessian_if_due(ditc_trainer *t, const ditc_batch *bt, const float *x0);

// ---- train_optim.c: the optimizer from the flags (defaults, checks with messages naming the flag) ----------
// Validates the optimizer flags (--optimizer, --lr, --beta1, --beta2, --weight-decay, --rho, --hessian-every):
// one message naming the flag.
int ditc_train_optim_check(const ditc_train_args *a, ditc_status *st);
// Validates --optimizer/--lr/--beta1/--beta2/--rho/--hessian-every/--weight-decay and initialises o over the
// shard [begin, end) of p (with EMA). hess_elems: the sampled elements behind one Hessian estimate (global
// batch · C·H·W), SophiaG's bs. Returns non-zero with a message on a bad flag (o untouched then).
int ditc_train_optim_init(ditc_optimizer *o, ditc_params *p, const ditc_train_args *a, int64_t begin, int64_t end,
                          int64_t hess_elems, ditc_status *st);

// ---- train_log.c ------------------------------------------------------------------------------------
int ditc_train_log_new_run(ditc_train_log *l, const char *results, const char *model, ditc_status *st);
// log.txt and metrics.csv (appended to when resuming), and a new TensorBoard event file unless no_tensorboard.
int ditc_train_log_open(ditc_train_log *l, int append, int no_tensorboard, ditc_status *st);
void ditc_train_log_close(ditc_train_log *l);
// A fresh run that failed before its first step: closes the log and removes the run directory and the files this
// run wrote into it (log.txt, metrics.csv, the event file), so a failed start leaves no empty run behind.
void ditc_train_log_discard(ditc_train_log *l);
// One line to stdout and log.txt, "[YYYY-mm-dd HH:MM:SS] message" (rank 0 only).
void ditc_train_logf(ditc_train_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// The run's configuration, once before the first step.
void ditc_train_log_start(ditc_trainer *t);
// After step t->step: the progress line (a terminal), the log line, metrics.csv row and TensorBoard scalars
// every --log-every (every rank takes part: the slowest rank's step time is gathered then).
void ditc_train_log_step(ditc_trainer *t, float loss, double lr, double grad_norm);
void ditc_train_log_done(ditc_trainer *t);

// ---- train_state.c ----------------------------------------------------------------------------------
// A checkpoint after step t->step when it is due (every --ckpt-every steps, at the end and when a stop signal
// was seen), then the rotation of the older ones (--keep-last, --keep-every).
int ditc_train_checkpoint_if_due(ditc_trainer *t, ditc_status *st);
// After the checkpoint of a stop signal: the log line and DITC_TRAIN_STOPPED with the message in st.
int ditc_train_stopped(ditc_trainer *t, ditc_status *st);
// Loads the checkpoint a->resume_dir into the model and optimizer, the position into t->step/epoch/
// step_in_epoch, and its run directory into t->log.dir.
int ditc_train_resume(ditc_trainer *t, ditc_status *st);

// ---- train_sample.c ------------------------------------------------------------------------------------
// --sample-every: the flags checked against the model (a latent model needs the run's --vae).
int ditc_train_check_sampling(const ditc_trainer *t, ditc_status *st);
// After every --sample-every steps and the last: an EMA sample grid into <run>/samples/NNNNNNN.png (every rank
// calls it: a sharded EMA is gathered).
int ditc_train_sample_if_due(ditc_trainer *t, ditc_status *st);
// ---- train_init.c: weights the run did not train ---------------------------------------------------------
// --init-from (the weights, all but --init-skip's; the EMA = them, or the file's ema with --init-ema; the optimizer
// fresh at step 0) or --resume FILE.pt (model, EMA, AdamW moments and step of a reference train.py checkpoint);
// nothing for a ditc resume or a plain run. Once the model, optimizer and run log exist.
int ditc_train_init_weights(ditc_trainer *t, ditc_status *st);
// The --init-* flags together (one message naming them).
int ditc_train_init_check(const ditc_train_args *a, ditc_status *st);

// n samples of s (labels[n]; noise keyed from sample index index0; DDIM on d, guidance cfg_scale, the run's seed)
// as images (n, *ch, *side, *side) in [-1, 1], VAE-decoded for a --vae run; malloc'd, NULL with st on an error.
float *ditc_train_draw(ditc_trainer *t, ditc_dit *s, const ditc_diffusion *d, int n, const int32_t *labels,
                       float cfg_scale, uint64_t index0, int *ch, int *side, ditc_status *st);
// The sampling model holding the EMA weights of the whole layout (created at the first call; every rank calls it).
ditc_dit *ditc_train_ema_model(ditc_trainer *t);

// ---- train_fid.c ---------------------------------------------------------------------------------------
typedef struct ditc_train_fid ditc_train_fid;
// --fid-every: checks the flags; rank 0 loads the Inception and the reference statistics.
int ditc_train_fid_open(ditc_trainer *t, ditc_status *st);
void ditc_train_fid_close(ditc_trainer *t);
// After every --fid-every steps and the last: FID-M of the EMA (every rank calls it), logged and kept in t->log.
int ditc_train_fid_if_due(ditc_trainer *t, ditc_status *st);

// ---- train_plot.c --------------------------------------------------------------------------------------
// --plot: redraws <run>/loss.png from metrics.csv (rank 0; a failure is a warning).
void ditc_train_plot(ditc_trainer *t);

// ---- train_guard.c: the loss-spike guard ------------------------------------------------------------
// 1 if the update of a step with this (rank-averaged) loss and global gradient norm is to be skipped (the
// reason in why), counting it; 0 if it goes ahead (its loss and norm then enter the statistics).
int ditc_train_guard_decide(ditc_train_guard *g, double zmax, double loss, double norm, char *why, size_t n);
void ditc_train_guard_save(const ditc_train_guard *g, ditc_kv *kv);
// From state.json (empty statistics for a checkpoint written before the guard existed).
int ditc_train_guard_load(ditc_train_guard *g, const ditc_kv *kv, const char *file, ditc_status *st);
// The guard on step t->step + 1: 1 (logged) if its update is to be skipped.
int ditc_train_guard_skips(ditc_trainer *t, float loss, double grad_norm);
// After --skip-update-max skips in a row: an error that stops the run (no checkpoint is written).
int ditc_train_guard_check_stop(ditc_trainer *t, ditc_status *st);

// ---- train_signal.c: stop signals -------------------------------------------------------------------
// Installs the handlers of a --checkpoint-on-signal list ("TERM,INT,USR1,PIPE", "SIGTERM", "none").
int ditc_train_signals_install(ditc_train_signals *s, const char *list, ditc_status *st);
void ditc_train_signals_restore(ditc_train_signals *s);
int ditc_train_signal_pending(void); // the first signal received since the install (0: none)
const char *ditc_train_signal_name(int sig);

#endif

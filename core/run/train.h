// train.h — the training loop of `ditc train` (reference train.py semantics): data → diffusion loss →
// backward → AdamW → EMA, logging (stdout, log.txt, metrics.csv, progress/ETA), atomic checkpoints and
// bit-exact resume. All randomness is keyed by (seed, purpose, global step, position in the global batch).
#ifndef DITC_TRAIN_H
#define DITC_TRAIN_H

#include "backend.h"
#include "comm.h"
#include "common.h"
#include "kvfile.h"

typedef struct {
    const char *data_path, *results_dir, *model, *dataset; // dataset: auto|imagefolder|cifar10|idx|shards|synthetic
    int image_size, num_classes;                           // 0 = from the data
    int depth, hidden_size, num_heads, patch_size;         // 0 = from --model
    int64_t epochs, global_batch, max_steps, warmup_steps, log_every, ckpt_every, synthetic_size;
    uint64_t global_seed;
    int num_workers, random_flip, grad_checkpointing, threads;
    int zero;              // 0: data parallel (all-reduce); 2: ZeRO-2 (reduce-scatter, sharded AdamW/EMA)
    int skip_bad_images;   // ImageFolder: skip (and count) undecodable files instead of stopping
    int64_t micro_batch;   // gradient accumulation: samples per forward/backward (0 = the whole batch)
    double grad_bucket_mb; // > 0: gradient all-reduce in buckets of ~this many MiB during backward; 0: one after it
    double lr, max_grad_norm, ema_decay; // lr NaN = the optimizer's default (AdamW 1e-4, SophiaG 2e-4)
    const char *optimizer;               // "adamw" (default) or "sophiag" (core/optim/sophia.h)
    double beta1, beta2;                 // NaN = the optimizer's default (AdamW 0.9, 0.999; SophiaG 0.965, 0.99)
    double weight_decay;                 // decoupled, both optimizers (default 0)
    double rho;                          // SophiaG rho (default 0.01)
    int64_t hessian_every;               // SophiaG k: Hessian refresh after every k-th step (default 10)
    const char *vae;        // --vae: AutoencoderKL to encode the images on the fly (NULL: train on the data as is)
    int vae_tile;           // --vae-tile: tiled encoding above this many pixels (0: never)
    const char *resume_dir; // checkpoint directory to resume from (resolved by the caller), or NULL
    const char *resume_pt;  // a reference train.py checkpoint (.pt) to continue in a new run directory, or NULL
    // --init-from: a fresh run (step 0, new optimizer state) from pretrained weights (train_init.c)
    const char *init_from, *init_select, *init_skip; // file or checkpoint dir; ema|model|KEY; name prefixes
    int init_ema;                                    // the EMA from the file's own ema when it has one
    // Running on a cluster (docs/cluster.md): the signals that stop a run with a checkpoint ("TERM,INT,USR1,PIPE"
    // by default, "none"); checkpoint rotation (0 = keep all; --keep-every: steps kept for good); the
    // loss-spike guard (z-score K over the last accepted steps, 0 = off; non-finite losses are always skipped;
    // the run stops after skip_max consecutive skips); TensorBoard events (on by default).
    const char *ckpt_signals;
    int64_t keep_last, keep_every;
    double skip_zscore;
    int64_t skip_max;
    int no_tensorboard;
    int plot;                           // --plot: <run>/loss.png at each checkpoint and at the end
    int64_t sample_every, sample_steps; // --sample-every K: an EMA grid every K steps, DDIM --sample-steps (50)
    // --fid-every K: FID of --fid-samples EMA samples (DDIM --fid-steps, cfg 1.5) vs --fid-ref statistics with the
    // --inception weights (core/run/train_fid.c)
    int64_t fid_every, fid_samples, fid_steps;
    const char *fid_ref, *inception;
    const char *lr_schedule; // "constant" (default, as the reference) or "cosine" (to the run's last step)
    double min_lr_ratio;     // cosine: the final lr is lr · this (default 0.1)
    int argc;                // the run's arguments, saved into state.json
    char **argv;
} ditc_train_args;

void ditc_train_args_defaults(ditc_train_args *a);
// Returns 0 when the run reached its last step, DITC_TRAIN_STOPPED when a signal stopped it after a
// checkpoint (st holds the message), else an error code with st set.
#define DITC_TRAIN_STOPPED 75 // EX_TEMPFAIL: `ditc train` exits with it; resume with --resume latest
int ditc_train(ditc_backend *be, ditc_comm *comm, const ditc_train_args *a, ditc_status *st);

// --resume latest|auto|DIR → a checkpoint directory: DIR may be a checkpoint, a run directory (its newest
// complete checkpoint) or "latest" (the newest complete checkpoint of the newest run under results_dir that
// has one; partial directories are skipped with a warning on stderr). "auto" is "latest", or *out = "" (a
// fresh run) when results_dir holds no checkpoint yet.
int ditc_resolve_resume(const char *resume, const char *results_dir, char *out, size_t n, ditc_status *st);

// --resume FILE.pt: the flags a reference train.py checkpoint's `args` mean in ditc (--model, --num-classes,
// --global-batch-size, --global-seed, --epochs, --log-every, --ckpt-every, --results-dir, --num-workers; with_vae:
// also --image-size, the pixel side the VAE sees). *argv: n strings (ditc_train_pt_flags_free).
int ditc_train_pt_flags(const char *path, int with_vae, char ***argv, int *n, ditc_status *st);
void ditc_train_pt_flags_free(char **argv);

#endif

// cmd_train.c — `ditc train`: flags named as the reference train.py, plus --max-steps, --lr, --resume.
// With --resume the arguments saved in the checkpoint's state.json are applied first, then the ones given.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "backend_open.h"
#include "comm.h"
#include "commands.h"
#include "cuda_backend.h"
#include "train.h"

typedef struct {
    ditc_train_args a;
    const char *resume;
    int64_t seed;
    int no_flip;
    const char *device, *precision, *comm;
    arg_def defs[56];
    int n;
} train_flags;

static void declare(train_flags *f) {
    ditc_train_args *a = &f->a;
    arg_def d[] = {
        {"--data-path", ARG_STR, &a->data_path,
         "ImageFolder root, CIFAR-10 dir, IDX dir/file (e.g. /usr/share/datasets/fashion-mnist), `ditc extract` "
         "shards, or 'synthetic'",
         0},
        {"--dataset", ARG_STR, &a->dataset,
         "auto (default: by what --data-path holds), imagefolder, cifar10, idx, shards, synthetic", 0},
        {"--skip-bad-images", ARG_BOOL, &a->skip_bad_images,
         "skip and count undecodable image files (default: stop naming the file)", 0},
        {"--results-dir", ARG_STR, &a->results_dir, "where runs go: <dir>/NNN-<model>/ (default results)", 0},
        {"--model", ARG_STR, &a->model, "DiT-S/2 ... DiT-XL/8, LDiT-600M|3B|7B (default DiT-XL/2)", 0},
        {"--depth", ARG_INT, &a->depth, "override the model's depth (tiny debugging configs)", 0},
        {"--hidden-size", ARG_INT, &a->hidden_size, "override the hidden size", 0},
        {"--num-heads", ARG_INT, &a->num_heads, "override the number of heads", 0},
        {"--patch-size", ARG_INT, &a->patch_size, "override the patch size", 0},
        {"--image-size", ARG_INT, &a->image_size,
         "input side (pads/resizes the data; default: native, padded to the patch)", 0},
        {"--num-classes", ARG_INT, &a->num_classes, "classes (default: from the data)", 0},
        {"--epochs", ARG_I64, &a->epochs, "epochs (default 1400)", 0},
        {"--global-batch-size", ARG_I64, &a->global_batch, "images per step over all processes (default 256)", 0},
        {"--global-seed", ARG_I64, &f->seed, "seed of every random draw (default 0)", 0},
        {"--num-workers", ARG_INT, &a->num_workers,
         "data loader threads with a bounded prefetch ring (default 4; 0 = in the training thread); output identical "
         "for any count",
         0},
        {"--log-every", ARG_I64, &a->log_every, "log every N steps (default 100)", 0},
        {"--ckpt-every", ARG_I64, &a->ckpt_every, "checkpoint every N steps (default 50000; always at the end)", 0},
        {"--max-steps", ARG_I64, &a->max_steps, "stop after this many steps in total", 0},
        {"--lr", ARG_FLOAT, &a->lr, "learning rate (default: AdamW 1e-4, SophiaG 2e-4)", 0},
        {"--optimizer", ARG_STR, &a->optimizer, "adamw (default) or sophiag (SophiaG with a GNB Hessian estimate)", 0},
        {"--beta1", ARG_FLOAT, &a->beta1, "momentum coefficient (default: AdamW 0.9, SophiaG 0.965)", 0},
        {"--beta2", ARG_FLOAT, &a->beta2,
         "second-moment / Hessian EMA coefficient (default: AdamW 0.999, SophiaG 0.99)", 0},
        {"--weight-decay", ARG_FLOAT, &a->weight_decay, "decoupled weight decay (default 0)", 0},
        {"--rho", ARG_FLOAT, &a->rho, "SophiaG clipping rho (default 0.01)", 0},
        {"--hessian-every", ARG_I64, &a->hessian_every,
         "SophiaG: refresh the Hessian estimate every k steps (default 10)", 0},
        {"--warmup-steps", ARG_I64, &a->warmup_steps, "linear learning-rate warm-up (default 0)", 0},
        {"--lr-schedule", ARG_STR, &a->lr_schedule,
         "constant (default, as the reference) or cosine (decay to --min-lr-ratio x lr at the run's last step)", 0},
        {"--min-lr-ratio", ARG_FLOAT, &a->min_lr_ratio, "with --lr-schedule cosine: the final lr / lr (default 0.1)",
         0},
        {"--max-grad-norm", ARG_FLOAT, &a->max_grad_norm, "clip the global gradient norm (default off)", 0},
        {"--ema-decay", ARG_FLOAT, &a->ema_decay, "EMA decay (default 0.9999)", 0},
        {"--no-flip", ARG_BOOL, &f->no_flip, "no random horizontal flip", 0},
        {"--grad-checkpointing", ARG_BOOL, &a->grad_checkpointing, "recompute each block in backward (less memory)", 0},
        {"--grad-checkpoint", ARG_BOOL, &a->grad_checkpointing, "the same as --grad-checkpointing", 0},
        {"--micro-batch-size", ARG_I64, &a->micro_batch,
         "gradient accumulation: samples per forward/backward (divides the per-process batch)", 0},
        {"--synthetic-size", ARG_I64, &a->synthetic_size, "samples of the synthetic data set (default 4096)", 0},
        {"--device", ARG_STR, &f->device,
         "cpu (default), cuda or cuda:N (under mpirun, cuda = the GPU of the node-local rank)", 0},
        {"--comm", ARG_STR, &f->comm,
         "under mpirun: auto (default: NCCL for --device cuda when built with it and each rank has its own GPU, else "
         "MPI), mpi or nccl",
         0},
        {"--precision", ARG_STR, &f->precision, "GEMM/attention arithmetic: fp32 (default), tf32 or bf16 (cuda only)",
         0},
        {"--threads", ARG_INT, &a->threads, "CPU threads (default: OMP_NUM_THREADS or all cores)", 0},
        {"--resume", ARG_STR, &f->resume,
         "latest | auto (latest, or a fresh run when there is none yet) | a run directory | a checkpoint directory", 0},
        {"--checkpoint-on-signal", ARG_STR, &a->ckpt_signals,
         "signals that stop the run after the current step with a checkpoint, exit status 75 (default "
         "TERM,INT,USR1; none)",
         0},
        {"--keep-last", ARG_I64, &a->keep_last,
         "keep only the newest N checkpoints (older ones deleted after each new one is complete; default 0 = all)", 0},
        {"--keep-every", ARG_I64, &a->keep_every,
         "with --keep-last: also keep every checkpoint whose step is a "
         "multiple of M",
         0},
        {"--skip-update-zscore", ARG_FLOAT, &a->skip_zscore,
         "skip the update when the loss or gradient norm is more than K standard deviations above its recent "
         "mean (default 0 = off; non-finite ones are always skipped)",
         0},
        {"--skip-update-max", ARG_I64, &a->skip_max, "stop the run after M skipped updates in a row (default 5)", 0},
        {"--sample-every", ARG_I64, &a->sample_every,
         "every K steps (and at the end) an EMA sample grid, one row per class, into <run>/samples/ (default off)", 0},
        {"--sample-steps", ARG_I64, &a->sample_steps, "DDIM steps of those grids (default 50; cfg 4, seed fixed)", 0},
        {"--plot", ARG_BOOL, &a->plot, "draw the loss curve into <run>/loss.png (at each checkpoint and at the end)",
         0},
        {"--no-tensorboard", ARG_BOOL, &a->no_tensorboard,
         "no TensorBoard event file in the run directory (default: written)", 0},
        {"--vae", ARG_STR, &a->vae,
         "AutoencoderKL (diffusers directory or .safetensors): encode images to latents on the fly", 0},
        {"--vae-tile", ARG_INT, &a->vae_tile,
         "with --vae: encode images larger than T pixels in overlapping T-pixel tiles (diffusers' tiling)", 0},
        {"--zero", ARG_INT, &a->zero, "0 = data parallel (default), 2 = ZeRO-2 (sharded gradients, AdamW state, EMA)",
         0},
    };
    _Static_assert(sizeof d / sizeof *d <= sizeof f->defs / sizeof *f->defs, "train_flags.defs is too small");
    f->n = (int)(sizeof d / sizeof *d);
    memcpy(f->defs, d, sizeof d);
}

static int train_with(ditc_comm **commp, int argc, char **argv, train_flags *fp, const char *usage);

int cmd_train(int argc, char **argv) {
    train_flags f;
    ditc_train_args_defaults(&f.a);
    f.resume = NULL;
    f.seed = 0;
    f.no_flip = 0;
    f.device = NULL;
    f.precision = NULL;
    f.comm = NULL;
    declare(&f);
    const char *usage = "--data-path PATH [--model DiT-S/2] [flags]";
    int r = args_parse("train", argc, argv, f.defs, f.n, usage);
    if (r) return r == 1 ? 0 : r;
    // Under mpirun/srun every rank runs this; MPI is picked automatically.
    ditc_status cst = {0};
    ditc_comm *comm = ditc_comm_auto(NULL, NULL, &cst);
    if (!comm) {
        fprintf(stderr, "ditc train: %s\n", cst.message);
        return 1;
    }
    r = train_with(&comm, argc, argv, &f, usage);          // may replace comm by the NCCL communicator built on it
    if (r && r != DITC_TRAIN_STOPPED && comm->world > 1) { // one rank failed: end every rank (no hang)
        fprintf(stderr, "ditc train: rank %d of %d failed; stopping the job\n", comm->rank, comm->world);
        comm->abort(comm, r);
    }
    comm->destroy(comm);
    return r;
}

// The communicator and the GPU of this rank for --device (under mpirun/srun; a single process keeps its own).
// A bare "cuda" means the GPU of the node-local rank, modulo the GPUs visible (several ranks may share one).
// --comm auto picks NCCL (device buffers over NCCL, host scalars over the MPI communicator underneath) when ditc
// is built with -DDITC_NCCL=ON, the device is a GPU and every rank of each node has a GPU of its own (NCCL cannot
// put two ranks on one GPU); otherwise MPI, which stages device buffers through host memory. All ranks decide
// together, so they never disagree. Returns 0, or 1 with a message in st.
static int pick_comm(ditc_comm **commp, const char *device, const char *choice, char *dev, size_t dev_len,
                     ditc_status *st) {
    ditc_comm *comm = *commp;
    if (!choice) choice = "auto";
    if (strcmp(choice, "auto") && strcmp(choice, "mpi") && strcmp(choice, "nccl"))
        return ditc_fail(st, DITC_ERR_ARG, "--comm '%s': expected auto, mpi or nccl", choice);
    int is_cuda = device && !strncmp(device, "cuda", 4) && (device[4] == '\0' || device[4] == ':');
    int ngpu = is_cuda ? ditc_cuda_device_count() : 0;
    if (device && !strcmp(device, "cuda")) snprintf(dev, dev_len, "cuda:%d", ngpu > 0 ? comm->local_rank % ngpu : 0);
    else snprintf(dev, dev_len, "%s", device ? device : "cpu");
    if (comm->world == 1 || !strcmp(choice, "mpi")) return 0;
    // own GPU: "cuda" with local_world <= GPUs, or an explicit cuda:N with one rank on the node
    int own = is_cuda && ngpu > 0 && (!strcmp(device, "cuda") ? comm->local_world <= ngpu : comm->local_world == 1);
#ifdef DITC_HAVE_NCCL
    const int built = 1;
#else
    const int built = 0;
#endif
    float votes = (float)(built && own);
    comm->allreduce_sum(comm, NULL, &votes, 1, DITC_F32); // host scalar: over MPI
    int all = (int)votes == comm->world;
    if (!all) {
        if (!strcmp(choice, "nccl"))
            return ditc_fail(st, DITC_ERR_UNSUPPORTED, "--comm nccl: %s",
                             !built      ? "ditc is built without -DDITC_NCCL=ON"
                             : !is_cuda  ? "needs --device cuda"
                             : ngpu == 0 ? "no CUDA device is visible"
                             : own       ? "another rank cannot use NCCL"
                                         : "every rank needs a GPU of its own (NCCL cannot share one)");
        if (is_cuda && built && comm->rank == 0)
            fprintf(stderr,
                    "ditc train: %d ranks share %d GPU(s) on a node: gradients are all-reduced over MPI through host "
                    "memory, not NCCL\n",
                    comm->local_world, ngpu);
        return 0;
    }
#ifdef DITC_HAVE_NCCL
    int idx = atoi(dev + 5);
    ditc_comm *nc = ditc_comm_nccl_new(comm, idx, st);
    if (!nc) return 1;
    *commp = nc; // owns comm now (destroying nc destroys it)
#endif
    return 0;
}

static int train_with(ditc_comm **commp, int argc, char **argv, train_flags *fp, const char *usage) {
    train_flags f = *fp;
    int r;
    char ckpt[4096];
    ditc_status st = {0};
    char **merged = NULL;
    ditc_kv kv = {0};
    if (f.resume) {
        if (ditc_resolve_resume(f.resume, f.a.results_dir, ckpt, sizeof ckpt, &st)) {
            fprintf(stderr, "ditc train: %s\n", st.message);
            return 1;
        }
        if (!ckpt[0]) f.resume = NULL; // --resume auto with nothing to resume: a fresh run
    }
    if (f.resume) {
        char sp[4096 + 16];
        snprintf(sp, sizeof sp, "%s/state.json", ckpt);
        int64_t n = 0;
        if (ditc_kv_load(&kv, sp, &st) || ditc_kv_get_i64(&kv, "argc", &n, sp, &st)) {
            fprintf(stderr, "ditc train: %s\n", st.message);
            return 1;
        }
        // saved arguments first (minus their own --resume), then the ones given now
        merged = calloc((size_t)(n + argc + 1), sizeof *merged);
        int k = 0;
        merged[k++] = argv[0];
        for (int64_t i = 1; i < n; i++) {
            char key[32];
            snprintf(key, sizeof key, "arg.%lld", (long long)i);
            const char *v = ditc_kv_get(&kv, key);
            if (!v) {
                fprintf(stderr, "ditc train: %s: missing %s\n", sp, key);
                return 1;
            }
            if (!strcmp(v, "--resume")) {
                i++;
                continue;
            }
            merged[k++] = (char *)v;
        }
        for (int i = 1; i < argc; i++) merged[k++] = argv[i];
        ditc_train_args_defaults(&f.a);
        f.resume = NULL;
        declare(&f);
        if ((r = args_parse("train", k, merged, f.defs, f.n, usage))) {
            free(merged);
            ditc_kv_free(&kv);
            return r == 1 ? 0 : r;
        }
        f.a.resume_dir = ckpt;
        argc = k; // the checkpoint records the merged arguments, so a later resume sees them all
        argv = merged;
    }
    f.a.global_seed = (uint64_t)f.seed;
    f.a.random_flip = !f.no_flip;
    f.a.argc = argc;
    f.a.argv = argv;
    char dev[64];
    if (pick_comm(commp, f.device, f.comm, dev, sizeof dev, &st)) {
        fprintf(stderr, "ditc train: %s\n", st.message);
        free(merged);
        ditc_kv_free(&kv);
        return 1;
    }
    ditc_comm *comm = *commp;
    ditc_backend *be = ditc_backend_open(dev, f.precision, f.a.threads, &st);
    if (!be) {
        fprintf(stderr, "ditc train: %s\n", st.message);
        free(merged);
        ditc_kv_free(&kv);
        return 1;
    }
    r = ditc_train(be, comm, &f.a, &st);
    be->destroy(be);
    free(merged);
    ditc_kv_free(&kv);
    if (r == DITC_TRAIN_STOPPED) return r; // stopped by a signal with a checkpoint (logged by rank 0)
    if (r) {
        fprintf(stderr, "ditc train: %s\n", st.message);
        return 1;
    }
    return 0;
}

// cmd_train.c — `ditc train`: flags named as the reference train.py, plus --max-steps, --lr, --resume, and the
// PyTorch DiT scripts' spellings as aliases. With --resume the arguments saved in the checkpoint's state.json (or,
// for a reference train.py .pt, its mapped `args`) are applied first, then the ones given.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    int64_t batch_size; // OpenDiT's --batch_size: per process (0: not given)
    const char *plugin; // OpenDiT's --plugin zero2|ddp
    int local_rank;     // the launchers' --local-rank (-1: not given)
    arg_def defs[96];
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
        {"--precision", ARG_STR, &f->precision,
         "GEMM/attention arithmetic: fp32 (default), tf32 (cuda) or bf16 (cuda; on the cpu an emulation for "
         "cross-checks)",
         0},
        {"--threads", ARG_INT, &a->threads, "CPU threads (default: OMP_NUM_THREADS or all cores)", 0},
        {"--resume", ARG_STR, &f->resume,
         "latest | auto (latest, or a fresh run when there is none yet) | a run directory | a checkpoint directory", 0},
        {"--checkpoint-on-signal", ARG_STR, &a->ckpt_signals,
         "signals that stop the run after the current step with a checkpoint, exit status 75 (default "
         "TERM,INT,USR1,PIPE; none)",
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
        {"--fid-every", ARG_I64, &a->fid_every,
         "every K steps (and at the end) FID of --fid-samples EMA samples vs --fid-ref, logged (default off)", 0},
        {"--fid-samples", ARG_I64, &a->fid_samples, "samples per FID (default 1000; the paper's figure uses 50000)", 0},
        {"--fid-steps", ARG_I64, &a->fid_steps, "DDIM steps of the FID samples (default 50; cfg 1.5)", 0},
        {"--fid-ref", ARG_STR, &a->fid_ref, "reference statistics .npz (ditc fid --save-stats, or pytorch-fid's)", 0},
        {"--inception", ARG_STR, &a->inception, "the FID Inception weights (.safetensors or .pt; see ditc fid)", 0},
        {"--plot", ARG_BOOL, &a->plot, "draw the loss curve into <run>/loss.png (at each checkpoint and at the end)",
         0},
        {"--no-tensorboard", ARG_BOOL, &a->no_tensorboard,
         "no TensorBoard event file in the run directory (default: written)", 0},
        {"--vae", ARG_STR, &a->vae,
         "AutoencoderKL (diffusers directory or .safetensors): encode images to latents on the fly", 0},
        {"--vae-tile", ARG_INT, &a->vae_tile,
         "with --vae: encode images larger than T pixels in overlapping T-pixel tiles (diffusers' tiling)", 0},
        {"--grad-bucket-mb", ARG_FLOAT, &a->grad_bucket_mb,
         "several processes: all-reduce the gradient in buckets of ~N MiB as the backward pass finishes them, "
         "overlapped with the rest of it (default 25, as PyTorch DDP; 0 = one all-reduce after the backward)",
         0},
        {"--zero", ARG_INT, &a->zero, "0 = data parallel (default), 2 = ZeRO-2 (sharded gradients, AdamW state, EMA)",
         0},
        {"--init-from", ARG_STR, &a->init_from,
         "start a fresh run (step 0, new optimizer) from pretrained weights: .safetensors, .pt/.pth (a state_dict or "
         "a checkpoint dict) or a ditc checkpoint directory; they must fit the model of the flags",
         0},
        {"--init-select", ARG_STR, &a->init_select,
         "with --init-from: which weights of a checkpoint: ema (default: its ema, else model, else the whole file), "
         "model, or a key",
         0},
        {"--init-ema", ARG_BOOL, &a->init_ema,
         "with --init-from: the EMA from the file's ema (and the model from its model) when it holds both (default: "
         "the EMA starts as the loaded weights)",
         0},
        {"--init-skip", ARG_STR, &a->init_skip,
         "with --init-from: comma-separated name prefixes (e.g. y_embedder,final_layer) not loaded: they keep their "
         "fresh initialisation",
         0},
        // the PyTorch DiT scripts' spellings (--help lists them as aliases)
        {"--batch-size", ARG_I64, &f->batch_size, "OpenDiT: images per process (global = batch x processes)", 0},
        {"--plugin", ARG_STR, &f->plugin, "OpenDiT: zero2 (= --zero 2) or ddp (= --zero 0)", 0},
        {"--local-rank", ARG_INT, &f->local_rank,
         "DeepSpeed/torch launchers: accepted; with --device cuda in a single process, the GPU index", 0},
        {"--vae-path", ARG_ALIAS, "--vae", "DeepSpeed DiT", 0},
        {"--train_batch_size", ARG_ALIAS, "--global-batch-size", "DeepSpeed DiT (images per step over all processes)",
         0},
        {"--local_rank", ARG_ALIAS, "--local-rank", "DeepSpeed DiT", 0},
        {"--batch_size", ARG_ALIAS, "--batch-size", "OpenDiT (per process)", 0},
        {"--num_classes", ARG_ALIAS, "--num-classes", "OpenDiT", 0},
        {"--image_size", ARG_ALIAS, "--image-size", "OpenDiT", 0},
        {"--mixed_precision", ARG_ALIAS, "--precision", "OpenDiT (bf16)", 0},
        {"--grad_checkpoint", ARG_ALIAS, "--grad-checkpoint", "OpenDiT", 0},
        {"--load", ARG_ALIAS, "--resume", "OpenDiT (a directory to resume)", 0},
        {"--micro_batch_size", ARG_ALIAS, "--micro-batch-size", "Large-DiT", 0},
        {"--global_batch_size", ARG_ALIAS, "--global-batch-size", "Large-DiT, fast-DiT", 0},
    };
    _Static_assert(sizeof d / sizeof *d <= sizeof f->defs / sizeof *f->defs, "train_flags.defs is too small");
    f->n = (int)(sizeof d / sizeof *d);
    memcpy(f->defs, d, sizeof d);
}

static void flags_init(train_flags *f) {
    memset(f, 0, sizeof *f);
    ditc_train_args_defaults(&f->a);
    f->local_rank = -1;
    declare(f);
}

static int train_with(ditc_comm **commp, int argc, char **argv, train_flags *fp, const char *usage);

int cmd_train(int argc, char **argv) {
    train_flags f;
    flags_init(&f);
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

// 1 if no other rank uses GPU `idx` of this rank (-1: none), by the GPUs' UUIDs — which name the physical GPU
// whatever CUDA_VISIBLE_DEVICES each rank was given (srun --gpus-per-task=1: every rank's cuda:0, each its own).
// Every rank takes part (one all-reduce of the UUIDs over the communicator).
static int own_gpu(ditc_comm *comm, int idx) {
    unsigned char u[16];
    int have = idx >= 0 && ditc_cuda_device_uuid(idx, u) == 0;
    double *all = ditc_xcalloc((size_t)comm->world * 4, sizeof *all); // rank r: 4 words + 1 (0: no GPU) at 4r
    for (int i = 0; have && i < 4; i++)
        all[comm->rank * 4 + i] = 1.0 + (double)((uint32_t)u[4 * i] << 24 | (uint32_t)u[4 * i + 1] << 16 |
                                                 (uint32_t)u[4 * i + 2] << 8 | u[4 * i + 3]);
    comm->allreduce_sum(comm, NULL, all, (size_t)comm->world * 4, DITC_F64); // (exact: one non-zero term each)
    int own = have;
    for (int r = 0; own && r < comm->world; r++)
        if (r != comm->rank && !memcmp(all + 4 * r, all + 4 * comm->rank, 4 * sizeof *all)) own = 0;
    free(all);
    return own;
}

// The communicator and the GPU of this rank for --device (under mpirun/srun; a single process keeps its own).
// A bare "cuda" means the GPU of the node-local rank, modulo the GPUs visible (several ranks may share one).
// --comm auto picks NCCL (device buffers over NCCL, host scalars over the MPI communicator underneath) when ditc
// is built with -DDITC_NCCL=ON, the device is a GPU and every rank has a GPU of its own (by UUID: NCCL cannot put
// two ranks on one GPU); otherwise MPI, which stages device buffers through host memory. All ranks decide
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
    int own = own_gpu(comm, is_cuda && ngpu > 0 ? atoi(dev + 5) : -1);
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
                    "ditc train: ranks share a GPU (%d ranks on this node, %d GPU(s) visible to each): gradients are "
                    "all-reduced over MPI through host memory, not NCCL\n",
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

// 1 if arg is --resume (or an alias, or --resume=V); *inline_value: the value is in the same word.
static int is_resume_flag(const train_flags *f, const char *arg, int *inline_value) {
    char name[64];
    const char *eq = strchr(arg, '=');
    snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
    *inline_value = eq != NULL;
    const arg_def *d = args_find(f->defs, f->n, name);
    return d && d->dst == (const void *)&f->resume;
}

// argv[0], then `saved` (minus its own --resume), then argv[1..argc): a new argv (the strings not copied).
static char **merge_args(const train_flags *f, int argc, char **argv, char **saved, int nsaved, int *k) {
    char **merged = calloc((size_t)(nsaved + argc + 1), sizeof *merged);
    *k = 0;
    merged[(*k)++] = argv[0];
    for (int i = 0; i < nsaved; i++) {
        int inl;
        if (is_resume_flag(f, saved[i], &inl)) {
            i += !inl;
            continue;
        }
        merged[(*k)++] = saved[i];
    }
    for (int i = 1; i < argc; i++) merged[(*k)++] = argv[i];
    return merged;
}

// The saved arguments of a ditc checkpoint (state.json) or the mapped args of a reference train.py checkpoint
// (a .pt file: --resume FILE.pt), then the given ones, parsed again into *f. *saved_argv/*merged: to free.
static int apply_saved_args(train_flags *f, int *argc, char ***argv, const char *ckpt, int pt, ditc_kv *kv,
                            char ***saved_argv, char ***merged, const char *usage, ditc_status *st) {
    int64_t n = 0;
    char **saved = NULL;
    int nsaved = 0;
    if (pt) {
        if (ditc_train_pt_flags(ckpt, f->a.vae != NULL, &saved, &nsaved, st)) return 1;
        *saved_argv = saved;
    } else {
        char sp[4096 + 16];
        snprintf(sp, sizeof sp, "%s/state.json", ckpt);
        if (ditc_kv_load(kv, sp, st) || ditc_kv_get_i64(kv, "argc", &n, sp, st)) return 1;
        saved = *saved_argv = calloc((size_t)n + 1, sizeof *saved);
        for (int64_t i = 1; i < n; i++) {
            char key[32];
            snprintf(key, sizeof key, "arg.%lld", (long long)i);
            if (!(saved[nsaved++] = (char *)ditc_kv_get(kv, key))) {
                ditc_fail(st, DITC_ERR_FORMAT, "%s: missing %s", sp, key);
                return 1;
            }
        }
    }
    int k;
    *merged = merge_args(f, *argc, *argv, saved, nsaved, &k);
    flags_init(f);
    int r = args_parse("train", k, *merged, f->defs, f->n, usage);
    if (r) return r == 1 ? -1 : r; // -1: --help
    f->resume = NULL;
    if (pt) f->a.resume_pt = ckpt;
    else f->a.resume_dir = ckpt;
    *argc = k; // the checkpoint records the merged arguments, so a later resume sees them all
    *argv = *merged;
    return 0;
}

// The PyTorch scripts' flags that are not plain spellings of ditc's: OpenDiT's per-process --batch_size and
// --plugin, the launchers' --local-rank (the GPU of a single process with --device cuda), and the reference
// train.py's --vae ema|mse (hub names, not paths).
static int apply_script_flags(train_flags *f, int world, char *dev_override, size_t n, ditc_status *st) {
    if (f->batch_size) f->a.global_batch = f->batch_size * world;
    if (f->plugin) {
        if (!strcmp(f->plugin, "zero2")) f->a.zero = 2;
        else if (!strcmp(f->plugin, "ddp")) f->a.zero = 0;
        else return ditc_fail(st, DITC_ERR_ARG, "--plugin '%s': expected zero2 (= --zero 2) or ddp", f->plugin);
    }
    dev_override[0] = 0;
    if (f->local_rank >= 0 && f->device && !strcmp(f->device, "cuda") && world == 1)
        snprintf(dev_override, n, "cuda:%d", f->local_rank);
    const char *v = f->a.vae;
    if (v && (!strcmp(v, "ema") || !strcmp(v, "mse")) && access(v, F_OK) != 0)
        return ditc_fail(st, DITC_ERR_ARG,
                         "--vae %s: the reference's hub name (stabilityai/sd-vae-ft-%s); ditc downloads nothing: pass "
                         "the local sd-vae-ft-%s folder (diffusers layout) or its .safetensors",
                         v, v, v);
    return 0;
}

static int train_with(ditc_comm **commp, int argc, char **argv, train_flags *fp, const char *usage) {
    train_flags f = *fp;
    int r = 1;
    char ckpt[4096], dev[64], dev_override[64];
    ditc_status st = {0};
    char **merged = NULL, **saved = NULL;
    ditc_kv kv = {0};
    ditc_backend *be = NULL;
    struct stat sb;
    int pt = f.resume && stat(f.resume, &sb) == 0 && S_ISREG(sb.st_mode); // a reference train.py .pt file
    if (pt) snprintf(ckpt, sizeof ckpt, "%s", f.resume);
    else if (f.resume && ditc_resolve_resume(f.resume, f.a.results_dir, ckpt, sizeof ckpt, &st)) goto done;
    if (f.resume && ckpt[0]) { // (--resume auto with nothing to resume: a fresh run)
        int a = apply_saved_args(&f, &argc, &argv, ckpt, pt, &kv, &saved, &merged, usage, &st);
        if (a) {
            r = a == -1 ? 0 : a == 2 ? 2 : 1;
            if (a != 1) st.message[0] = 0;
            goto done;
        }
    }
    f.a.global_seed = (uint64_t)f.seed;
    f.a.random_flip = !f.no_flip;
    f.a.argc = argc;
    f.a.argv = argv;
    if (apply_script_flags(&f, (*commp)->world, dev_override, sizeof dev_override, &st) ||
        pick_comm(commp, dev_override[0] ? dev_override : f.device, f.comm, dev, sizeof dev, &st))
        goto done;
    if (!(be = ditc_backend_open(dev, f.precision, f.a.threads, &st))) goto done;
    r = ditc_train(be, *commp, &f.a, &st);
    if (r && r != DITC_TRAIN_STOPPED) r = 1;
done:
    if (be) be->destroy(be);
    free(merged);
    if (pt) ditc_train_pt_flags_free(saved);
    else free(saved);
    ditc_kv_free(&kv);
    if (r == DITC_TRAIN_STOPPED) return r; // stopped by a signal with a checkpoint (logged by rank 0)
    if (r && st.message[0]) fprintf(stderr, "ditc train: %s\n", st.message);
    return r;
}

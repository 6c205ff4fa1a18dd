// cmd_train.c — `ditc train`: flags named as the reference train.py, plus --max-steps, --lr, --resume.
// With --resume the arguments saved in the checkpoint's state.json are applied first, then the ones given.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "backend_open.h"
#include "comm.h"
#include "commands.h"
#include "train.h"

typedef struct {
    ditc_train_args a;
    const char *resume;
    int64_t seed;
    int no_flip;
    const char *device, *precision;
    arg_def defs[48];
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
        {"--max-grad-norm", ARG_FLOAT, &a->max_grad_norm, "clip the global gradient norm (default off)", 0},
        {"--ema-decay", ARG_FLOAT, &a->ema_decay, "EMA decay (default 0.9999)", 0},
        {"--no-flip", ARG_BOOL, &f->no_flip, "no random horizontal flip", 0},
        {"--grad-checkpointing", ARG_BOOL, &a->grad_checkpointing, "recompute each block in backward (less memory)", 0},
        {"--grad-checkpoint", ARG_BOOL, &a->grad_checkpointing, "the same as --grad-checkpointing", 0},
        {"--micro-batch-size", ARG_I64, &a->micro_batch,
         "gradient accumulation: samples per forward/backward (divides the per-process batch)", 0},
        {"--synthetic-size", ARG_I64, &a->synthetic_size, "samples of the synthetic data set (default 4096)", 0},
        {"--device", ARG_STR, &f->device, "cpu (default), cuda or cuda:N", 0},
        {"--precision", ARG_STR, &f->precision, "GEMM/attention arithmetic: fp32 (default), tf32 or bf16 (cuda only)",
         0},
        {"--threads", ARG_INT, &a->threads, "CPU threads (default: OMP_NUM_THREADS or all cores)", 0},
        {"--resume", ARG_STR, &f->resume, "latest | a run directory | a checkpoint directory", 0},
        {"--vae", ARG_STR, &a->vae,
         "AutoencoderKL (diffusers directory or .safetensors): encode images to latents on the fly", 0},
        {"--vae-tile", ARG_INT, &a->vae_tile,
         "with --vae: encode images larger than T pixels in overlapping T-pixel tiles (diffusers' tiling)", 0},
        {"--zero", ARG_INT, &a->zero, "0 = data parallel (default), 2 = ZeRO-2 (sharded gradients, AdamW state, EMA)",
         0},
    };
    f->n = (int)(sizeof d / sizeof *d);
    memcpy(f->defs, d, sizeof d);
}

static int train_with(ditc_comm **comm, int argc, char **argv, train_flags *fp, const char *usage);

int cmd_train(int argc, char **argv) {
    train_flags f;
    ditc_train_args_defaults(&f.a);
    f.resume = NULL;
    f.seed = 0;
    f.no_flip = 0;
    f.device = NULL;
    f.precision = NULL;
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
    r = train_with(&comm, argc, argv, &f, usage); // may swap in NCCL for the CUDA backend
    if (r && comm->world > 1) {                   // one rank failed: end every rank with its message (no hang)
        fprintf(stderr, "ditc train: rank %d of %d failed; stopping the job\n", comm->rank, comm->world);
        comm->abort(comm, r);
    }
    comm->destroy(comm);
    return r;
}

static int train_with(ditc_comm **commp, int argc, char **argv, train_flags *fp, const char *usage) {
    ditc_comm *comm = *commp;
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
    // one GPU per process: a bare "cuda" under mpirun/srun means cuda:<local rank>
    char dev[32];
    const char *device = f.device;
    if (device && !strcmp(device, "cuda")) {
        snprintf(dev, sizeof dev, "cuda:%d", comm->local_rank);
        device = dev;
    }
    ditc_backend *be = ditc_backend_open(device, f.precision, f.a.threads, &st);
    if (!be) {
        fprintf(stderr, "ditc train: %s\n", st.message);
        free(merged);
        ditc_kv_free(&kv);
        return 1;
    }
    // the CUDA backend's buffers under mpirun: NCCL (when built with -DDITC_NCCL=ON), host scalars over MPI
    ditc_comm *cc = ditc_comm_for_backend(comm, be, &st);
    if (!cc) {
        fprintf(stderr, "ditc train: %s\n", st.message);
        be->destroy(be);
        free(merged);
        ditc_kv_free(&kv);
        return 1;
    }
    *commp = comm = cc;
    r = ditc_train(be, comm, &f.a, &st);
    be->destroy(be);
    free(merged);
    ditc_kv_free(&kv);
    if (r) {
        fprintf(stderr, "ditc train: %s\n", st.message);
        return 1;
    }
    return 0;
}

// cmd_check.c — `ditc check`: dump the numerics of one batch for comparison with PyTorch (core/run/check.c).
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "backend_open.h"
#include "check.h"
#include "check_vae.h"
#include "commands.h"
#include "cpu_backend.h"

int cmd_check(int argc, char **argv) {
    ditc_check_args a = {.lr = NAN, .optimizer = "adamw", .rho = 0.01, .hessian_every = 10};
    ditc_check_vae_args va = {0};
    int threads = 0;
    const char *device = NULL, *precision = NULL;
    arg_def defs[] = {
        {"--ckpt", ARG_STR, &a.ckpt, "weights (.safetensors, reference DiT names)", 0},
        {"--inputs", ARG_STR, &a.inputs, "x F32 [B,C,S,S], t, y (I64/I32) [B], noise F32 [B,C,S,S]", 0},
        {"--out", ARG_STR, &a.out, "output .safetensors", 0},
        {"--num-heads", ARG_INT, &a.num_heads, "attention heads (default: metadata, else D/64)", 0},
        {"--grads", ARG_BOOL, &a.grads, "also write grad.<param> of mean(loss)", 0},
        {"--train-steps", ARG_INT, &a.train_steps, "N optimizer steps on the batch: loss_steps [N], param.<name>", 0},
        {"--lr", ARG_FLOAT, &a.lr, "learning rate for --train-steps (default: AdamW 1e-4, SophiaG 2e-4)", 0},
        {"--optimizer", ARG_STR, &a.optimizer,
         "adamw (default) or sophiag (also writes hessian_noise [R,B,C,S,S], gnb_loss [R])", 0},
        {"--rho", ARG_FLOAT, &a.rho, "SophiaG rho (default 0.01)", 0},
        {"--hessian-every", ARG_INT, &a.hessian_every, "SophiaG: Hessian refresh after every k-th step (default 10)",
         0},
        {"--device", ARG_STR, &device, "cpu (default), cuda or cuda:N", 0},
        {"--precision", ARG_STR, &precision,
         "GEMM/attention arithmetic: fp32 (default), tf32 (cuda) or bf16 (cuda; on the cpu an emulation for "
         "cross-checks)",
         0},
        {"--threads", ARG_INT, &threads, "CPU threads (default: OMP_NUM_THREADS or all cores)", 0},
        {"--vae", ARG_STR, &va.vae, "VAE check instead: AutoencoderKL directory or .safetensors", 0},
        {"--image", ARG_STR, &va.image, "with --vae: a JPEG/PNG to encode (else --inputs: x [B,3,H,W], z)", 0},
        {"--image-size", ARG_INT, &va.image_size, "with --image: centre-crop to S (default: as it is)", 0},
        {"--vae-tile", ARG_INT, &va.tile, "with --vae: tile size in pixels (default 0: no tiling)", 0},
    };
    int n = (int)(sizeof defs / sizeof *defs),
        r = args_parse("check", argc, argv, defs, n, "--ckpt W --inputs IN --out OUT [flags]");
    if (r) return r == 1 ? 0 : r;
    if (va.vae) {
        va.inputs = a.inputs;
        va.out = a.out;
        if ((!va.image == !va.inputs) || !va.out || a.ckpt) {
            fprintf(stderr, "ditc check --vae: needs --out and exactly one of --image, --inputs (and no --ckpt)\n");
            return 2;
        }
        if (va.image_size < 0 || va.tile < 0) {
            fprintf(stderr, "ditc check: --image-size and --vae-tile must not be negative\n");
            return 2;
        }
        ditc_backend *be = ditc_cpu_backend_new(threads);
        ditc_status st = {0};
        r = ditc_check_vae_run(be, &va, &st);
        be->destroy(be);
        if (r) fprintf(stderr, "ditc check: %s\n", st.message);
        return r ? 1 : 0;
    }
    if (!a.ckpt || !a.inputs || !a.out) {
        fprintf(stderr, "ditc check: --ckpt, --inputs and --out are required\n");
        return 2;
    }
    if (a.train_steps < 0 || a.num_heads < 0) {
        fprintf(stderr, "ditc check: --train-steps and --num-heads must not be negative\n");
        return 2;
    }
    if (strcmp(a.optimizer, "adamw") && strcmp(a.optimizer, "sophiag")) {
        fprintf(stderr, "ditc check: --optimizer %s: expected adamw or sophiag\n", a.optimizer);
        return 2;
    }
    if (!(a.lr > 0) && !isnan(a.lr)) {
        fprintf(stderr, "ditc check: --lr %g: must be positive\n", a.lr);
        return 2;
    }
    if (!(a.rho >= 0)) {
        fprintf(stderr, "ditc check: --rho %g: must not be negative\n", a.rho);
        return 2;
    }
    if (a.hessian_every < 1) {
        fprintf(stderr, "ditc check: --hessian-every %d: must be at least 1\n", a.hessian_every);
        return 2;
    }
    ditc_status st = {0};
    ditc_backend *be = ditc_backend_open(device, precision, threads, &st);
    if (!be) {
        fprintf(stderr, "ditc check: %s\n", st.message);
        return 1;
    }
    r = ditc_check_run(be, &a, &st);
    be->destroy(be);
    if (r) {
        fprintf(stderr, "ditc check: %s\n", st.message);
        return 1;
    }
    return 0;
}

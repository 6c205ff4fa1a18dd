// cmd_sample.c — `ditc sample`: class-conditional samples from a checkpoint into a PNG grid.
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "backend_open.h"
#include "commands.h"
#include "sample.h"

int cmd_sample(int argc, char **argv) {
    ditc_sample_args a = {.out = "samples.png", .num_steps = 250, .cfg_scale = 4.0};
    const char *sampler = "ddpm", *cfg_channels = "3";
    int64_t seed = 0;
    int threads = 0;
    const char *device = NULL, *precision = NULL;
    arg_def defs[] = {
        {"--ckpt", ARG_STR, &a.ckpt, "checkpoint directory (EMA weights by default) or a weights .safetensors", 0},
        {"--out", ARG_STR, &a.out, "PNG grid to write (default samples.png)", 0},
        {"--class-labels", ARG_STR, &a.class_labels, "comma-separated classes (default: every class, one row each)", 0},
        {"--per-class", ARG_INT, &a.per_class, "samples per class when no labels are given (default 8)", 0},
        {"--cfg-scale", ARG_FLOAT, &a.cfg_scale, "classifier-free guidance scale (default 4.0; 1 = none)", 0},
        {"--cfg-channels", ARG_STR, &cfg_channels, "3 (reference: output channels 0..2) or all (every eps channel)", 0},
        {"--num-sampling-steps", ARG_INT, &a.num_steps, "respaced steps (default 250)", 0},
        {"--sampler", ARG_STR, &sampler, "ddpm (default) or ddim", 0},
        {"--seed", ARG_I64, &seed, "seed of the initial noise and the sampler (default 0)", 0},
        {"--use-model", ARG_BOOL, &a.use_model, "use the raw model weights instead of the EMA", 0},
        {"--num-heads", ARG_INT, &a.num_heads, "attention heads (default: from the checkpoint)", 0},
        {"--device", ARG_STR, &device, "cpu (default), cuda or cuda:N", 0},
        {"--precision", ARG_STR, &precision, "GEMM/attention arithmetic: fp32 (default), tf32 or bf16 (cuda only)", 0},
        {"--threads", ARG_INT, &threads, "CPU threads", 0},
        {"--vae", ARG_STR, &a.vae, "AutoencoderKL decoding a latent model's samples (z / scaling factor) to images", 0},
        {"--vae-tile", ARG_INT, &a.vae_tile, "with --vae: tile size in pixels for large images (default 0: no tiling)",
         0},
    };
    int r = args_parse("sample", argc, argv, defs, (int)(sizeof defs / sizeof *defs), "--ckpt DIR [flags]");
    if (r) return r == 1 ? 0 : r;
    if (!a.ckpt) {
        fprintf(stderr, "ditc sample: --ckpt is required\n");
        return 2;
    }
    if (strcmp(sampler, "ddpm") && strcmp(sampler, "ddim")) {
        fprintf(stderr, "ditc sample: --sampler '%s': expected ddpm or ddim\n", sampler);
        return 2;
    }
    if (strcmp(cfg_channels, "3") && strcmp(cfg_channels, "all")) {
        fprintf(stderr, "ditc sample: --cfg-channels '%s': expected 3 or all\n", cfg_channels);
        return 2;
    }
    if (a.num_steps < 1 || a.num_steps > 1000) {
        fprintf(stderr, "ditc sample: --num-sampling-steps %d: must be in 1..1000\n", a.num_steps);
        return 2;
    }
    if (a.cfg_scale < 1.0) {
        fprintf(stderr, "ditc sample: --cfg-scale %g: must be at least 1\n", a.cfg_scale);
        return 2;
    }
    if (a.vae_tile < 0) {
        fprintf(stderr, "ditc sample: --vae-tile %d: must not be negative\n", a.vae_tile);
        return 2;
    }
    a.ddim = !strcmp(sampler, "ddim");
    a.cfg_all_channels = !strcmp(cfg_channels, "all");
    a.seed = (uint64_t)seed;
    ditc_status st = {0};
    ditc_backend *be = ditc_backend_open(device, precision, threads, &st);
    if (!be) {
        fprintf(stderr, "ditc sample: %s\n", st.message);
        return 1;
    }
    r = ditc_sample_run(be, &a, &st);
    be->destroy(be);
    if (r) {
        fprintf(stderr, "ditc sample: %s\n", st.message);
        return 1;
    }
    return 0;
}

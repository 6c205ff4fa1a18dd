// cmd_extract.c — `ditc extract`: a data source's exact 8-bit samples into safetensors shards + index.json
// (core/data/shards.h; format in docs/data-formats.md), read back by `--data-path DIR` (auto-detected).
#include <stdio.h>

#include <string.h>

#include "args.h"
#include "commands.h"
#include "cpu_backend.h"
#include "extract.h"
#include "shards.h"

int cmd_extract(int argc, char **argv) {
    ditc_extract_args a = {.dataset = "auto", .vae = "none", .split = "train", .shard_size = DITC_SHARDS_DEFAULT_SIZE};
    arg_def defs[] = {
        {"--data-path", ARG_STR, &a.data_path,
         "the source: ImageFolder root, CIFAR-10 directory, IDX directory/file, shards", 0},
        {"--out", ARG_STR, &a.out_dir, "directory for shard-NNNNN.safetensors + index.json (created)", 0},
        {"--image-size", ARG_INT, &a.image_size,
         "side S of the stored samples (ImageFolder: required; others: default native)", 0},
        {"--dataset", ARG_STR, &a.dataset, "auto (default), imagefolder, cifar10, idx, shards", 0},
        {"--split", ARG_STR, &a.split, "train (default) or test (CIFAR-10 test_batch.bin)", 0},
        {"--vae", ARG_STR, &a.vae,
         "none (default: store image bytes) or an AutoencoderKL: latent shards (mean, logvar)", 0},
        {"--vae-tile", ARG_INT, &a.vae_tile, "with --vae: encode images larger than T pixels in overlapping tiles", 0},
        {"--flips", ARG_BOOL, &a.flips, "with --vae: also the latents of the flipped images (training with flips)", 0},
        {"--shard-size", ARG_I64, &a.shard_size, "samples per shard (default 8192)", 0},
        {"--skip-bad-images", ARG_BOOL, &a.skip_bad,
         "replace an undecodable ImageFolder file by the next decodable one", 0},
        {"--threads", ARG_INT, &a.threads, "decoding threads (default: OMP_NUM_THREADS or all cores)", 0},
    };
    int r = args_parse("extract", argc, argv, defs, (int)(sizeof defs / sizeof *defs),
                       "--data-path P --out DIR [--image-size S] [flags]");
    if (r) return r == 1 ? 0 : r;
    if (!a.data_path) {
        fprintf(stderr, "ditc extract: --data-path is required\n");
        return 2;
    }
    if (!a.out_dir) {
        fprintf(stderr, "ditc extract: --out is required\n");
        return 2;
    }
    if (a.shard_size < 1) {
        fprintf(stderr, "ditc extract: --shard-size %lld: must be at least 1\n", (long long)a.shard_size);
        return 2;
    }
    ditc_status st = {0};
    if (a.threads < 0) {
        fprintf(stderr, "ditc extract: --threads %d: must be at least 0\n", a.threads);
        return 2;
    }
    if (strcmp(a.vae, "none")) a.be = ditc_cpu_backend_new(a.threads);
    r = ditc_extract_run(&a, stdout, &st);
    if (a.be) a.be->destroy(a.be);
    if (r) {
        fprintf(stderr, "ditc extract: %s\n", st.message);
        return 1;
    }
    return 0;
}

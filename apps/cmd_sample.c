// cmd_sample.c — `ditc sample`: class-conditional samples from a checkpoint into a PNG grid, or with --npz the ADM
// sample batch (under mpirun/srun the batches are split over the ranks).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "backend_open.h"
#include "comm.h"
#include "commands.h"
#include "cuda_backend.h"
#include "sample.h"
#include "sample_npz.h"

// 1 if --batch appears on the command line (so that an explicit 0 is rejected, not taken as the default).
static int batch_given(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--batch") || !strncmp(argv[i], "--batch=", 8)) return 1;
    return 0;
}

// --npz: every rank (mpirun/srun) samples its batches; a bare --device cuda means the GPU of the node-local rank.
static int sample_npz(const ditc_sample_args *a, const char *device, const char *precision, int threads) {
    ditc_status st = {0};
    ditc_comm *comm = ditc_comm_auto(NULL, NULL, &st);
    if (!comm) {
        fprintf(stderr, "ditc sample: %s\n", st.message);
        return 1;
    }
    const char *ws = getenv("OMPI_COMM_WORLD_SIZE");
    if (!ws) ws = getenv("PMI_SIZE");
    if (comm->world == 1 && ws && atoi(ws) > 1) { // several lone processes would all write the same file
        fprintf(stderr,
                "ditc sample: --npz under a launcher of %s processes, but ditc is built without MPI "
                "(-DDITC_MPI=ON)\n",
                ws);
        comm->destroy(comm);
        return 1;
    }
    char dev[32];
    if (device && !strcmp(device, "cuda") && comm->world > 1) {
        int ngpu = ditc_cuda_device_count();
        snprintf(dev, sizeof dev, "cuda:%d", ngpu > 0 ? comm->local_rank % ngpu : 0);
        device = dev;
    }
    int r = 1;
    ditc_backend *be = ditc_backend_open(device, precision, threads, &st);
    if (be) {
        r = ditc_sample_npz_run(be, comm, a, &st);
        be->destroy(be);
    } else if (comm->world > 1) { // the others wait in a collective: end them all
        fprintf(stderr, "ditc sample: rank %d: %s\n", comm->rank, st.message);
        comm->abort(comm, 1);
    }
    if (r) {
        if (comm->world > 1) fprintf(stderr, "ditc sample: rank %d: %s\n", comm->rank, st.message);
        else fprintf(stderr, "ditc sample: %s\n", st.message);
    }
    comm->destroy(comm);
    return r ? 1 : 0;
}

int cmd_sample(int argc, char **argv) {
    static const char default_out[] = "samples.png";
    ditc_sample_args a = {.out = default_out, .num_steps = 250, .cfg_scale = 4.0};
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
        {"--precision", ARG_STR, &precision,
         "GEMM/attention arithmetic: fp32 (default), tf32 (cuda) or bf16 (cuda; on the cpu an emulation for "
         "cross-checks)",
         0},
        {"--threads", ARG_INT, &threads, "CPU threads", 0},
        {"--vae", ARG_STR, &a.vae, "AutoencoderKL decoding a latent model's samples (z / scaling factor) to images", 0},
        {"--vae-tile", ARG_INT, &a.vae_tile, "with --vae: tile size in pixels for large images (default 0: no tiling)",
         0},
        {"--npz", ARG_STR, &a.npz, "write an ADM sample batch (.npz: arr_0 uint8 NxHxWx3, arr_1 labels) instead", 0},
        {"--num-samples", ARG_I64, &a.num_samples, "with --npz: how many samples (e.g. 50000)", 0},
        {"--batch", ARG_INT, &a.batch, "with --npz: samples per batch and process (default 32)", 0},
        {"--balanced", ARG_BOOL, &a.balanced, "with --npz: label i mod K (N/K per class) instead of uniform random", 0},
        {"--dump", ARG_STR, &a.dump, "grid mode, for tests: also write labels, noise and raw samples (safetensors)", 0},
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
    if (a.npz) {
        if (!*a.npz) {
            fprintf(stderr, "ditc sample: --npz '': expected an output path (e.g. samples.npz)\n");
            return 2;
        }
        if (a.num_samples < 1 || a.num_samples > 100000000) {
            fprintf(stderr, "ditc sample: --num-samples %lld: --npz needs 1 to 100000000 samples\n",
                    (long long)a.num_samples);
            return 2;
        }
        if (a.batch < 0 || a.batch > 65536 || (a.batch == 0 && batch_given(argc, argv))) {
            fprintf(stderr, "ditc sample: --batch %d: must be in 1..65536\n", a.batch);
            return 2;
        }
        if (a.out != default_out) { // (--out would be ignored: the .npz path is --npz's value)
            fprintf(stderr,
                    "ditc sample: --out %s names the PNG grid; with --npz the .npz is written to --npz's path\n",
                    a.out);
            return 2;
        }
        if (a.class_labels || a.per_class || a.dump) {
            fprintf(stderr,
                    "ditc sample: --npz draws its own labels: --class-labels, --per-class and --dump are for the "
                    "PNG grid\n");
            return 2;
        }
    } else if (a.num_samples || a.batch || a.balanced) {
        fprintf(stderr, "ditc sample: --num-samples, --batch and --balanced need --npz OUT.npz\n");
        return 2;
    }
    a.ddim = !strcmp(sampler, "ddim");
    a.cfg_all_channels = !strcmp(cfg_channels, "all");
    a.seed = (uint64_t)seed;
    ditc_status st = {0};
    if (a.npz) return sample_npz(&a, device, precision, threads);
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

// cmd_fid.c — `ditc fid A B --inception W` / `ditc fid --save-stats OUT.npz A --inception W`: flag parsing
// only (core/run/fid.h). A and B are image folders, ADM .npz batches, statistics or features .npz.
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "fid.h"

int cmd_fid(int argc, char **argv) {
    ditc_fid_args a = {.batch = 32, .device = "cpu"};
    arg_def defs[] = {
        {"--inception", ARG_STR, &a.inception,
         "the FID Inception weights (.safetensors, torchvision Inception3 names: pytorch-fid's pt_inception)", 0},
        {"--save-stats", ARG_STR, &a.save_stats, "write the one input's mu, sigma (float64) to this .npz", 0},
        {"--save-features", ARG_STR, &a.save_features, "write the one input's features (float32 (N, D)) to this .npz",
         0},
        {"--batch", ARG_INT, &a.batch, "images per Inception forward (default 32)", 0},
        {"--threads", ARG_INT, &a.threads, "CPU threads (default: OMP_NUM_THREADS or all cores)", 0},
        {"--device", ARG_STR, &a.device, "cpu (default)", 0},
    };
    int n = (int)(sizeof defs / sizeof *defs);
    // positional arguments (the inputs) are taken out; every --flag of the table takes a value
    char **flags = calloc((size_t)argc + 1, sizeof *flags);
    int nf = 0;
    const char *extra = NULL;
    flags[nf++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2)) {
            flags[nf++] = argv[i];
            if (!args_find(defs, n, argv[i])) break; // unknown (or --help): args_parse reports it
            if (i + 1 < argc) flags[nf++] = argv[++i];
        } else if (a.n_inputs < 2) {
            a.inputs[a.n_inputs++] = argv[i];
        } else if (!extra) {
            extra = argv[i];
        }
    }
    int r = args_parse("fid", nf, flags, defs, n,
                       "A B --inception W.safetensors [flags]  |  --save-stats OUT.npz A --inception W.safetensors\n"
                       "A, B: an image folder (PNG/JPEG), an .npz batch (arr_0 uint8 (N, H, W, 3)), statistics "
                       "(mu, sigma) or features .npz");
    free(flags);
    if (r) return r == 1 ? 0 : r;
    if (extra) {
        fprintf(stderr, "ditc fid: unexpected argument '%s' (at most two inputs)\n", extra);
        return 2;
    }
    if (a.threads < 0) {
        fprintf(stderr, "ditc fid: --threads %d: must be at least 0\n", a.threads);
        return 2;
    }
    ditc_status st = {0};
    if (ditc_fid_run(&a, stdout, &st)) {
        fprintf(stderr, "ditc fid: %s\n", st.message);
        return st.code == DITC_ERR_ARG ? 2 : 1;
    }
    return 0;
}

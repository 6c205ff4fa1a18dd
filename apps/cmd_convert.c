// cmd_convert.c — `ditc convert IN OUT.safetensors|OUT.pt [--select ema|model|all|KEY]` (core/run/convert.c).
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "convert.h"

static const char usage[] =
    "usage: ditc convert IN OUT.safetensors|OUT.pt [--select ema|model|all|KEY]\n"
    "  IN: a torch.save .pt/.pth (state_dict or checkpoint dict) or a .safetensors\n"
    "  OUT.pt/.pth: a torch.save state_dict (torch.load(weights_only=True) reads it), else safetensors\n"
    "  --select: default the weights a sampler uses (a checkpoint's \"ema\", else \"model\", else the whole file);\n"
    "            all = every tensor under its full name (model.*, ema.*, opt.state.*); KEY = that sub-dict\n";

int cmd_convert(int argc, char **argv) {
    ditc_convert_args a = {0};
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--select")) {
            if (i + 1 == argc) {
                fprintf(stderr, "ditc convert: --select needs a value (ema, model, all or a key)\n");
                return 2;
            }
            a.select = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ditc convert: unknown flag '%s' (see `ditc convert --help`)\n", argv[i]);
            return 2;
        } else if (npos == 2) {
            fprintf(stderr, "ditc convert: unexpected argument '%s' (expected IN OUT.safetensors)\n", argv[i]);
            return 2;
        } else pos[npos++] = argv[i];
    }
    if (npos != 2) {
        fprintf(stderr, "ditc convert: expected IN OUT.safetensors (see `ditc convert --help`)\n");
        return 2;
    }
    a.in = pos[0];
    a.out = pos[1];
    ditc_status st;
    if (ditc_convert_run(&a, &st)) {
        fprintf(stderr, "ditc convert: %s\n", st.message);
        return 1;
    }
    return 0;
}

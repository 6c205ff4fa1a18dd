// cmd_inspect.c — `ditc inspect FILE [--select KEY]`: validates a weights file (.safetensors, or a torch.save
// .pt/.pth read as safetensors: every tensor under its full name unless --select) and lists metadata and tensors.
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "weights_file.h"

int cmd_inspect(int argc, char **argv) {
    const char *file = NULL, *select = "all";
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: ditc inspect FILE [--select ema|model|all|KEY]\n"
                   "  FILE: .safetensors or a torch.save .pt/.pth (default --select all: every tensor, full names)\n");
            return 0;
        }
        if (!strcmp(argv[i], "--select") && i + 1 < argc) select = argv[++i];
        else if (argv[i][0] != '-' && !file) file = argv[i];
        else bad = 1;
    }
    if (!file || bad) {
        fprintf(stderr, "usage: ditc inspect FILE [--select ema|model|all|KEY]\n");
        return 2;
    }
    ditc_safetensors st;
    ditc_status s;
    if (ditc_weights_open(&st, file, select, &s)) {
        fprintf(stderr, "ditc inspect: %s\n", s.message);
        ditc_st_close(&st);
        return 1;
    }
    for (int i = 0; i < st.n_meta; i++) printf("meta %s = %s\n", st.meta_keys[i], st.meta_vals[i]);
    int64_t total = 0;
    for (int i = 0; i < st.n_tensors; i++) {
        const ditc_st_tensor *t = &st.tensors[i];
        printf("%-48s %-4s [", t->name, ditc_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) printf(d ? ", %lld" : "%lld", (long long)t->shape[d]);
        printf("]\n");
        total += ditc_st_numel(t);
    }
    printf("%d tensors, %lld elements\n", st.n_tensors, (long long)total);
    ditc_st_close(&st);
    return 0;
}

// cmd_inspect.c — `ditc inspect FILE.safetensors`: validates the file and lists metadata and tensors.
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "safetensors.h"

int cmd_inspect(int argc, char **argv) {
    if (argc != 2 || !strcmp(argv[1], "--help")) {
        fprintf(argc == 2 ? stdout : stderr, "usage: ditc inspect FILE.safetensors\n");
        return argc == 2 ? 0 : 2;
    }
    ditc_safetensors st;
    ditc_status s;
    if (ditc_st_open(&st, argv[1], &s)) {
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

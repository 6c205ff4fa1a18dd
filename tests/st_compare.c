// st_compare.c — test tool: compares the F32 tensors of two safetensors files.
// usage: st_compare A B RTOL [PREFIX=RTOL ...]   → every tensor of A present in B with the same shape and
// ‖b − a‖ ≤ RTOL·‖a‖ (or ‖b‖ ≤ RTOL when a is all zero); a tensor whose name starts with a PREFIX gets that
// prefix's RTOL instead (the first that matches); prints the worst tensor (relative to its limit); exit 0 ok, 1 not.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: st_compare A B RTOL [PREFIX=RTOL ...]\n");
        return 2;
    }
    for (int i = 4; i < argc; i++)
        if (!strchr(argv[i], '=')) {
            fprintf(stderr, "st_compare: '%s' is not PREFIX=RTOL\n", argv[i]);
            return 2;
        }
    double rtol = atof(argv[3]), worst = 0, worst_tol = rtol;
    ditc_safetensors a, b;
    ditc_status st = {0};
    if (ditc_st_open(&a, argv[1], &st) || ditc_st_open(&b, argv[2], &st)) {
        fprintf(stderr, "%s\n", st.message);
        return 1;
    }
    const char *worst_name = "";
    int bad = 0;
    for (int i = 0; i < a.n_tensors; i++) {
        const ditc_st_tensor *ta = &a.tensors[i], *tb = ditc_st_find(&b, ta->name);
        int64_t n = ditc_st_numel(ta);
        if (!tb || ditc_st_numel(tb) != n) {
            printf("%s: missing or different size in %s\n", ta->name, argv[2]);
            bad = 1;
            continue;
        }
        float *x = malloc(sizeof(float) * (size_t)(n ? n : 1)), *y = malloc(sizeof(float) * (size_t)(n ? n : 1));
        ditc_st_read_f32(&a, ta, x, NULL);
        ditc_st_read_f32(&b, tb, y, NULL);
        double d = 0, r = 0;
        for (int64_t k = 0; k < n; k++) {
            d += ((double)y[k] - x[k]) * ((double)y[k] - x[k]);
            r += (double)x[k] * x[k];
        }
        double rel = r > 0 ? sqrt(d / r) : sqrt(d), tol = rtol;
        for (int p = 4; p < argc; p++) {
            const char *eq = strchr(argv[p], '=');
            if (!strncmp(ta->name, argv[p], (size_t)(eq - argv[p]))) {
                tol = atof(eq + 1);
                break;
            }
        }
        if (rel / tol > worst / worst_tol) {
            worst = rel;
            worst_tol = tol;
            worst_name = ta->name;
        }
        if (!(rel <= tol)) bad = 1;
        free(x);
        free(y);
    }
    printf("%s: %d tensors, worst relative difference %.3g (%s), tolerance %g\n", bad ? "DIFFER" : "MATCH", a.n_tensors,
           worst, worst_name, worst_tol);
    ditc_st_close(&a);
    ditc_st_close(&b);
    return bad;
}

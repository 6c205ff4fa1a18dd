// profile.c — the op profiler (see profile.h).
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "op_list.h"

ditc_profile ditc_prof;

void ditc_profile_init(void) {
    memset(&ditc_prof, 0, sizeof ditc_prof);
    const char *e = getenv("DITC_PROFILE");
    ditc_prof.enabled = e && *e && strcmp(e, "0");
}

double ditc_profile_now(ditc_backend *be) {
    if (be) be->synchronize(be);
    return ditc_now_s();
}

void ditc_profile_mark(ditc_backend *be) {
    if (ditc_prof.enabled) ditc_prof.last = ditc_profile_now(be);
}

void ditc_profile_fwd(ditc_backend *be, int op) {
    double t = ditc_profile_now(be);
    ditc_prof.fwd[op] += t - ditc_prof.last;
    ditc_prof.nfwd[op]++;
    ditc_prof.last = t;
}

void ditc_profile_bwd(int op, double seconds) {
    ditc_prof.bwd[op] += seconds;
    ditc_prof.nbwd[op]++;
}

void ditc_profile_print(int steps) {
    if (!ditc_prof.enabled || steps < 1) return;
    double tf = 0, tb = 0;
    for (int i = 0; i < DITC_OP_COUNT; i++) {
        tf += ditc_prof.fwd[i];
        tb += ditc_prof.bwd[i];
    }
    printf("  per-op time per step (ms), forward | backward:\n");
    for (int i = 0; i < DITC_OP_COUNT; i++)
        if (ditc_prof.nfwd[i] || ditc_prof.nbwd[i])
            printf("    %-16s %8.1f | %8.1f   (%ld calls/step)\n", ditc_op_name(i), 1e3 * ditc_prof.fwd[i] / steps,
                   1e3 * ditc_prof.bwd[i] / steps, ditc_prof.nfwd[i] / steps);
    printf("    %-16s %8.1f | %8.1f\n", "total", 1e3 * tf / steps, 1e3 * tb / steps);
}

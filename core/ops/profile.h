// profile.h — per-op wall time of forward and backward (DITC_PROFILE=1), printed by `ditc bench`.
// Forward time of an op = time since the previous recorded op (exact for synchronous backends; on an
// asynchronous backend it measures launch time unless DITC_PROFILE synchronises, which it does).
#ifndef DITC_PROFILE_H
#define DITC_PROFILE_H

#include "backend.h"

typedef struct {
    int enabled;
    double last; // time of the previous record / backward node
    double fwd[64], bwd[64];
    long nfwd[64], nbwd[64];
} ditc_profile;

extern ditc_profile ditc_prof;

void ditc_profile_init(void);             // reads DITC_PROFILE from the environment
void ditc_profile_mark(ditc_backend *be); // restart the forward clock (start of a step)
void ditc_profile_fwd(ditc_backend *be, int op);
void ditc_profile_bwd(int op, double seconds);
double ditc_profile_now(ditc_backend *be);
void ditc_profile_print(int steps);

#endif

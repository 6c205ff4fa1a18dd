// profile_backend.h — `ditc bench --profile`: a backend that forwards every entry to another and times each call of
// a transfer or kernel entry between two timer marks in the backend's queue order (CUDA events: no synchronisation
// inside a step), summed per entry and, for GEMMs, per shape (with the rate each shape reached).
#ifndef DITC_PROFILE_BACKEND_H
#define DITC_PROFILE_BACKEND_H

#include <stdio.h>

#include "backend.h"

// A profiling view of `inner` (which must have the timer entries), or NULL if it lacks them. Destroying the view
// leaves `inner` alive. The view's precision is the inner backend's (set it on the view afterwards to change both).
ditc_backend *ditc_profile_backend_new(ditc_backend *inner);
// End of a step: waits for the step's marks, adds their times to the sums (when `keep`; warm-up steps pass 0) and
// resets the marks.
void ditc_profile_backend_collect(ditc_backend *view, int keep);
// The table, per step over `steps` kept steps: entries by time, then the GEMM shapes that took the most.
void ditc_profile_backend_print(ditc_backend *view, int steps, double step_ms, FILE *f);

#endif

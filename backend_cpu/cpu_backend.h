// cpu_backend.h — the OpenMP + OpenBLAS backend: the numeric reference for every op.
#ifndef DITC_CPU_BACKEND_H
#define DITC_CPU_BACKEND_H

#include "backend.h"

// threads <= 0: keep OpenMP's default (OMP_NUM_THREADS or all cores). Sets OpenBLAS's threads too.
ditc_backend *ditc_cpu_backend_new(int threads);
int ditc_cpu_threads(void);

#endif

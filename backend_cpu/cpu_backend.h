// cpu_backend.h — the OpenMP + OpenBLAS backend: the numeric reference for every op.
#ifndef DITC_CPU_BACKEND_H
#define DITC_CPU_BACKEND_H

#include "backend.h"

// threads <= 0: keep OpenMP's default (OMP_NUM_THREADS or all cores). Sets OpenBLAS's threads too.
ditc_backend *ditc_cpu_backend_new(int threads);
int ditc_cpu_threads(void);
// im2col band size of the convolution in floats (0 = the default, 4 Mi floats = 16 MiB); tests use small
// values to exercise many bands.
void ditc_cpu_conv_set_chunk_floats(size_t floats);
// The CPU kernels behind device-style memory (host_memory = 0): every allocation lives in pages that are
// inaccessible (PROT_NONE) except while one of this backend's own entries runs, so a host access from the
// core that bypasses copy_h2d/copy_d2h or a kernel faults at once. For tests of the device code paths
// (`--device cpu-guard`); results are bit-identical to the plain CPU backend.
ditc_backend *ditc_cpu_guard_backend_new(int threads);
// 3×3 stride-1 pad-1 convolutions (≥ 32 channels in and out, ≥ 32×32 pixels) by Winograd F(4×4, 3×3) (on = 1, the default)
// or by im2col (0: the reference path).
void ditc_cpu_conv_set_winograd(int on);

#endif

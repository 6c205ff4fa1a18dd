// cuemu_internal.h — between the parts of the CUDA emulation: the runtime's sticky launch error, the checks a
// launch makes, and the device's fixed properties (an H100-like device: compute capability 9.0).
#ifndef CUEMU_INTERNAL_H
#define CUEMU_INTERNAL_H

#include <cuda_runtime.h>

#ifdef __cplusplus
#include <functional>
// Runs op at stream s's next completion point (the legacy stream 0: at once); see cuemu_runtime.cc
void cuemu_defer(cudaStream_t s, std::function<void()> op);
#endif

#define CUEMU_SMEM_OPTIN_MAX (227u * 1024) // sharedMemPerBlockOptin of compute capability 9.0
#define CUEMU_SM_COUNT       132

void cuemu_set_error(cudaError_t e);
void cuemu_stream_check(cudaStream_t s); // a stream that was never created (or destroyed) stops the program
void cuemu_set_smem_optin(const void *fn, int bytes);
void cuemu_device_access(int on);
// [p, p + bytes) must lie in one device allocation (else the program stops, naming fn and the offsets)
void cuemu_check_device_range(const char *fn, const void *p, size_t bytes);
// "N bytes past the end of a B-byte allocation" or "not near device memory" (for fault reports)
void cuemu_describe_address(const void *p, char *buf, size_t n);
// Host waits (CUEMU_WAITS=FILE: their count by function, and the number of allocations, written at exit):
// cuemu_note_work for every piece of device work issued (a launch, a GEMM, a collective, an asynchronous copy or
// memset); cuemu_note_wait(fn) where the host would block until the device's earlier work is done (a
// synchronisation, a blocking copy). A wait counts only if work was issued since the last one, so a copy followed
// by its synchronisation is one wait.
void cuemu_note_work(void);
void cuemu_note_wait(const char *fn);

#endif

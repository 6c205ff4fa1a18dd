// cuda_backend.h — entry point of the CUDA + cuBLAS backend (implements core/tensor/backend.h on the GPU).
// Built with -DDITC_CUDA=ON; otherwise a stub reports that the build has no CUDA.
#ifndef DITC_CUDA_BACKEND_H
#define DITC_CUDA_BACKEND_H

#ifdef __cplusplus
extern "C" {
#endif

#include "backend.h"
#include "common.h"

// Returns NULL with a message in st if CUDA is unavailable (not built, no device, driver error).
ditc_backend *ditc_cuda_backend_new(int device, ditc_status *st);
// Number of visible CUDA devices (0 without CUDA, a driver, or a GPU).
int ditc_cuda_device_count(void);
// The 16-byte UUID of visible device `device` (the same physical GPU has the same UUID in every process, whatever
// CUDA_VISIBLE_DEVICES numbers it); 0, or -1 if it cannot be read.
int ditc_cuda_device_uuid(int device, unsigned char uuid[16]);
// For `ditc bench` on a CUDA backend (return -1 if be is not one): peak bytes of the device memory pool since
// the last reset, free and total device memory; device name, compute capability and SM count.
int ditc_cuda_memory_stats(ditc_backend *be, size_t *peak_bytes, size_t *free_bytes, size_t *total_bytes);
void ditc_cuda_reset_peak(ditc_backend *be);
int ditc_cuda_device_info(ditc_backend *be, char *name, size_t name_len, int *cc_major, int *cc_minor, int *sm_count);

#ifdef __cplusplus
}
#endif

#endif

// cuda_backend.h — entry point of the CUDA + cuBLAS backend (implements core/backend.h on the GPU).
// Built with -DDITC_CUDA=ON; otherwise a stub reports that the build has no CUDA.
#ifndef DITC_CUDA_BACKEND_H
#define DITC_CUDA_BACKEND_H

#include "backend.h"
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

// Returns NULL with a message in st if CUDA is unavailable (not built, no device, driver error).
ditc_backend *ditc_cuda_backend_new(int device, ditc_status *st);

#ifdef __cplusplus
}
#endif

#endif

// cuda_backend.cu — placeholder of the CUDA backend: it finds the device; the kernels (every entry of
// core/backend.h) are delivered by the CUDA backend issue. Until then it reports itself unavailable.
#include <cuda_runtime.h>

#include "cuda_backend.h"

extern "C" ditc_backend *ditc_cuda_backend_new(int device, ditc_status *st) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || device < 0 || device >= count) {
        ditc_fail(st, DITC_ERR_UNSUPPORTED, "--device cuda:%d: no such CUDA device (%d found: %s)", device, count,
                  cudaGetErrorString(err));
        return NULL;
    }
    ditc_fail(st, DITC_ERR_UNSUPPORTED, "--device cuda:%d: the CUDA kernels are not implemented yet", device);
    return NULL;
}

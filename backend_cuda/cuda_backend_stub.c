// cuda_backend_stub.c — stands in for the CUDA backend in builds without -DDITC_CUDA=ON.
#include "cuda_backend.h"

ditc_backend *ditc_cuda_backend_new(int device, ditc_status *st) {
    ditc_fail(st, DITC_ERR_UNSUPPORTED,
              "--device cuda:%d: this ditc was built without CUDA (configure with -DDITC_CUDA=ON)", device);
    return NULL;
}

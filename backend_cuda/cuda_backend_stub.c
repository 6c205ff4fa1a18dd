// cuda_backend_stub.c — stands in for the CUDA backend in builds without -DDITC_CUDA=ON.
#include "cuda_backend.h"

ditc_backend *ditc_cuda_backend_new(int device, ditc_status *st) {
    ditc_fail(st, DITC_ERR_UNSUPPORTED,
              "--device cuda:%d: this ditc was built without CUDA (configure with -DDITC_CUDA=ON)", device);
    return NULL;
}

int ditc_cuda_device_count(void) { return 0; }
int ditc_cuda_device_uuid(int device, unsigned char uuid[16]) {
    (void)device, (void)uuid;
    return -1;
}
int ditc_cuda_memory_stats(ditc_backend *be, size_t *peak_bytes, size_t *free_bytes, size_t *total_bytes) {
    (void)be, (void)peak_bytes, (void)free_bytes, (void)total_bytes;
    return -1;
}
void ditc_cuda_reset_peak(ditc_backend *be) { (void)be; }
int ditc_cuda_device_info(ditc_backend *be, char *name, size_t name_len, int *cc_major, int *cc_minor, int *sm_count) {
    (void)be, (void)name, (void)name_len, (void)cc_major, (void)cc_minor, (void)sm_count;
    return -1;
}

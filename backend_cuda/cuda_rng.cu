// cuda_rng.cu — rng_fill on the device with core/util/philox.h (the same inline code as the CPU backend, compiled
// __host__ __device__): element j = dist(seed, purpose, step, index0 + j). One thread per Philox block, writing
// the lanes of it that fall in the range, so uniform streams are bit-equal to the CPU backend's and normal
// streams equal up to the libm caveat documented in philox.h (CUDA's double log/sin/cos vs glibc's).
#include "cuda_internal.cuh"

extern "C" {
#include "philox.h"
}

__global__ void k_rng_fill(float *dst, int64_t n, int normal, uint64_t seed, uint32_t purpose, uint32_t step,
                           uint64_t index0) {
    uint64_t b_first = index0 / 4, b_last = (index0 + (uint64_t)n - 1) / 4, nb = b_last - b_first + 1;
    for (uint64_t k = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; k < nb; k += (uint64_t)gridDim.x * blockDim.x) {
        uint64_t b = b_first + k;
        uint32_t x[4];
        ditc_rng_block(seed, purpose, step, b, x);
        for (unsigned l = 0; l < 4; l++) {
            uint64_t e = 4 * b + l; // global element index
            if (e < index0 || e - index0 >= (uint64_t)n) continue;
            dst[e - index0] = normal ? ditc_rng_normal_from_block(x, l) : ditc_rng_uniform_from_bits(x[l]);
        }
    }
}

extern "C" void cuda_rng_fill(ditc_backend *be, ditc_tensor *t, ditc_rng_dist dist, uint64_t seed, uint32_t purpose,
                              uint32_t step, uint64_t index0) {
    DITC_CHECK(t->dtype == DITC_F32, "rng_fill needs F32");
    int64_t n = t->numel;
    if (!n) return;
    DITC_CHECK((uint64_t)n - 1 <= UINT64_MAX - index0, "rng fill index range overflows");
    int64_t nb = (int64_t)(((index0 + (uint64_t)n - 1) / 4) - index0 / 4 + 1);
    k_rng_fill<<<grid_for(nb, 256), 256, 0, cstream(be)>>>(F32P(t), n, dist == DITC_RNG_DIST_NORMAL, seed, purpose,
                                                           step, index0);
    CUDA_LAUNCHED();
}

// cuemu_device.h — the device side of the CUDA emulation (force-included into every rewritten backend_cuda/*.cu):
// what kernels see — threadIdx and friends, __syncthreads/__syncwarp, warp shuffles, shared memory, WMMA fragments,
// the device math functions the host lacks — and cuemu_launch, which the rewriter puts where a <<<...>>> launch was.
//
// Every thread of a block runs as a fiber on one host thread (cuemu_sched.cc); a barrier or a warp collective
// switches to the next fiber, so the block's threads meet there as on the GPU. Blocks run one after another.
// __shared__ variables are function statics (one block at a time: one copy is the block's shared memory). A
// barrier that not every live thread of the block (or the warp) reaches is reported as a deadlock, a warp
// collective over lanes that have exited as an error — things a GPU hangs on or leaves undefined.
//
// The real CUDA headers give the host API types (runtime, cuBLAS, cuBLASLt, bf16 conversions); their functions
// are implemented by cuemu_runtime.cc and cuemu_blas.cc instead of libcudart and libcublas.
#ifndef CUEMU_DEVICE_H
#define CUEMU_DEVICE_H

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <utility>

#define CUEMU_CUDA_ARCH 900

// ---- the thread's place (a fiber's) -----------------------------------------------------------------------
struct cuemu_thread {
    uint3 tid;      // threadIdx
    int lane;       // (linear index in the block) % 32
    int warp;       // (linear index in the block) / 32
    void *sp;       // saved stack pointer (cuemu_sched.cc)
    int state;      // running, waiting at a block barrier, at a warp barrier, done
    unsigned wait;  // the barrier generation waited for
    unsigned mma_n; // this thread's wmma::mma_sync calls so far in the block
};
extern cuemu_thread *cuemu_cur;
extern uint3 cuemu_block_idx;
extern dim3 cuemu_block_dim, cuemu_grid_dim;

#undef threadIdx
#undef blockIdx
#undef blockDim
#undef gridDim
#undef warpSize
#define threadIdx (cuemu_cur->tid)
#define blockIdx  (cuemu_block_idx)
#define blockDim  (cuemu_block_dim)
#define gridDim   (cuemu_grid_dim)
#define warpSize  32

#undef __launch_bounds__
#define __launch_bounds__(...)
#ifndef __forceinline__
#define __forceinline__ inline __attribute__((always_inline))
#endif

// ---- barriers and warp collectives (cuemu_sched.cc) --------------------------------------------------------
void cuemu_syncthreads(void);
void cuemu_syncwarp(unsigned mask);
// The whole warp meets, with no memory ordering (a WMMA load or store: a lane that reads what another lane stored
// needs a __syncwarp between, which the race check (CUEMU_TSAN) holds kernels to)
void cuemu_warp_converge(void);
// Deposit 8 bytes for this lane, meet the warp (mask: the lanes taking part), return lane src's deposit.
uint64_t cuemu_exchange(unsigned mask, uint64_t v, int src);
#define __syncthreads() cuemu_syncthreads()
static inline void __syncwarp(unsigned mask = 0xffffffffu) { cuemu_syncwarp(mask); }

template <class T> static inline T cuemu_shfl(unsigned mask, T v, int src) {
    static_assert(sizeof(T) <= 8, "shuffle of more than 8 bytes");
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof v);
    bits = cuemu_exchange(mask, bits, src);
    T r;
    memcpy(&r, &bits, sizeof r);
    return r;
}
template <class T> static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    int lane = cuemu_cur->lane;
    return cuemu_shfl(mask, v, (lane & ~(width - 1)) + (src & (width - 1)));
}
// (a lane of an earlier width-group may be read, a later group's gives the lane its own value: CUDA's rule)
template <class T> static inline T __shfl_xor_sync(unsigned mask, T v, int lm, int width = 32) {
    int lane = cuemu_cur->lane, s = lane ^ lm;
    return cuemu_shfl(mask, v, s < (lane & ~(width - 1)) + width ? s : lane);
}
template <class T> static inline T __shfl_down_sync(unsigned mask, T v, unsigned d, int width = 32) {
    int lane = cuemu_cur->lane, s = lane + (int)d;
    return cuemu_shfl(mask, v, (s & ~(width - 1)) == (lane & ~(width - 1)) ? s : lane);
}
template <class T> static inline T __shfl_up_sync(unsigned mask, T v, unsigned d, int width = 32) {
    int lane = cuemu_cur->lane, s = lane - (int)d;
    return cuemu_shfl(mask, v, s >= (lane & ~(width - 1)) ? s : lane);
}

// ---- device math the host library lacks ---------------------------------------------------------------------
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
using std::max;
using std::min;
static inline int64_t min(int64_t a, int b) { return a < b ? a : b; }
static inline int64_t min(int a, int64_t b) { return a < b ? a : b; }
static inline int64_t max(int64_t a, int b) { return a > b ? a : b; }
static inline int64_t max(int a, int64_t b) { return a > b ? a : b; }
template <class T> static inline T __ldg(const T *p) { return *p; }

// ---- WMMA: each lane holds the whole 16×16 tile in its fragment (fragments are opaque; code that treats the
// elements alike — fill, scale — sees the same values). Every *_sync call is where the warp converges: its lanes
// meet at the call (a warp barrier on entry), then each runs it — so a load, mma, store of one tile in place is
// safe, as on the GPU. A store writes only the lane's share of the tile (elements e ≡ lane mod 32) and nothing
// orders it after: a lane that reads what other lanes stored needs a __syncwarp between (here any later meeting
// of the warp would do; the race check, which gives loads and stores no memory ordering, holds kernels to the
// __syncwarp). mma_sync is computed once per warp and checks that every lane brings the same fragments.
// load/store_matrix_sync's requirements (CUDA programming guide, WMMA): the pointer 256-bit aligned, ldm a multiple
// of 16 bytes; a GPU faults or reads garbage otherwise, the host would not notice
void cuemu_wmma_check(const void *p, unsigned ld_bytes, const char *fn);
// d = a·b + c of this lane's n-th mma_sync, from the warp's first lane to reach it (the others compare their
// fragments with its and copy its result)
void cuemu_mma(const float *a, const float *b, const float *c, float *d);
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
template <class Use, int M, int N, int K, class T, class Layout = void> struct fragment {
    enum { num_elements = 256 };
    T x[256]; // (r, c) at x[r·16 + c]
};
template <class Use, int M, int N, int K, class T, class L>
static inline void fill_fragment(fragment<Use, M, N, K, T, L> &f, T v) {
    static_assert(M == 16 && N == 16 && K == 16, "only 16x16x16 tiles are emulated");
    for (int i = 0; i < 256; i++) f.x[i] = v;
}
template <class Use, int M, int N, int K, class T, class L, class V>
static inline void fill_fragment(fragment<Use, M, N, K, T, L> &f, V v) {
    fill_fragment(f, (T)v);
}
template <class Use, class T, class L>
static inline void load_matrix_sync(fragment<Use, 16, 16, 16, T, L> &f, const T *p, unsigned ld) {
    static_assert(!std::is_same<Use, accumulator>::value, "an accumulator load takes a layout");
    cuemu_wmma_check(p, ld * (unsigned)sizeof(T), "load_matrix_sync");
    cuemu_warp_converge();
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++)
            f.x[r * 16 + c] = std::is_same<L, row_major>::value ? p[r * ld + c] : p[c * ld + r];
}
static inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float, void> &f, const float *p, unsigned ld,
                                    layout_t l) {
    cuemu_wmma_check(p, ld * 4u, "load_matrix_sync");
    cuemu_warp_converge();
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++) f.x[r * 16 + c] = l == mem_row_major ? p[r * ld + c] : p[c * ld + r];
}
static inline void store_matrix_sync(float *p, const fragment<accumulator, 16, 16, 16, float, void> &f, unsigned ld,
                                     layout_t l) {
    cuemu_wmma_check(p, ld * 4u, "store_matrix_sync");
    cuemu_warp_converge();
    for (int e = cuemu_cur->lane; e < 256; e += 32) {
        int r = e / 16, c = e % 16;
        (l == mem_row_major ? p[r * ld + c] : p[c * ld + r]) = f.x[e];
    }
}
template <class T, class LA, class LB>
static inline void
mma_sync(fragment<accumulator, 16, 16, 16, float, void> &d, const fragment<matrix_a, 16, 16, 16, T, LA> &a,
         const fragment<matrix_b, 16, 16, 16, T, LB> &b, const fragment<accumulator, 16, 16, 16, float, void> &c) {
    float fa[256], fb[256];
    for (int i = 0; i < 256; i++) fa[i] = (float)a.x[i], fb[i] = (float)b.x[i];
    cuemu_syncwarp(0xffffffffu);
    cuemu_mma(fa, fb, c.x, d.x);
}
} // namespace wmma
} // namespace nvcuda

// ---- launches -----------------------------------------------------------------------------------------------
struct cuemu_config {
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
};
static inline cuemu_config cuemu_cfg(dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = 0) {
    cuemu_config c = {grid, block, smem, stream};
    return c;
}
template <class F> static inline const void *cuemu_fnptr(F *f) { return reinterpret_cast<const void *>(f); }
// (nvcc's cuda_runtime.h has this overload; the host-only header does not)
template <class T> static inline cudaError_t cudaFuncSetAttribute(T *entry, cudaFuncAttribute attr, int value) {
    return ::cudaFuncSetAttribute(reinterpret_cast<const void *>(entry), attr, value);
}
void *cuemu_dyn_smem(void);
// The first thread of a block to reach a __shared__ declaration fills it with NaN bytes (shared memory starts
// undefined: a read before any write shows), later threads of the block leave it alone.
void cuemu_shared_poison(void *p, size_t bytes);
// Runs body once per thread of every block (it calls the kernel with the launch's arguments); a bad configuration
// sets the error cudaGetLastError returns, as the runtime does.
void cuemu_launch_impl(const cuemu_config &cfg, const void *fn, const char *name, void (*body)(void *), void *arg);
template <class B>
static inline void cuemu_launch(const cuemu_config &cfg, const void *fn, const char *name, B &&body) {
    cuemu_launch_impl(
        cfg, fn, name, [](void *p) { (*(typename std::remove_reference<B>::type *)p)(); }, &body);
}

#endif

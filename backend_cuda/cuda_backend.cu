// cuda_backend.cu — the CUDA backend object: device, one stream (ordered like the interface requires), cuBLAS,
// stream-ordered memory from a pool (its high-water mark is the peak device memory), copies, scratch, and the
// kernel table (kernels in cuda_*.cu). The stream is a blocking stream, so work on the legacy default stream
// (NCCL in comm_nccl.cu) is ordered with it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_backend.h"
#include "cuda_internal.cuh"

static void *cu_alloc(ditc_backend *be, size_t bytes) {
    void *p = NULL;
    size_t n = (bytes + 255) / 256 * 256;
    cudaError_t e = cudaMallocFromPoolAsync(&p, n ? n : 256, cctx(be)->pool, cstream(be));
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError(); // clear the (non-sticky) out-of-memory error: the caller reports it
        return NULL;
    }
    CUDA_CHECK(e); // anything else (e.g. an earlier kernel's fault, reported here) is not "out of memory"
    return p;
}

static void cu_free(ditc_backend *be, void *p) {
    if (p) CUDA_CHECK(cudaFreeAsync(p, cstream(be)));
}

static void cu_h2d(ditc_backend *be, void *dst, const void *src, size_t n) {
    // pageable source: returns once the data is staged, so the caller may reuse `src` at once
    if (n) CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, cstream(be)));
}
static void cu_d2h(ditc_backend *be, void *dst, const void *src, size_t n) {
    if (!n) return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, cstream(be)));
    CUDA_CHECK(cudaStreamSynchronize(cstream(be)));
    cuda_check_flags(be);
}
static void cu_d2d(ditc_backend *be, void *dst, const void *src, size_t n) {
    if (n && dst != src) CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, cstream(be)));
}
static void cu_sync(ditc_backend *be) {
    CUDA_CHECK(cudaStreamSynchronize(cstream(be)));
    cuda_check_flags(be);
}

void cuda_check_flags(ditc_backend *be) {
    cuda_ctx *c = cctx(be);
    DITC_CHECK(!*(volatile int *)c->bad_index, "embedding index outside [0, %lld) (a label the table has no row for)",
               (long long)c->bad_index_k);
}

void *cuda_scratch(ditc_backend *be, size_t bytes) {
    cuda_ctx *c = cctx(be);
    if (bytes > c->scratch_bytes) {
        if (c->scratch) CUDA_CHECK(cudaFreeAsync(c->scratch, c->stream));
        size_t n = bytes + bytes / 4 + 256;
        CUDA_CHECK(cudaMallocFromPoolAsync(&c->scratch, n, c->pool, c->stream));
        c->scratch_bytes = n;
    }
    return c->scratch;
}

// Timer marks: events recorded on the stream (created once, reused after a reset).
static int cu_timer_mark(ditc_backend *be) {
    cuda_ctx *c = cctx(be);
    if (c->n_marks == c->cap_marks) {
        int cap = c->cap_marks ? 2 * c->cap_marks : 4096;
        c->marks = (cudaEvent_t *)ditc_xrealloc(c->marks, (size_t)cap * sizeof *c->marks);
        for (int i = c->cap_marks; i < cap; i++) CUDA_CHECK(cudaEventCreate(&c->marks[i]));
        c->cap_marks = cap;
    }
    CUDA_CHECK(cudaEventRecord(c->marks[c->n_marks], c->stream));
    return c->n_marks++;
}
static double cu_timer_elapsed_ms(ditc_backend *be, int a, int b) {
    cuda_ctx *c = cctx(be);
    DITC_CHECK(a >= 0 && b >= 0 && a < c->n_marks && b < c->n_marks, "timer marks %d, %d of %d", a, b, c->n_marks);
    CUDA_CHECK(cudaEventSynchronize(c->marks[b]));
    CUDA_CHECK(cudaEventSynchronize(c->marks[a]));
    float ms = 0.0f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, c->marks[a], c->marks[b]));
    return ms;
}
static void cu_timer_reset(ditc_backend *be) { cctx(be)->n_marks = 0; }

static void cu_destroy(ditc_backend *be) {
    cuda_ctx *c = cctx(be);
    cudaStreamSynchronize(c->stream);
    if (c->scratch) cudaFreeAsync(c->scratch, c->stream);
    if (c->bias_round) cudaFreeAsync(c->bias_round, c->stream);
    cuda_gemm_lt_free(be);
    if (c->ptrs) cudaFreeAsync(c->ptrs, c->stream);
    for (int i = 0; i < c->cap_marks; i++) cudaEventDestroy(c->marks[i]);
    free(c->marks);
    cudaFree(c->sumsq_partial);
    cudaFreeHost(c->bad_index);
    cublasDestroy(c->blas);
    cudaStreamSynchronize(c->stream);
    cudaStreamDestroy(c->stream);
    free(c);
    free(be);
}

extern "C" int ditc_cuda_memory_stats(ditc_backend *be, size_t *peak_bytes, size_t *free_bytes, size_t *total_bytes) {
    if (!be || strcmp(be->name, "cuda")) return -1;
    cuda_ctx *c = cctx(be);
    unsigned long long high = 0;
    CUDA_CHECK(cudaMemPoolGetAttribute(c->pool, cudaMemPoolAttrUsedMemHigh, &high));
    size_t fr = 0, tot = 0;
    CUDA_CHECK(cudaMemGetInfo(&fr, &tot));
    if (peak_bytes) *peak_bytes = (size_t)high;
    if (free_bytes) *free_bytes = fr;
    if (total_bytes) *total_bytes = tot;
    return 0;
}

extern "C" void ditc_cuda_reset_peak(ditc_backend *be) {
    if (!be || strcmp(be->name, "cuda")) return;
    unsigned long long zero = 0;
    CUDA_CHECK(cudaMemPoolSetAttribute(cctx(be)->pool, cudaMemPoolAttrUsedMemHigh, &zero));
}

extern "C" int ditc_cuda_device_info(ditc_backend *be, char *name, size_t name_len, int *cc_major, int *cc_minor,
                                     int *sm_count) {
    if (!be || strcmp(be->name, "cuda")) return -1;
    cuda_ctx *c = cctx(be);
    if (name) snprintf(name, name_len, "%s", c->name);
    if (cc_major) *cc_major = c->cc_major;
    if (cc_minor) *cc_minor = c->cc_minor;
    if (sm_count) *sm_count = c->sm_count;
    return 0;
}

int64_t cuda_grid_cap = 65535LL * 32;

// DITC_CUDA_GRID_CAP (tests only): a smaller block cap for every grid-stride launch (cuda_internal.cuh).
static void read_grid_cap(void) {
    const char *s = getenv("DITC_CUDA_GRID_CAP");
    char *end = NULL;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    cuda_grid_cap = v >= 1 && v <= 65535LL * 32 && end && !*end ? (int64_t)v : 65535LL * 32;
}

extern "C" int ditc_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

extern "C" int ditc_cuda_device_uuid(int device, unsigned char uuid[16]) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
        (void)cudaGetLastError();
        return -1;
    }
    memcpy(uuid, prop.uuid.bytes, 16);
    return 0;
}

extern "C" ditc_backend *ditc_cuda_backend_new(int device, ditc_status *st) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || device < 0 || device >= count) {
        ditc_fail(st, DITC_ERR_UNSUPPORTED, "--device cuda:%d: no such CUDA device (%d found: %s)", device, count,
                  cudaGetErrorString(err));
        (void)cudaGetLastError();
        return NULL;
    }
    CUDA_CHECK(cudaSetDevice(device));
    read_grid_cap();
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    if (prop.major < 8) {
        ditc_fail(st, DITC_ERR_UNSUPPORTED,
                  "--device cuda:%d: %s has compute capability %d.%d; ditc needs 8.0 or newer", device, prop.name,
                  prop.major, prop.minor);
        return NULL;
    }
    cuda_ctx *c = (cuda_ctx *)ditc_xcalloc(1, sizeof *c);
    c->device = device;
    snprintf(c->name, sizeof c->name, "%s", prop.name);
    c->cc_major = prop.major;
    c->cc_minor = prop.minor;
    c->sm_count = prop.multiProcessorCount;
    CUDA_CHECK(cudaStreamCreate(&c->stream));
    CUDA_CHECK(cudaDeviceGetDefaultMemPool(&c->pool, device));
    unsigned long long keep = UINT64_MAX; // keep freed memory in the pool (no release at every synchronisation)
    CUDA_CHECK(cudaMemPoolSetAttribute(c->pool, cudaMemPoolAttrReleaseThreshold, &keep));
    CUBLAS_CHECK(cublasCreate(&c->blas));
    CUBLAS_CHECK(cublasSetStream(c->blas, c->stream));
    CUDA_CHECK(cudaMalloc(&c->sumsq_partial, 1024 * sizeof(double)));
    CUDA_CHECK(cudaHostAlloc((void **)&c->bad_index, sizeof(int), cudaHostAllocMapped));
    *c->bad_index = 0;

    ditc_backend *be = (ditc_backend *)ditc_xcalloc(1, sizeof *be);
    be->name = "cuda";
    be->host_memory = 0;
    be->ctx = c;
    be->stream = (void *)c->stream;
    be->destroy = cu_destroy;
    be->alloc = cu_alloc;
    be->free = cu_free;
    be->copy_h2d = cu_h2d;
    be->copy_d2h = cu_d2h;
    be->copy_d2d = cu_d2d;
    be->fill = cuda_fill;
    be->synchronize = cu_sync;
    be->timer_mark = cu_timer_mark;
    be->timer_elapsed_ms = cu_timer_elapsed_ms;
    be->timer_reset = cu_timer_reset;
#define SET(ret, name, params, args) be->name = cuda_##name;
    DITC_BACKEND_KERNELS(SET)
#undef SET
    return be;
}

// cuemu_runtime.cc — the CUDA runtime functions the backend calls, on the host: one emulated device (compute
// capability 9.0); memory from the heap, filled with NaN bytes when allocated so that reads of unwritten device
// memory show; streams and events that exist only as handles (everything runs at the call, in order, which is the
// order one stream gives); a memory pool that counts its bytes in use and its high-water mark; the sticky launch
// error of cudaGetLastError. Handles that were never created, or are used after being destroyed, stop the program.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "cuemu_internal.h"

// A stream's deferred work (cuemu_defer: the collectives issued on a side stream) runs at its completion points —
// an event recorded after it is waited for or synchronised, the stream is synchronised, or a query of either has
// already answered "not ready" once — so what a GPU runs concurrently with the other streams stays in flight here too.
struct CUstream_st {
    int magic;
    uint64_t issued, done; // deferred operations issued, completed
    std::deque<std::function<void()>> pending;
    int asked; // a query answered "not ready" for the current pending work
};
struct CUevent_st {
    int magic;
    int recorded;
    double ms;           // host clock at the record
    cudaStream_t stream; // the stream recorded on, and its deferred operations then
    uint64_t seq;
    int asked;
};
struct CUmemPoolHandle_st {
    int magic;
};

#define MAGIC_STREAM 0x5712ea
#define MAGIC_EVENT  0xe7e7

static std::map<void *, std::pair<void *, size_t>> mappings; // device data pointer → (its mapping, length)
static cudaError_t last_error = cudaSuccess;
static int current_device = 0;
static std::map<void *, size_t> device_blocks; // device allocations and their sizes
static size_t pool_used, pool_high;
static CUmemPoolHandle_st default_pool = {1};
static std::set<void *> live_handles;

void cuemu_set_error(cudaError_t e) {
    if (last_error == cudaSuccess) last_error = e;
}
// A failing runtime call's status, also kept for cudaGetLastError (as the runtime does: a caller that clears it
// must, or the next launch check reports it)
static cudaError_t failed(cudaError_t e) {
    cuemu_set_error(e);
    return e;
}
// Device memory is inaccessible to the host except inside a kernel, a copy, a memset, a cuBLAS call or a collective
// (CUEMU_PROTECT=0 turns this off): host code that reads or writes device memory faults, as on a GPU.
static int protect_mode = -1, access_depth = 0;
static int protecting(void) {
    if (protect_mode < 0) protect_mode = !(getenv("CUEMU_PROTECT") && !strcmp(getenv("CUEMU_PROTECT"), "0"));
    return protect_mode;
}
static void apply_prot(int prot) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (auto &kv : mappings) mprotect(kv.second.first, kv.second.second - page, prot);
}
void cuemu_device_access(int on) {
    if (!protecting()) return;
    if (on && access_depth++ == 0) apply_prot(PROT_READ | PROT_WRITE);
    if (!on && --access_depth == 0) apply_prot(PROT_NONE);
}

static void stop(const char *fn, const char *what) {
    fprintf(stderr, "cuemu: %s: %s\n", fn, what);
    abort();
}

// ---- host waits and allocations (cuemu_internal.h; CUEMU_WAITS) ----
static std::map<std::string, long long> waits;          // by the function that waited
static long long work_since_wait, h2d_pageable, allocs; // allocs: device (plain or pool) and pinned host ones
static std::map<void *, size_t> pinned;                 // cudaMallocHost / cudaHostAlloc blocks
static int is_pinned(const void *p) {
    auto it = pinned.upper_bound((void *)p);
    if (it == pinned.begin()) return 0;
    --it;
    return (const char *)p < (const char *)it->first + it->second;
}
static void waits_write(void) { // (a "%p" in the path: the process id, for one file per MPI rank)
    const char *path = getenv("CUEMU_WAITS");
    if (!path || !*path) return;
    std::string name(path);
    size_t at = name.find("%p");
    if (at != std::string::npos) name.replace(at, 2, std::to_string((long)getpid()));
    FILE *f = fopen(name.c_str(), "w");
    if (!f) return;
    long long all = 0;
    for (auto &kv : waits) all += kv.second;
    fprintf(f, "host_waits %lld\n", all);
    for (auto &kv : waits) fprintf(f, "wait %s %lld\n", kv.first.c_str(), kv.second);
    fprintf(f, "h2d_pageable %lld\n", h2d_pageable); // uploads from pageable memory (staged by the driver: no wait)
    fprintf(f, "allocs %lld\n", allocs);
    fclose(f);
}
void cuemu_note_work(void) {
    static int registered;
    if (!registered++ && getenv("CUEMU_WAITS")) atexit(waits_write);
    work_since_wait++;
}
void cuemu_note_wait(const char *fn) {
    if (!work_since_wait) return;
    work_since_wait = 0;
    waits[fn]++;
}

void cuemu_stream_check(cudaStream_t s) {
    if (s && !live_handles.count(s)) stop("kernel launch", "a stream that does not exist");
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

// Each allocation has pages of its own and ends (its size rounded up to 256 bytes, the alignment cudaMalloc gives) at
// an inaccessible guard page: a kernel or copy running past the end faults at once (as compute-sanitizer's memcheck
// would report it), instead of reading a neighbour.
static void *device_alloc(size_t n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), used = (n ? n + 255 : 256) / 256 * 256;
    size_t len = (used + page - 1) / page * page + page;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    mprotect((char *)m + len - page, page, PROT_NONE);
    char *p = (char *)m + len - page - used;
    memset(m, 0xff, len - page); // NaN for F32 and BF16 (the slack before the data too: reads below it show)
    device_blocks[p] = n;
    mappings[p] = std::make_pair(m, len);
    if (protecting() && access_depth == 0) mprotect(m, len - page, PROT_NONE);
    return p;
}

void cuemu_describe_address(const void *p, char *buf, size_t n) {
    auto it = device_blocks.upper_bound((void *)p);
    if (it == device_blocks.begin()) {
        snprintf(buf, n, "below every device allocation");
        return;
    }
    --it;
    const char *b = (const char *)it->first, *q = (const char *)p;
    snprintf(buf, n, "byte %td of a %zu-byte device allocation: %td bytes past its end", q - b, it->second,
             q - b - (ptrdiff_t)it->second);
}

static int device_free(void *p) {
    auto it = device_blocks.find(p);
    if (it == device_blocks.end()) return 0;
    device_blocks.erase(it);
    auto m = mappings.find(p);
    munmap(m->second.first, m->second.second);
    mappings.erase(m);
    return 1;
}

// A device range [p, p + n) must lie inside one allocation.
void cuemu_check_device_range(const char *fn, const void *p, size_t n) {
    if (!n) return;
    auto it = device_blocks.upper_bound((void *)p);
    if (it == device_blocks.begin()) stop(fn, "pointer is not device memory");
    --it;
    const char *b = (const char *)it->first, *q = (const char *)p;
    if (q < b || q + n > b + it->second) {
        fprintf(stderr, "cuemu: %s: %zu bytes at offset %td of a %zu-byte allocation\n", fn, n, q - b, it->second);
        abort();
    }
}
static int is_device(const void *p) {
    auto it = device_blocks.upper_bound((void *)p);
    if (it == device_blocks.begin()) return 0;
    --it;
    return (const char *)p < (const char *)it->first + it->second;
}

extern "C" {

const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    default: return "cuemu: error";
    }
}
cudaError_t cudaGetLastError(void) {
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) { return last_error; }

// CUEMU_DEVICES=N: N emulated devices (default 1), alike; for one process per device under mpirun (--comm nccl)
static int device_count(void) {
    const char *e = getenv("CUEMU_DEVICES");
    int n = e ? atoi(e) : 1;
    return n >= 1 && n <= 64 ? n : 1;
}
cudaError_t cudaGetDeviceCount(int *n) {
    *n = device_count();
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) {
    if (d < 0 || d >= device_count()) return failed(cudaErrorInvalidDevice);
    current_device = d;
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int *d) {
    *d = current_device;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
    if (d < 0 || d >= device_count()) return failed(cudaErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "cuemu (CUDA emulated on the CPU)");
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = CUEMU_SM_COUNT;
    p->totalGlobalMem = (size_t)80 << 30;
    p->sharedMemPerBlock = 48 * 1024;
    p->sharedMemPerBlockOptin = CUEMU_SMEM_OPTIN_MAX;
    p->maxThreadsPerBlock = 1024;
    p->warpSize = 32;
    p->maxGridSize[0] = 2147483647;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    // the UUID of the physical device: CUEMU_DEVICE_BASE=B makes visible device d the physical B + d (as a per-rank
    // CUDA_VISIBLE_DEVICES would: every rank's device 0, each a GPU of its own)
    const char *base = getenv("CUEMU_DEVICE_BASE");
    int phys = d + (base ? atoi(base) : 0);
    memcpy(p->uuid.bytes, "cuemu-gpu-uuid-", 15);
    p->uuid.bytes[15] = (char)phys;
    return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int d) {
    if (d < 0 || d >= device_count()) return failed(cudaErrorInvalidDevice);
    switch (a) {
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = (int)CUEMU_SMEM_OPTIN_MAX; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *v = CUEMU_SM_COUNT; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor: *v = 9; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *v = 0; return cudaSuccess;
    default: stop("cudaDeviceGetAttribute", "attribute not emulated");
    }
    return failed(cudaErrorInvalidValue);
}
cudaError_t cudaFuncSetAttribute(const void *fn, cudaFuncAttribute a, int v) {
    if (a != cudaFuncAttributeMaxDynamicSharedMemorySize) stop("cudaFuncSetAttribute", "attribute not emulated");
    if (v < 0 || (unsigned)v > CUEMU_SMEM_OPTIN_MAX) return failed(cudaErrorInvalidValue);
    cuemu_set_smem_optin(fn, v);
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *fr, size_t *tot) {
    *tot = (size_t)80 << 30;
    *fr = *tot - pool_used;
    return cudaSuccess;
}

// ---- memory ----
cudaError_t cudaMalloc(void **p, size_t n) {
    allocs++;
    *p = device_alloc(n);
    return *p ? cudaSuccess : failed(cudaErrorMemoryAllocation);
}
cudaError_t cudaFree(void *p) {
    if (p && !device_free(p)) stop("cudaFree", "not a device allocation");
    return cudaSuccess;
}
cudaError_t cudaMallocHost(void **p, size_t n) {
    allocs++;
    *p = malloc(n ? n : 1);
    if (!*p) return failed(cudaErrorMemoryAllocation);
    pinned[*p] = n ? n : 1;
    return cudaSuccess;
}
cudaError_t cudaHostAlloc(void **p, size_t n, unsigned flags) {
    (void)flags;
    return cudaMallocHost(p, n);
}
// Pinned memory is mapped (unified addressing): the device's address is the host's.
cudaError_t cudaHostGetDevicePointer(void **d, void *h, unsigned flags) {
    if (flags || !is_pinned(h)) return failed(cudaErrorInvalidValue);
    *d = h;
    return cudaSuccess;
}
cudaError_t cudaFreeHost(void *p) {
    if (p && !pinned.erase(p)) stop("cudaFreeHost", "not a pinned host allocation");
    free(p);
    return cudaSuccess;
}
cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t *pool, int d) {
    if (d != current_device) return failed(cudaErrorInvalidDevice);
    *pool = &default_pool;
    return cudaSuccess;
}
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr a, void *v) {
    if (pool != &default_pool) stop("cudaMemPoolSetAttribute", "not the default pool");
    if (a == cudaMemPoolAttrUsedMemHigh) {
        if (*(unsigned long long *)v != 0) return failed(cudaErrorInvalidValue);
        pool_high = pool_used;
    }
    return cudaSuccess;
}
cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool, cudaMemPoolAttr a, void *v) {
    if (pool != &default_pool) stop("cudaMemPoolGetAttribute", "not the default pool");
    unsigned long long *u = (unsigned long long *)v;
    switch (a) {
    case cudaMemPoolAttrUsedMemHigh: *u = pool_high; break;
    case cudaMemPoolAttrUsedMemCurrent: *u = pool_used; break;
    default: *u = 0;
    }
    return cudaSuccess;
}
static std::map<void *, size_t> pool_blocks;
cudaError_t cudaMallocFromPoolAsync(void **p, size_t n, cudaMemPool_t pool, cudaStream_t s) {
    if (pool != &default_pool) stop("cudaMallocFromPoolAsync", "not the default pool");
    cuemu_stream_check(s);
    allocs++;
    *p = device_alloc(n);
    if (!*p) return failed(cudaErrorMemoryAllocation);
    pool_blocks[*p] = n;
    if (getenv("CUEMU_TRACE_ALLOC") && n >= (1u << 20))
        fprintf(stderr, "cuemu: pool alloc %.2f MiB (in use %.2f)\n", n / 1048576.0, (pool_used + n) / 1048576.0);
    pool_used += n;
    if (pool_used > pool_high) pool_high = pool_used;
    return cudaSuccess;
}
cudaError_t cudaMallocAsync(void **p, size_t n, cudaStream_t s) {
    return cudaMallocFromPoolAsync(p, n, &default_pool, s);
}
cudaError_t cudaFreeAsync(void *p, cudaStream_t s) {
    cuemu_stream_check(s);
    auto it = pool_blocks.find(p);
    if (it == pool_blocks.end()) stop("cudaFreeAsync", "not a pool allocation (or freed twice)");
    pool_used -= it->second;
    pool_blocks.erase(it);
    device_free(p);
    return cudaSuccess;
}

static cudaError_t copy(const char *fn, void *d, const void *s, size_t n, cudaMemcpyKind k) {
    int dd = k == cudaMemcpyHostToDevice || k == cudaMemcpyDeviceToDevice;
    int sd = k == cudaMemcpyDeviceToHost || k == cudaMemcpyDeviceToDevice;
    if (k == cudaMemcpyDefault) dd = is_device(d), sd = is_device(s);
    else if (k == cudaMemcpyHostToHost) dd = sd = 0;
    if (dd) cuemu_check_device_range(fn, d, n);
    else if (n && is_device(d)) stop(fn, "the destination is device memory, the copy's kind says host");
    if (sd) cuemu_check_device_range(fn, s, n);
    else if (n && is_device(s)) stop(fn, "the source is device memory, the copy's kind says host");
    cuemu_device_access(1);
    if (n) memmove(d, s, n);
    cuemu_device_access(0);
    return cudaSuccess;
}
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k) {
    cuemu_note_work();
    cuemu_note_wait("cudaMemcpy");
    return copy("cudaMemcpy", d, s, n, k);
}
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind k, cudaStream_t st) {
    cuemu_stream_check(st);
    cuemu_note_work();
    // into pageable memory the copy returns when it is done: a wait; from it, an upload that may wait on a GPU
    int to_host = k == cudaMemcpyDeviceToHost || (k == cudaMemcpyDefault && !is_device(d) && is_device(s));
    int from_host = k == cudaMemcpyHostToDevice || (k == cudaMemcpyDefault && is_device(d) && !is_device(s));
    if (n && to_host && !is_pinned(d)) cuemu_note_wait("cudaMemcpyAsync to pageable memory");
    if (n && from_host && !is_pinned(s)) h2d_pageable++;
    return copy("cudaMemcpyAsync", d, s, n, k);
}
cudaError_t cudaMemcpy2DAsync(void *d, size_t dp, const void *s, size_t sp, size_t w, size_t h, cudaMemcpyKind k,
                              cudaStream_t st) {
    cuemu_stream_check(st);
    cuemu_note_work();
    if (w > dp || w > sp) return failed(cudaErrorInvalidPitchValue);
    for (size_t r = 0; r < h; r++) copy("cudaMemcpy2DAsync", (char *)d + r * dp, (const char *)s + r * sp, w, k);
    return cudaSuccess;
}
cudaError_t cudaMemset(void *d, int v, size_t n) {
    cuemu_check_device_range("cudaMemset", d, n);
    cuemu_device_access(1);
    memset(d, v, n);
    cuemu_device_access(0);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *d, int v, size_t n, cudaStream_t st) {
    cuemu_stream_check(st);
    cuemu_note_work();
    return cudaMemset(d, v, n);
}

// ---- streams and events ----
} // extern "C"

static void flush_to(cudaStream_t s, uint64_t seq) {
    while (s && s->done < seq && !s->pending.empty()) {
        std::function<void()> op = std::move(s->pending.front());
        s->pending.pop_front();
        op();
        s->done++;
    }
    if (s && s->done == s->issued) s->asked = 0;
}

void cuemu_defer(cudaStream_t s, std::function<void()> op) {
    if (!s) return op(); // the legacy stream: at once (as before every other stream's later work)
    cuemu_stream_check(s);
    s->pending.push_back(std::move(op));
    s->issued++;
}

extern "C" {

cudaError_t cudaStreamCreate(cudaStream_t *s) {
    *s = new CUstream_st{MAGIC_STREAM, 0, 0, {}, 0};
    live_handles.insert(*s);
    return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned f) {
    (void)f;
    return cudaStreamCreate(s);
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    if (!live_handles.count(s)) stop("cudaStreamDestroy", "not a live stream");
    flush_to(s, s->issued); // (destroying a stream lets its work finish)
    live_handles.erase(s);
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    cuemu_stream_check(s);
    cuemu_note_wait("cudaStreamSynchronize");
    if (s) flush_to(s, s->issued);
    return cudaSuccess;
}
cudaError_t cudaStreamQuery(cudaStream_t s) {
    cuemu_stream_check(s);
    if (s && s->done < s->issued && !s->asked++) return cudaErrorNotReady; // (not kept as the last error)
    if (s) flush_to(s, s->issued);
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) {
    cuemu_note_wait("cudaDeviceSynchronize");
    for (void *h : live_handles) {
        cudaStream_t s = (cudaStream_t)h;
        if (s->magic == MAGIC_STREAM) flush_to(s, s->issued);
    }
    return cudaSuccess;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned f) {
    (void)f;
    cuemu_stream_check(s);
    if (!live_handles.count(e)) stop("cudaStreamWaitEvent", "not a live event");
    if (e->recorded) flush_to(e->stream, e->seq); // s's later work runs after the event's
    return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t *e) {
    *e = new CUevent_st{MAGIC_EVENT, 0, 0.0, NULL, 0, 0};
    live_handles.insert(*e);
    return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned f) {
    (void)f;
    return cudaEventCreate(e);
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    if (!live_handles.erase(e)) stop("cudaEventDestroy", "not a live event");
    delete e;
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
    cuemu_stream_check(s);
    if (!live_handles.count(e)) stop("cudaEventRecord", "not a live event");
    e->recorded = 1;
    e->ms = now_ms();
    e->stream = s;
    e->seq = s ? s->issued : 0;
    e->asked = 0;
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
    if (!live_handles.count(e)) stop("cudaEventSynchronize", "not a live event");
    cuemu_note_wait("cudaEventSynchronize");
    if (e->recorded) flush_to(e->stream, e->seq);
    return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t e) {
    if (!live_handles.count(e)) stop("cudaEventQuery", "not a live event");
    if (e->recorded && e->stream && e->stream->done < e->seq && !e->asked++) return cudaErrorNotReady;
    if (e->recorded) flush_to(e->stream, e->seq);
    return cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    if (!live_handles.count(a) || !live_handles.count(b)) stop("cudaEventElapsedTime", "not a live event");
    if (!a->recorded || !b->recorded) return failed(cudaErrorInvalidResourceHandle);
    *ms = (float)(b->ms - a->ms);
    return cudaSuccess;
}

} // extern "C"

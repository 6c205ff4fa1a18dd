// comm_nccl.cu — the NCCL communicator for device buffers (CUDA backend), bootstrapped over MPI: rank 0's
// ncclUniqueId is broadcast with MPI, each rank drives the GPU it is given (apps/cmd_train.c: the node-local
// rank's). Host buffers — be == NULL or a host-memory backend, as the trainer's logged loss and ZeRO norm
// scalars — go over the MPI communicator underneath, as do barrier and abort. Device collectives wait for the
// backend's queued work (be->synchronize), run on the legacy default stream and are complete when a call returns.
// Uneven ZeRO shards (comm.h) are grouped ncclReduce / ncclBroadcast calls, one per owning rank. Built with
// -DDITC_NCCL=ON (needs DITC_CUDA and DITC_MPI). Status: compiled in CI; not yet run on GPUs (issue 17).
// The non-blocking collectives of the gradient buckets run on a side stream of their own: ordered after the
// kernels queued so far on the backend's stream by an event, and the backend's stream waits for their completion
// event in `wait` — no host synchronisation, so buckets overlap with the rest of the backward pass.
#include <cuda_runtime.h>
#include <nccl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern "C" {
#include "comm.h"
}

typedef struct {
    ditc_comm *boot; // the MPI communicator (barrier, abort, host broadcast)
    ncclComm_t nc;
    cudaStream_t side;  // the non-blocking collectives
    cudaEvent_t queued; // recorded on the backend's stream before each of them
    pthread_t watch;    // the watchdog (below); `stop` ends it
    int stop;
} nccl_ctx;

#define NCCL_CALL(x)                                                                                                   \
    do {                                                                                                               \
        ncclResult_t r_ = (x);                                                                                         \
        if (r_ != ncclSuccess) ditc_fatal(__FILE__, __LINE__, "%s: %s", #x, ncclGetErrorString(r_));                   \
    } while (0)
#define CUDA_CALL(x)                                                                                                   \
    do {                                                                                                               \
        cudaError_t e_ = (x);                                                                                          \
        if (e_ != cudaSuccess) ditc_fatal(__FILE__, __LINE__, "%s: %s", #x, cudaGetErrorString(e_));                   \
    } while (0)

static ncclDataType_t nccl_type(ditc_dtype dt) {
    DITC_CHECK(dt == DITC_F32 || dt == DITC_BF16 || dt == DITC_F64, "NCCL collectives support F32, BF16, F64");
    return dt == DITC_F32 ? ncclFloat32 : dt == DITC_F64 ? ncclFloat64 : ncclBfloat16;
}

static ncclComm_t nc_of(ditc_comm *cm) { return ((nccl_ctx *)cm->ctx)->nc; }
// Waits for stream s (a collective's), polling NCCL's asynchronous error state meanwhile: a failed or vanished peer
// aborts this rank with NCCL's message instead of leaving it waiting forever.
static void nccl_sync(ncclComm_t nc, cudaStream_t s) {
    for (;;) {
        cudaError_t e = cudaStreamQuery(s);
        if (e == cudaSuccess) return;
        if (e != cudaErrorNotReady) CUDA_CALL(e);
        (void)cudaGetLastError(); // (not-ready is not an error: cleared)
        ncclResult_t r = ncclSuccess;
        NCCL_CALL(ncclCommGetAsyncError(nc, &r));
        if (r != ncclSuccess) {
            ncclCommAbort(nc);
            ditc_fatal(__FILE__, __LINE__, "NCCL: %s (a peer failed or left)", ncclGetErrorString(r));
        }
        usleep(50);
    }
}
static ditc_comm *boot_of(ditc_comm *cm) { return ((nccl_ctx *)cm->ctx)->boot; }
// Host memory (be NULL or host-addressable): the collective runs on the MPI communicator. Device memory: the
// backend's stream is drained first, so the buffer holds every kernel's result before NCCL reads it, and so is the
// side stream of the non-blocking collectives (two operations on one communicator never overlap).
static int on_host(ditc_comm *cm, ditc_backend *be) {
    if (!be || be->host_memory) return 1;
    be->synchronize(be);
    nccl_sync(nc_of(cm), ((nccl_ctx *)cm->ctx)->side);
    return 0;
}

static void nccl_allreduce(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    if (on_host(cm, be)) return boot_of(cm)->allreduce_sum(boot_of(cm), be, buf, n, dt);
    NCCL_CALL(ncclAllReduce(buf, buf, n, nccl_type(dt), ncclSum, nc_of(cm), 0));
    nccl_sync(nc_of(cm), 0);
}

static void nccl_reduce_scatter(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    if (on_host(cm, be)) return boot_of(cm)->reduce_scatter_sum(boot_of(cm), be, buf, n, dt);
    size_t es = ditc_dtype_size(dt);
    NCCL_CALL(ncclGroupStart());
    for (int r = 0; r < cm->world; r++) {
        size_t b, e;
        ditc_shard_range(n, cm->world, r, &b, &e);
        if (e == b) continue; // (an empty shard: the same on every rank)
        char *p = (char *)buf + b * es;
        NCCL_CALL(ncclReduce(p, p, e - b, nccl_type(dt), ncclSum, r, nc_of(cm), 0));
    }
    NCCL_CALL(ncclGroupEnd());
    nccl_sync(nc_of(cm), 0);
}

static void nccl_allgather(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    if (on_host(cm, be)) return boot_of(cm)->allgather(boot_of(cm), be, buf, n, dt);
    size_t es = ditc_dtype_size(dt);
    NCCL_CALL(ncclGroupStart());
    for (int r = 0; r < cm->world; r++) {
        size_t b, e;
        ditc_shard_range(n, cm->world, r, &b, &e);
        if (e == b) continue; // (an empty shard: the same on every rank)
        char *p = (char *)buf + b * es;
        NCCL_CALL(ncclBroadcast(p, p, e - b, nccl_type(dt), r, nc_of(cm), 0));
    }
    NCCL_CALL(ncclGroupEnd());
    nccl_sync(nc_of(cm), 0);
}

static void nccl_broadcast(ditc_comm *cm, ditc_backend *be, void *buf, size_t bytes, int root) {
    if (on_host(cm, be)) return boot_of(cm)->broadcast(boot_of(cm), be, buf, bytes, root);
    NCCL_CALL(ncclBroadcast(buf, buf, bytes, ncclUint8, root, nc_of(cm), 0));
    nccl_sync(nc_of(cm), 0);
}

// ---- non-blocking: on the side stream, after the backend's queued work; completion by event ----------------
struct ditc_comm_req {
    ditc_comm_req *host; // a host buffer's request on the MPI communicator
    ditc_backend *be;    // device: the backend whose stream waits for `done`
    cudaEvent_t done;
};

// The side stream, ordered after everything queued so far on the backend's stream.
static cudaStream_t side_after_backend(ditc_comm *cm, ditc_backend *be) {
    nccl_ctx *c = (nccl_ctx *)cm->ctx;
    cudaStream_t s = (cudaStream_t)be->stream;
    DITC_CHECK(s != NULL, "NCCL collectives need CUDA backend buffers (backend '%s')", be->name);
    CUDA_CALL(cudaEventRecord(c->queued, s));
    CUDA_CALL(cudaStreamWaitEvent(c->side, c->queued, 0));
    return c->side;
}

static ditc_comm_req *req_done_event(ditc_comm *cm, ditc_backend *be) {
    ditc_comm_req *q = (ditc_comm_req *)ditc_xcalloc(1, sizeof *q);
    q->be = be;
    CUDA_CALL(cudaEventCreateWithFlags(&q->done, cudaEventDisableTiming));
    CUDA_CALL(cudaEventRecord(q->done, ((nccl_ctx *)cm->ctx)->side));
    return q;
}

static ditc_comm_req *host_req(ditc_comm_req *inner) {
    if (!inner) return NULL;
    ditc_comm_req *q = (ditc_comm_req *)ditc_xcalloc(1, sizeof *q);
    q->host = inner;
    return q;
}

static ditc_comm_req *nccl_iallreduce(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    if (!be || be->host_memory) return host_req(boot_of(cm)->iallreduce_sum(boot_of(cm), be, buf, n, dt));
    cudaStream_t side = side_after_backend(cm, be);
    NCCL_CALL(ncclAllReduce(buf, buf, n, nccl_type(dt), ncclSum, nc_of(cm), side));
    return req_done_event(cm, be);
}

static ditc_comm_req *nccl_ireduce_scatter(ditc_comm *cm, ditc_backend *be, void *buf, size_t off, size_t n,
                                           size_t total, ditc_dtype dt) {
    if (!be || be->host_memory)
        return host_req(boot_of(cm)->ireduce_scatter_sum(boot_of(cm), be, buf, off, n, total, dt));
    cudaStream_t side = side_after_backend(cm, be);
    size_t es = ditc_dtype_size(dt);
    NCCL_CALL(ncclGroupStart());
    for (int r = 0; r < cm->world; r++) { // the range's part in rank r's shard, reduced onto rank r
        size_t b, e;
        ditc_shard_overlap(total, cm->world, r, off, n, &b, &e);
        if (e == b) continue;
        char *p = (char *)buf + b * es;
        NCCL_CALL(ncclReduce(p, p, e - b, nccl_type(dt), ncclSum, r, nc_of(cm), side));
    }
    NCCL_CALL(ncclGroupEnd());
    return req_done_event(cm, be);
}

static int nccl_test(ditc_comm *cm, ditc_comm_req *q) {
    if (!q) return 1;
    if (q->host) return boot_of(cm)->test(boot_of(cm), q->host);
    cudaError_t e = cudaEventQuery(q->done);
    if (e == cudaErrorNotReady) {
        (void)cudaGetLastError(); // (not an error: cleared, or the next launch check would report it)
        return 0;
    }
    CUDA_CALL(e);
    return 1;
}

static void nccl_wait(ditc_comm *cm, ditc_comm_req *q) {
    if (!q) return;
    if (q->host) {
        boot_of(cm)->wait(boot_of(cm), q->host);
    } else { // the backend's later kernels run after the collective (no host synchronisation)
        CUDA_CALL(cudaStreamWaitEvent((cudaStream_t)q->be->stream, q->done, 0));
        CUDA_CALL(cudaEventDestroy(q->done)); // released once complete
    }
    free(q);
}

// The watchdog: a failed or vanished peer sets NCCL's asynchronous error, but a rank whose host is waiting for its
// stream — behind the gradient buckets' collectives, which `wait` only queues — would wait forever. Every 100 ms
// this thread reads the error (ncclCommGetAsyncError may be called from another thread) and ends the process with
// NCCL's message; mpirun then ends the other ranks.
static void *nccl_watchdog(void *arg) {
    nccl_ctx *c = (nccl_ctx *)arg;
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
        ncclResult_t r = ncclSuccess;
        if (ncclCommGetAsyncError(c->nc, &r) == ncclSuccess && r != ncclSuccess && r != ncclInProgress) {
            fprintf(stderr, "ditc: NCCL: %s (a peer failed or left): this rank stops\n", ncclGetErrorString(r));
            fflush(stderr);
            _exit(1);
        }
        usleep(100000);
    }
    return NULL;
}

static void nccl_barrier(ditc_comm *cm) { boot_of(cm)->barrier(boot_of(cm)); }
static void nccl_abort(ditc_comm *cm, int code) { boot_of(cm)->abort(boot_of(cm), code); }

static void nccl_destroy(ditc_comm *cm) {
    nccl_ctx *c = (nccl_ctx *)cm->ctx;
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
    pthread_join(c->watch, NULL);
    cudaStreamSynchronize(c->side);
    cudaEventDestroy(c->queued);
    cudaStreamDestroy(c->side);
    ncclCommDestroy(c->nc);
    c->boot->destroy(c->boot);
    free(c);
    free(cm);
}

extern "C" ditc_comm *ditc_comm_nccl_new(ditc_comm *boot, int device, ditc_status *st) {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0 || device < 0 || device >= devices) {
        (void)cudaGetLastError();
        ditc_fail(st, DITC_ERR_UNSUPPORTED, "NCCL communicator: CUDA device %d is not visible to rank %d (%d found)",
                  device, boot->rank, devices);
        return NULL;
    }
    CUDA_CALL(cudaSetDevice(device));
    ncclUniqueId id;
    if (boot->rank == 0) NCCL_CALL(ncclGetUniqueId(&id));
    boot->broadcast(boot, NULL, &id, sizeof id, 0);
    nccl_ctx *c = (nccl_ctx *)ditc_xcalloc(1, sizeof *c);
    c->boot = boot;
    // every connection and its buffers made at initialisation (NCCL ≥ 2.22 connects lazily by default, so a first
    // large bucket or ZeRO group would allocate device memory mid-backward, outside the pool that holds the peak);
    // a user's own setting is kept
    setenv("NCCL_RUNTIME_CONNECT", "0", 0);
    NCCL_CALL(ncclCommInitRank(&c->nc, boot->world, id, boot->rank));
    CUDA_CALL(cudaStreamCreateWithFlags(&c->side, cudaStreamNonBlocking));
    CUDA_CALL(cudaEventCreateWithFlags(&c->queued, cudaEventDisableTiming));
    float *one = NULL; // a first collective now: NCCL sets up its connections (and their memory) here, not mid-backward
    CUDA_CALL(cudaMalloc((void **)&one, sizeof *one));
    CUDA_CALL(cudaMemsetAsync(one, 0, sizeof *one, c->side)); // (on the stream the all-reduce reads it from)
    NCCL_CALL(ncclAllReduce(one, one, 1, ncclFloat32, ncclSum, c->nc, c->side));
    nccl_sync(c->nc, c->side);
    CUDA_CALL(cudaFree(one));
    if (pthread_create(&c->watch, NULL, nccl_watchdog, c)) ditc_fatal(__FILE__, __LINE__, "NCCL watchdog thread");
    ditc_comm *cm = (ditc_comm *)ditc_xcalloc(1, sizeof *cm);
    *cm = *boot;
    cm->name = "nccl";
    cm->ctx = c;
    cm->allreduce_sum = nccl_allreduce;
    cm->reduce_scatter_sum = nccl_reduce_scatter;
    cm->allgather = nccl_allgather;
    cm->broadcast = nccl_broadcast;
    cm->iallreduce_sum = nccl_iallreduce;
    cm->ireduce_scatter_sum = nccl_ireduce_scatter;
    cm->test = nccl_test;
    cm->wait = nccl_wait;
    cm->barrier = nccl_barrier;
    cm->abort = nccl_abort;
    cm->destroy = nccl_destroy;
    return cm;
}

// comm_nccl.cu — the NCCL communicator for device buffers (CUDA backend), bootstrapped over MPI: rank 0's
// ncclUniqueId is broadcast with MPI, each rank drives the GPU it is given (apps/cmd_train.c: the node-local
// rank's). Host buffers — be == NULL or a host-memory backend, as the trainer's logged loss and ZeRO norm
// scalars — go over the MPI communicator underneath, as do barrier and abort. Device collectives wait for the
// backend's queued work (be->synchronize), run on the legacy default stream and are complete when a call returns.
// Uneven ZeRO shards (comm.h) are grouped ncclReduce / ncclBroadcast calls, one per owning rank. Built with
// -DDITC_NCCL=ON (needs DITC_CUDA and DITC_MPI). Status: compiled in CI; not yet run on GPUs (issue 17).
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdlib.h>

extern "C" {
#include "comm.h"
}

typedef struct {
    ditc_comm *boot; // the MPI communicator (barrier, abort, host broadcast)
    ncclComm_t nc;
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
static ditc_comm *boot_of(ditc_comm *cm) { return ((nccl_ctx *)cm->ctx)->boot; }
// Host memory (be NULL or host-addressable): the collective runs on the MPI communicator. Device memory: the
// backend's stream is drained first, so the buffer holds every kernel's result before NCCL reads it.
static int on_host(ditc_backend *be) {
    if (!be || be->host_memory) return 1;
    be->synchronize(be);
    return 0;
}

static void nccl_allreduce(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    if (on_host(be)) return boot_of(cm)->allreduce_sum(boot_of(cm), be, buf, n, dt);
    NCCL_CALL(ncclAllReduce(buf, buf, n, nccl_type(dt), ncclSum, nc_of(cm), 0));
    CUDA_CALL(cudaStreamSynchronize(0));
}

static void nccl_reduce_scatter(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    if (on_host(be)) return boot_of(cm)->reduce_scatter_sum(boot_of(cm), be, buf, n, dt);
    size_t es = ditc_dtype_size(dt);
    NCCL_CALL(ncclGroupStart());
    for (int r = 0; r < cm->world; r++) {
        size_t b, e;
        ditc_shard_range(n, cm->world, r, &b, &e);
        char *p = (char *)buf + b * es;
        NCCL_CALL(ncclReduce(p, p, e - b, nccl_type(dt), ncclSum, r, nc_of(cm), 0));
    }
    NCCL_CALL(ncclGroupEnd());
    CUDA_CALL(cudaStreamSynchronize(0));
}

static void nccl_allgather(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    if (on_host(be)) return boot_of(cm)->allgather(boot_of(cm), be, buf, n, dt);
    size_t es = ditc_dtype_size(dt);
    NCCL_CALL(ncclGroupStart());
    for (int r = 0; r < cm->world; r++) {
        size_t b, e;
        ditc_shard_range(n, cm->world, r, &b, &e);
        char *p = (char *)buf + b * es;
        NCCL_CALL(ncclBroadcast(p, p, e - b, nccl_type(dt), r, nc_of(cm), 0));
    }
    NCCL_CALL(ncclGroupEnd());
    CUDA_CALL(cudaStreamSynchronize(0));
}

static void nccl_broadcast(ditc_comm *cm, ditc_backend *be, void *buf, size_t bytes, int root) {
    if (on_host(be)) return boot_of(cm)->broadcast(boot_of(cm), be, buf, bytes, root);
    NCCL_CALL(ncclBroadcast(buf, buf, bytes, ncclUint8, root, nc_of(cm), 0));
    CUDA_CALL(cudaStreamSynchronize(0));
}

static void nccl_barrier(ditc_comm *cm) { boot_of(cm)->barrier(boot_of(cm)); }
static void nccl_abort(ditc_comm *cm, int code) { boot_of(cm)->abort(boot_of(cm), code); }

static void nccl_destroy(ditc_comm *cm) {
    nccl_ctx *c = (nccl_ctx *)cm->ctx;
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
    NCCL_CALL(ncclCommInitRank(&c->nc, boot->world, id, boot->rank));
    ditc_comm *cm = (ditc_comm *)ditc_xcalloc(1, sizeof *cm);
    *cm = *boot;
    cm->name = "nccl";
    cm->ctx = c;
    cm->allreduce_sum = nccl_allreduce;
    cm->reduce_scatter_sum = nccl_reduce_scatter;
    cm->allgather = nccl_allgather;
    cm->broadcast = nccl_broadcast;
    cm->barrier = nccl_barrier;
    cm->abort = nccl_abort;
    cm->destroy = nccl_destroy;
    return cm;
}

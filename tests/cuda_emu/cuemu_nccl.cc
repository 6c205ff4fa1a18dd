// cuemu_nccl.cc — the NCCL calls of comm/comm_nccl.cu for the CPU emulation, over MPI: a communicator is a
// duplicate of MPI_COMM_WORLD (its size and rank must be the ones asked for); a collective on the legacy stream is a
// blocking MPI call made when it is issued, one on another stream (the side stream of the gradient buckets) a
// non-blocking MPI call started when it is issued and completed at that stream's next completion point, with its
// buffer NaN meanwhile (in_flight below). Every rank issues the same calls in the same order, as NCCL requires, so
// the MPI calls meet, wherever each rank completes them. A group's calls run one after another. BF16 sums go
// through a user MPI operation (widened to F32, summed, rounded to nearest even). So `mpirun -np N ditc train
// --device cuda --comm nccl` runs comm_nccl.cu's code — buckets on its side stream, events, the ZeRO groups — with
// CUEMU_DEVICES=N emulated GPUs.
#define OMPI_SKIP_MPICXX  1 // the C API only (no C++ bindings to link)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <nccl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <memory>
#include <vector>

#include "cuemu_internal.h"

struct ncclComm {
    int magic;
    MPI_Comm mpi;
    int rank, size;
};

static int group_depth;

static void bf16_sum(void *in, void *inout, int *len, MPI_Datatype *dt) {
    (void)dt;
    const uint16_t *a = (const uint16_t *)in;
    uint16_t *b = (uint16_t *)inout;
    for (int i = 0; i < *len; i++) {
        uint32_t ua = (uint32_t)a[i] << 16, ub = (uint32_t)b[i] << 16;
        float fa, fb;
        memcpy(&fa, &ua, 4);
        memcpy(&fb, &ub, 4);
        float s = fa + fb;
        uint32_t u;
        memcpy(&u, &s, 4);
        if ((u & 0x7fffffffu) > 0x7f800000u) b[i] = (uint16_t)((u >> 16) | 0x40);
        else b[i] = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
    }
}

static int mpi_type(ncclDataType_t t, MPI_Datatype *dt, MPI_Op *op) {
    static MPI_Op bf16_op = MPI_OP_NULL;
    *op = MPI_SUM;
    switch (t) {
    case ncclFloat32: *dt = MPI_FLOAT; return 1;
    case ncclFloat64: *dt = MPI_DOUBLE; return 1;
    case ncclUint8: *dt = MPI_UNSIGNED_CHAR; return 1;
    case ncclBfloat16:
        if (bf16_op == MPI_OP_NULL) MPI_Op_create(bf16_sum, 1, &bf16_op);
        *dt = MPI_UINT16_T;
        *op = bf16_op;
        return 1;
    default: return 0;
    }
}

// An in-place collective on buf (bytes), issued on stream s: at once on the legacy stream (start with a NULL
// request: the blocking MPI call). On another stream (the communicator's side stream) it stays in flight until that
// stream's next completion point (cuemu_defer): its input is taken now and the non-blocking MPI call started on that
// copy (so the ranks start their collectives in issue order, whenever each completes them), the buffer holds NaN
// bytes meanwhile — a kernel that reads it gets NaN, one that writes it is reported at completion — and at the
// completion point the call is waited for and the result written back.
typedef std::function<void(void *p, MPI_Request *r)> mpi_call;
static void in_flight(cudaStream_t s, void *buf, size_t bytes, mpi_call start) {
    if (!s) {
        cuemu_device_access(1);
        start(buf, NULL);
        cuemu_device_access(0);
        return;
    }
    std::shared_ptr<std::vector<unsigned char>> snap = std::make_shared<std::vector<unsigned char>>(bytes);
    std::shared_ptr<MPI_Request> req = std::make_shared<MPI_Request>(MPI_REQUEST_NULL);
    cuemu_device_access(1);
    memcpy(snap->data(), buf, bytes);
    memset(buf, 0xff, bytes);
    cuemu_device_access(0);
    start(snap->data(), req.get());
    cuemu_defer(s, [=]() {
        MPI_Wait(req.get(), MPI_STATUS_IGNORE);
        cuemu_device_access(1);
        const unsigned char *b = (const unsigned char *)buf;
        for (size_t i = 0; i < bytes; i++)
            if (b[i] != 0xff) {
                fprintf(stderr,
                        "cuemu: NCCL: the %zu-byte buffer at %p was written (byte %zu) while its collective was in "
                        "flight on the side stream\n",
                        bytes, buf, i);
                abort();
            }
        memcpy(buf, snap->data(), bytes);
        cuemu_device_access(0);
    });
}

static size_t type_bytes(ncclDataType_t t) {
    return t == ncclBfloat16 ? 2 : t == ncclFloat64 ? 8 : t == ncclUint8 ? 1 : 4;
}

// CUEMU_NCCL_ASYNC_ERROR_AFTER=N (tests): after this process's N-th collective, ncclCommGetAsyncError reports
// ncclRemoteError, as NCCL does once it sees a peer fail (what the communicator's watchdog looks for)
static std::atomic<long> collectives{0};
static ncclResult_t check(ncclComm_t c, cudaStream_t s) {
    if (!c || c->magic != 0x4cc1) return ncclInvalidArgument;
    cuemu_stream_check(s);
    cuemu_note_work();
    collectives++;
    return ncclSuccess;
}

extern "C" {

const char *ncclGetErrorString(ncclResult_t r) {
    switch (r) {
    case ncclSuccess: return "no error";
    case ncclInvalidArgument: return "invalid argument (cuemu)";
    case ncclInvalidUsage: return "invalid usage (cuemu)";
    case ncclRemoteError: return "remote process exited or there was a network error (cuemu)";
    default: return "NCCL error (cuemu)";
    }
}
ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
    memset(id, 0, sizeof *id);
    snprintf(id->internal, sizeof id->internal, "cuemu-nccl");
    return ncclSuccess;
}
ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank) {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited || strcmp(id.internal, "cuemu-nccl")) return ncclInvalidUsage;
    ncclComm *c = new ncclComm;
    c->magic = 0x4cc1;
    MPI_Comm_dup(MPI_COMM_WORLD, &c->mpi);
    MPI_Comm_rank(c->mpi, &c->rank);
    MPI_Comm_size(c->mpi, &c->size);
    if (c->rank != rank || c->size != nranks) {
        fprintf(stderr, "cuemu: ncclCommInitRank: rank %d of %d asked, MPI_COMM_WORLD has %d of %d\n", rank, nranks,
                c->rank, c->size);
        return ncclInvalidUsage;
    }
    *comm = c;
    return ncclSuccess;
}
ncclResult_t ncclCommDestroy(ncclComm_t c) {
    if (!c || c->magic != 0x4cc1) return ncclInvalidArgument;
    MPI_Comm_free(&c->mpi);
    c->magic = 0;
    delete c;
    return ncclSuccess;
}
ncclResult_t ncclCommAbort(ncclComm_t c) { return ncclCommDestroy(c); }
ncclResult_t ncclCommGetAsyncError(ncclComm_t c, ncclResult_t *r) { // (called from the watchdog thread too)
    if (!c || c->magic != 0x4cc1) return ncclInvalidArgument;
    static const char *after = getenv("CUEMU_NCCL_ASYNC_ERROR_AFTER");
    *r = after && collectives.load() >= atol(after) ? ncclRemoteError : ncclSuccess;
    return ncclSuccess;
}
ncclResult_t ncclGroupStart() {
    group_depth++;
    return ncclSuccess;
}
ncclResult_t ncclGroupEnd() {
    if (group_depth == 0) return ncclInvalidUsage;
    group_depth--;
    return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, ncclDataType_t t, ncclRedOp_t op, ncclComm_t c,
                           cudaStream_t s) {
    MPI_Datatype dt;
    MPI_Op mop;
    if (check(c, s) != ncclSuccess || op != ncclSum || !mpi_type(t, &dt, &mop) || count > 0x7fffffff || send != recv)
        return ncclInvalidArgument; // (in place only: what comm_nccl.cu issues)
    MPI_Comm mc = c->mpi;
    in_flight(s, recv, count * type_bytes(t), [=](void *p, MPI_Request *r) {
        if (r) MPI_Iallreduce(MPI_IN_PLACE, p, (int)count, dt, mop, mc, r);
        else MPI_Allreduce(MPI_IN_PLACE, p, (int)count, dt, mop, mc);
    });
    return ncclSuccess;
}
ncclResult_t ncclReduce(const void *send, void *recv, size_t count, ncclDataType_t t, ncclRedOp_t op, int root,
                        ncclComm_t c, cudaStream_t s) {
    MPI_Datatype dt;
    MPI_Op mop;
    if (check(c, s) != ncclSuccess || op != ncclSum || !mpi_type(t, &dt, &mop) || count > 0x7fffffff || root < 0 ||
        root >= c->size || send != recv)
        return ncclInvalidArgument;
    MPI_Comm mc = c->mpi;
    int me = c->rank;
    in_flight(s, recv, count * type_bytes(t), [=](void *p, MPI_Request *r) {
        void *send_p = me == root ? MPI_IN_PLACE : p, *recv_p = me == root ? p : NULL; // (a non-root keeps its values)
        if (r) MPI_Ireduce(send_p, recv_p, (int)count, dt, mop, root, mc, r);
        else MPI_Reduce(send_p, recv_p, (int)count, dt, mop, root, mc);
    });
    return ncclSuccess;
}
ncclResult_t ncclBroadcast(const void *send, void *recv, size_t count, ncclDataType_t t, int root, ncclComm_t c,
                           cudaStream_t s) {
    MPI_Datatype dt;
    MPI_Op mop;
    if (check(c, s) != ncclSuccess || !mpi_type(t, &dt, &mop) || count > 0x7fffffff || root < 0 || root >= c->size ||
        send != recv)
        return ncclInvalidArgument;
    MPI_Comm mc = c->mpi;
    in_flight(s, recv, count * type_bytes(t), [=](void *p, MPI_Request *r) {
        if (r) MPI_Ibcast(p, (int)count, dt, root, mc, r);
        else MPI_Bcast(p, (int)count, dt, root, mc);
    });
    return ncclSuccess;
}

} // extern "C"

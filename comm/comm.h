// comm.h — the communicator interface: who we are (rank, world, local rank on the node) and the collectives
// data-parallel training and ZeRO need, on F32 or BF16 buffers. Implementations: single process
// (comm_single.c), MPI (comm_mpi.c, Open MPI; chosen automatically under mpirun/srun) and NCCL for device
// buffers (comm_nccl.cu, bootstrapped over MPI).
//
// Buffers are backend memory of `be` (be = NULL: host memory). Sharded collectives work in place on a flat
// buffer of n elements split by ditc_shard_range: rank r owns [begin_r, end_r) (16-element aligned starts,
// the last shard takes the rest), so no padding to a multiple of the world size is needed.
//
// Non-blocking collectives (the gradient buckets of core/run/grad_reduce.c, issued during the backward pass):
// a started collective returns a request (NULL: already complete); `test` advances it and says whether it is
// complete, `wait` completes and frees it. Between start and wait nothing may touch the buffer's range; on a
// device backend "complete" means complete in the backend's stream order (later kernels see the result).
#ifndef DITC_COMM_H
#define DITC_COMM_H

#include <stddef.h>

#include "backend.h"
#include "common.h"

typedef struct ditc_comm ditc_comm;
typedef struct ditc_comm_req ditc_comm_req; // a started non-blocking collective (owned by the communicator)
struct ditc_comm {
    const char *name;            // "single", "mpi", "nccl"
    int rank, world;             // global
    int local_rank, local_world; // within the node (shared-memory domain)
    void *ctx;
    // buf[0, n) = Σ over ranks, in place.
    void (*allreduce_sum)(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dtype);
    // In place: afterwards buf[begin_r, end_r) holds the sum over ranks of that range (the rest is undefined).
    void (*reduce_scatter_sum)(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dtype);
    // In place: every rank's buf[begin_r, end_r) is copied into everybody's buf.
    void (*allgather)(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dtype);
    void (*broadcast)(ditc_comm *cm, ditc_backend *be, void *buf, size_t bytes, int root);
    // Non-blocking all-reduce: buf[0, n) = Σ over ranks, in place, once waited for.
    ditc_comm_req *(*iallreduce_sum)(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dtype);
    // Non-blocking reduce-scatter of the range [off, off + n) of a flat buffer of `total` elements sharded by
    // ditc_shard_range(total): once waited for, this rank's part of the range, [off, off + n) ∩ [begin_r, end_r),
    // holds the sum over ranks (the rest of the range is undefined). The buckets of one flat buffer together
    // equal reduce_scatter_sum of the whole buffer.
    ditc_comm_req *(*ireduce_scatter_sum)(ditc_comm *cm, ditc_backend *be, void *buf, size_t off, size_t n,
                                          size_t total, ditc_dtype dtype);
    int (*test)(ditc_comm *cm, ditc_comm_req *req);  // 1 when complete (then still to be waited for)
    void (*wait)(ditc_comm *cm, ditc_comm_req *req); // completes and frees req (NULL: nothing to do)
    void (*barrier)(ditc_comm *cm);
    // Ends every rank of the job with `code` (after the caller printed its message).
    void (*abort)(ditc_comm *cm, int code);
    void (*destroy)(ditc_comm *cm);
};

// The shard of rank r of a flat buffer of n elements: [*begin, *end).
void ditc_shard_range(size_t n, int world, int rank, size_t *begin, size_t *end);
// The part of [off, off + n) that rank r's shard of a flat buffer of `total` elements holds: [*begin, *end)
// (empty: *begin == *end).
void ditc_shard_overlap(size_t total, int world, int rank, size_t off, size_t n, size_t *begin, size_t *end);

ditc_comm *ditc_comm_single_new(void);
// MPI when the process was started by mpirun/srun (and ditc was built with DITC_MPI), else single.
// Returns NULL with st set when MPI fails to start.
ditc_comm *ditc_comm_auto(int *argc, char ***argv, ditc_status *st);
// 1 if the environment says we run under an MPI launcher.
int ditc_comm_launched_by_mpi(void);
// NCCL over an MPI bootstrap communicator (which it takes over: destroying the NCCL one destroys boot) for the
// CUDA backend on GPU `device` (each rank its own GPU). Device buffers go over NCCL; host buffers (be == NULL or
// a host-memory backend, e.g. the trainer's loss and norm scalars) and barrier/abort go over boot. Built with
// -DDITC_NCCL=ON; apps/cmd_train.c selects it (--comm). NULL with st set if that GPU is not visible.
ditc_comm *ditc_comm_nccl_new(ditc_comm *boot, int device, ditc_status *st);

#endif

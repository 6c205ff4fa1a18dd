// comm.h — the communicator interface: rank/world and the collectives data-parallel training needs.
// Implementations: single process (comm_single.c); MPI and NCCL arrive with the distributed issue.
#ifndef DITC_COMM_H
#define DITC_COMM_H

#include <stddef.h>

#include "backend.h"

typedef struct ditc_comm ditc_comm;
struct ditc_comm {
    const char *name;
    int rank, world;
    void *ctx;
    // In-place sum over ranks of n floats in backend memory (all-reduce).
    void (*allreduce_sum)(ditc_comm *cm, ditc_backend *be, float *buf, size_t n);
    // Sum over ranks, rank r keeps shard r of n/world floats of buf in out (reduce-scatter, ZeRO-2).
    void (*reduce_scatter_sum)(ditc_comm *cm, ditc_backend *be, float *out, const float *buf, size_t n);
    // Gathers every rank's shard of n/world floats into buf (all-gather).
    void (*allgather)(ditc_comm *cm, ditc_backend *be, float *buf, const float *shard, size_t n);
    void (*broadcast)(ditc_comm *cm, ditc_backend *be, void *buf, size_t bytes, int root);
    void (*barrier)(ditc_comm *cm);
    void (*destroy)(ditc_comm *cm);
};

ditc_comm *ditc_comm_single_new(void);

#endif

// data_order.h — the world-size-invariant data order (the reference's DistributedSampler) (spec/data.md, "Sampler semantics"). Epoch e shuffles
// the N samples with ditc_rng_permutation(seed, DITC_RNG_SHUFFLE, step = e); step s of the epoch takes
// permutation positions [s*B, (s+1)*B) (drop-last: floor(N/B) steps per epoch) and rank r of W takes every
// W-th of them starting at r. Each sample also gets its position in the GLOBAL batch, the key for all its
// per-sample randomness, so 1 and W processes see the same samples with the same random draws.
#ifndef DITC_DATA_ORDER_H
#define DITC_DATA_ORDER_H

#include <stdint.h>

#include "common.h"

typedef struct {
    int64_t n, global_batch;
    uint64_t seed;
    int64_t epoch; // epoch whose permutation is cached in perm (-1: none yet)
    int64_t *perm; // n entries
} ditc_data_order;

// Validates global_batch against n (error naming --global-batch-size if < 1 or > n) and n >= 1.
int ditc_data_order_init(ditc_data_order *s, int64_t n, int64_t global_batch, uint64_t seed, ditc_status *st);

// floor(n / global_batch): the last partial batch is dropped.
int64_t ditc_data_order_steps_per_epoch(const ditc_data_order *s);

// Sample indices of step `step_in_epoch` of `epoch` for rank `rank` of `world`: idx[j] = perm[s*B + rank + j*W]
// and pos[j] = rank + j*W (position in the global batch) for j in [0, B/W). B must be divisible by W and
// 0 <= step_in_epoch < steps_per_epoch, 0 <= epoch < 2^32 (internal invariants: DITC_CHECK).
// Recomputes the cached permutation when the epoch changes (so not thread-safe on one data order).
void ditc_data_order_indices(ditc_data_order *s, int64_t epoch, int64_t step_in_epoch, int rank, int world,
                             int64_t *idx, int64_t *pos);

void ditc_data_order_free(ditc_data_order *s);

#endif

// data_order.c — the world-size-invariant data order (see data_order.h and spec/data.md).
#include "data_order.h"

#include "rng.h"

int ditc_data_order_init(ditc_data_order *s, int64_t n, int64_t global_batch, uint64_t seed, ditc_status *st) {
    DITC_CHECK(s != NULL, "sampler_init on NULL");
    s->perm = NULL;
    s->n = n;
    s->global_batch = global_batch;
    s->seed = seed;
    s->epoch = -1;
    if (n < 1) return ditc_fail(st, DITC_ERR_ARG, "the dataset has no samples (n = %lld)", (long long)n);
    if (global_batch < 1 || global_batch > n)
        return ditc_fail(st, DITC_ERR_ARG, "--global-batch-size %lld must be in 1..%lld (the number of samples)",
                         (long long)global_batch, (long long)n);
    s->perm = ditc_xmalloc(sizeof(int64_t) * (size_t)n);
    return 0;
}

int64_t ditc_data_order_steps_per_epoch(const ditc_data_order *s) {
    DITC_CHECK(s != NULL && s->global_batch >= 1, "data order not initialised");
    return s->n / s->global_batch;
}

// Makes perm the permutation of `epoch`.
static void ensure_epoch(ditc_data_order *s, int64_t epoch) {
    if (s->epoch == epoch) return;
    ditc_rng_permutation(s->perm, s->n, s->seed, DITC_RNG_SHUFFLE, (uint32_t)epoch);
    s->epoch = epoch;
}

void ditc_data_order_indices(ditc_data_order *s, int64_t epoch, int64_t step_in_epoch, int rank, int world,
                             int64_t *idx, int64_t *pos) {
    DITC_CHECK(s != NULL && s->perm != NULL, "data order not initialised");
    DITC_CHECK(epoch >= 0 && epoch <= (int64_t)UINT32_MAX, "epoch %lld out of range", (long long)epoch);
    DITC_CHECK(step_in_epoch >= 0 && step_in_epoch < ditc_data_order_steps_per_epoch(s),
               "step %lld out of range [0, %lld)", (long long)step_in_epoch,
               (long long)ditc_data_order_steps_per_epoch(s));
    DITC_CHECK(world >= 1 && rank >= 0 && rank < world, "rank %d of world %d", rank, world);
    const int64_t B = s->global_batch;
    DITC_CHECK(B % world == 0, "global batch %lld not divisible by world size %d", (long long)B, world);
    ensure_epoch(s, epoch);
    const int64_t first = step_in_epoch * B, local = B / world;
    for (int64_t j = 0; j < local; j++) {
        const int64_t p = rank + j * world;
        if (idx) idx[j] = s->perm[first + p];
        if (pos) pos[j] = p;
    }
}

void ditc_data_order_free(ditc_data_order *s) {
    if (!s) return;
    free(s->perm);
    s->perm = NULL;
    s->epoch = -1;
}

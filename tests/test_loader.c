// test_loader.c — loader determinism (data-pipeline acceptance):
//  * the first 3 epochs' batches (indices, positions, labels, timesteps, pixel checksums, incl. flips) are
//    identical for 0, 1 and 4 workers, and for a small and a deep prefetch ring;
//  * for world sizes 1, 2, 3 (ranks simulated) the union of the rank batches equals the single-process
//    batch at every step, sample for sample;
//  * a loader started mid-run (resume) continues the same stream;
//  * a failing sample surfaces as an error naming it, with or without workers.
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "test_check.h"

enum { N = 50, GB = 6, EPOCHS = 3 };

typedef struct {
    int64_t idx[GB], pos[GB];
    int32_t y[GB];
    int t[GB];
    uint64_t sum[GB]; // FNV-1a of each sample's floats
} rec;

static uint64_t fnv(const float *x, int64_t n) {
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p = (const unsigned char *)x;
    for (int64_t i = 0; i < n * 4; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static ditc_loader_opts opts(const ditc_dataset *ds, int workers, int prefetch, int rank, int world, int64_t start,
                             int64_t end) {
    ditc_loader_opts o = {.ds = ds,
                          .global_batch = GB,
                          .rank = rank,
                          .world = world,
                          .seed = 7,
                          .num_classes = 10,
                          .label_dropout = 0.1f,
                          .random_flip = 1,
                          .num_timesteps = 1000,
                          .workers = workers,
                          .prefetch = prefetch,
                          .start_step = start,
                          .start_epoch = 0,
                          .start_step_in_epoch = start,
                          .end_step = end};
    return o;
}

// Records steps [start, end) of rank/world into r[step].
static int record(const ditc_dataset *ds, int workers, int prefetch, int rank, int world, int64_t start, int64_t end,
                  rec *r) {
    ditc_loader *l;
    ditc_status st = {0};
    ditc_loader_opts o = opts(ds, workers, prefetch, rank, world, start, end);
    if (ditc_loader_new(&l, &o, &st)) {
        printf("loader_new: %s\n", st.message);
        return 1;
    }
    for (int64_t s = start; s < end; s++) {
        const ditc_batch *b;
        if (ditc_loader_next(l, &b, NULL, &st)) {
            printf("next: %s\n", st.message);
            ditc_loader_free(l);
            return 1;
        }
        rec *q = &r[s];
        for (int64_t i = 0; i < b->B; i++) { // store by global position
            int64_t p = b->pos[i];
            q->idx[p] = b->idx[i];
            q->pos[p] = p;
            q->y[p] = b->y[i];
            q->t[p] = b->t[i];
            q->sum[p] = fnv(b->x + i * b->per, b->per);
        }
    }
    ditc_loader_free(l);
    return 0;
}

// A dataset whose sample 13 fails.
static int bad_get(const ditc_dataset *ds, int64_t i, float *dst, int32_t *label, ditc_status *st) {
    const ditc_dataset *inner = ds->ctx;
    if (i == 13) return ditc_fail(st, DITC_ERR_FORMAT, "sample-13.jpg: truncated or corrupt JPEG");
    return inner->get(inner, i, dst, label, st);
}

int main(void) {
    ditc_dataset *ds = ditc_dataset_synthetic(N, 3, 8, 10, 3);
    int64_t spe = N / GB, steps = EPOCHS * spe;
    rec *ref = calloc((size_t)steps, sizeof *ref), *got = calloc((size_t)steps, sizeof *got);
    check(!record(ds, 0, 0, 0, 1, 0, steps, ref), "workers 0: %lld steps (%d epochs of %lld)", (long long)steps, EPOCHS,
          (long long)spe);
    int configs[][2] = {{1, 0}, {4, 0}, {4, 2}, {2, 9}};
    for (size_t c = 0; c < sizeof configs / sizeof *configs; c++) {
        memset(got, 0, sizeof(rec) * (size_t)steps);
        int ok = !record(ds, configs[c][0], configs[c][1], 0, 1, 0, steps, got);
        check(ok && !memcmp(ref, got, sizeof(rec) * (size_t)steps),
              "workers %d (prefetch %d): batches identical to workers 0 (indices, labels, timesteps, pixels)",
              configs[c][0], configs[c][1]);
    }
    for (int world = 2; world <= 3; world++) {
        memset(got, 0, sizeof(rec) * (size_t)steps);
        int ok = 1;
        for (int rank = 0; rank < world; rank++) ok &= !record(ds, rank % 2 ? 2 : 0, 0, rank, world, 0, steps, got);
        check(ok && !memcmp(ref, got, sizeof(rec) * (size_t)steps),
              "world %d: the union of the rank batches equals the single-process batch at every step", world);
    }
    // resume mid-epoch: start at step 11 (epoch 1, position 3)
    memset(got, 0, sizeof(rec) * (size_t)steps);
    ditc_loader *l;
    ditc_status st = {0};
    ditc_loader_opts o = opts(ds, 2, 0, 0, 1, 11, steps);
    o.start_epoch = 0;
    o.start_step_in_epoch = 11; // beyond spe: the loader carries into the next epoch
    int ok = !ditc_loader_new(&l, &o, &st);
    for (int64_t s = 11; ok && s < steps; s++) {
        const ditc_batch *b;
        ok &= !ditc_loader_next(l, &b, NULL, &st);
        for (int64_t i = 0; ok && i < b->B; i++) {
            rec *q = &got[s];
            int64_t p = b->pos[i];
            q->idx[p] = b->idx[i];
            q->pos[p] = p;
            q->y[p] = b->y[i];
            q->t[p] = b->t[i];
            q->sum[p] = fnv(b->x + i * b->per, b->per);
        }
    }
    if (ok) ditc_loader_free(l);
    check(ok && !memcmp(ref + 11, got + 11, sizeof(rec) * (size_t)(steps - 11)),
          "a loader started at step 11 continues the stream");
    // errors
    ditc_dataset bad = *ds;
    bad.ctx = ds;
    bad.get = bad_get;
    bad.destroy = NULL;
    for (int workers = 0; workers <= 2; workers += 2) {
        ditc_loader_opts ob = opts(&bad, workers, 0, 0, 1, 0, steps);
        int failed = 0;
        ditc_status es = {0};
        if (!ditc_loader_new(&l, &ob, &es)) {
            for (int64_t s = 0; s < steps && !failed; s++) {
                const ditc_batch *b;
                failed = ditc_loader_next(l, &b, NULL, &es) != 0;
            }
            ditc_loader_free(l);
        }
        check(failed && strstr(es.message, "sample-13.jpg"), "workers %d: a bad sample stops with its message (%s)",
              workers, es.message);
    }
    ditc_loader_opts oz = opts(ds, 0, 0, 0, 4, 0, steps);
    ditc_status zs = {0};
    check(ditc_loader_new(&l, &oz, &zs) != 0 && strstr(zs.message, "--global-batch-size"),
          "a global batch not divisible by the world size is refused (%s)", zs.message);
    free(ref);
    free(got);
    ditc_dataset_free(ds);
    return check_summary("test_loader");
}

// loader.c — threaded, deterministic prefetching of training batches (see loader.h).
#include "loader.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data_order.h"
#include "image_internal.h"
#include "philox.h"
#include "rng.h"

typedef struct {
    ditc_batch b;
    int ready;       // 1 when b holds step `b.step`
    ditc_status err; // the first error while building it
} slot;

struct ditc_loader {
    ditc_loader_opts o;
    int64_t spe; // steps per epoch
    slot *slots;
    int nslots;
    int64_t next_build;   // next step a worker will take
    int64_t next_consume; // next step handed out
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t *threads;
    ditc_data_order sync_order; // the workers = 0 path's data order
};

// Fills b for global step `step`: samples, flips, timesteps, label dropout. omp: parallel over samples.
static int build(const ditc_loader *l, ditc_data_order *smp, int64_t step, ditc_batch *b, int omp, ditc_status *st) {
    const ditc_loader_opts *o = &l->o;
    int64_t k = o->start_step_in_epoch + (step - o->start_step);
    b->step = step;
    b->epoch = o->start_epoch + k / l->spe;
    b->step_in_epoch = k % l->spe;
    ditc_data_order_indices(smp, b->epoch, b->step_in_epoch, o->rank, o->world, b->idx, b->pos);
    const ditc_dataset *ds = o->ds;
    int r = 0;
    if (omp) {
        r = ditc_dataset_batch(ds, b->idx, b->B, b->x, b->y, st);
    } else {
        for (int64_t i = 0; i < b->B && !r; i++) r = ds->get(ds, b->idx[i], b->x + i * b->per, &b->y[i], st);
    }
    if (r) return r;
    int64_t S = ds->side, rows = (int64_t)ds->channels * S;
    for (int64_t i = 0; i < b->B; i++) {
        uint64_t p = (uint64_t)b->pos[i];
        uint32_t s32 = (uint32_t)step;
        if (o->random_flip && ditc_rng_uniform(o->seed, DITC_RNG_FLIP, s32, p) < 0.5f) {
            float *img = b->x + i * b->per;
            for (int64_t row = 0; row < rows; row++)
                for (int64_t c = 0; c < S / 2; c++) {
                    float tmp = img[row * S + c];
                    img[row * S + c] = img[row * S + S - 1 - c];
                    img[row * S + S - 1 - c] = tmp;
                }
        }
        b->t[i] = (int)ditc_rng_randint(o->seed, DITC_RNG_TIMESTEP, s32, p, (uint64_t)o->num_timesteps);
        if (ditc_rng_uniform(o->seed, DITC_RNG_LABEL_DROP, s32, p) < o->label_dropout) b->y[i] = o->num_classes;
    }
    return 0;
}

static void batch_alloc(ditc_batch *b, int64_t B, int64_t per) {
    memset(b, 0, sizeof *b);
    b->B = B;
    b->per = per;
    b->idx = ditc_xmalloc(sizeof(int64_t) * (size_t)B);
    b->pos = ditc_xmalloc(sizeof(int64_t) * (size_t)B);
    b->x = ditc_xmalloc(sizeof(float) * (size_t)(B * per));
    b->y = ditc_xmalloc(sizeof(int32_t) * (size_t)B);
    b->t = ditc_xmalloc(sizeof(int) * (size_t)B);
}

static void batch_free(ditc_batch *b) {
    free(b->idx);
    free(b->pos);
    free(b->x);
    free(b->y);
    free(b->t);
}

static void *worker(void *arg) {
    ditc_loader *l = arg;
    ditc_data_order smp;
    ditc_status st = {0};
    ditc_data_order_init(&smp, l->o.ds->n, l->o.global_batch, l->o.seed, &st); // validated by the caller
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        int64_t step = l->next_build;
        if (step >= l->o.end_step) break;
        slot *s = &l->slots[step % l->nslots];
        // The caller holds the slot of step next_consume − 1 until its next call, so a worker may run at
        // most nslots − 1 steps ahead of next_consume.
        if (step - l->next_consume >= l->nslots - 1) {
            pthread_cond_wait(&l->cv, &l->mu);
            continue;
        }
        l->next_build++;
        pthread_mutex_unlock(&l->mu);
        ditc_status err = {0};
        build(l, &smp, step, &s->b, 0, &err);
        pthread_mutex_lock(&l->mu);
        s->err = err;
        s->ready = 1;
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    ditc_data_order_free(&smp);
    ditc_image_scratch_free(); // this thread's image decode/resize buffers (thread-local; else leaked at exit)
    return NULL;
}

int ditc_loader_new(ditc_loader **out, const ditc_loader_opts *o, ditc_status *st) {
    *out = NULL;
    if (o->global_batch % o->world)
        return ditc_fail(st, DITC_ERR_ARG, "--global-batch-size %lld is not divisible by the world size %d",
                         (long long)o->global_batch, o->world);
    if (o->workers < 0 || o->workers > 256)
        return ditc_fail(st, DITC_ERR_ARG, "--num-workers %d: must be in 0..256", o->workers);
    ditc_loader *l = ditc_xcalloc(1, sizeof *l);
    l->o = *o;
    if (ditc_data_order_init(&l->sync_order, o->ds->n, o->global_batch, o->seed, st)) {
        free(l);
        return st->code;
    }
    l->spe = ditc_data_order_steps_per_epoch(&l->sync_order);
    l->nslots = o->workers ? (o->prefetch > 1 ? o->prefetch : o->workers + 1) : 1;
    if (o->workers && l->nslots < 2) l->nslots = 2;
    l->slots = ditc_xcalloc((size_t)l->nslots, sizeof *l->slots);
    int64_t B = o->global_batch / o->world, per = (int64_t)o->ds->channels * o->ds->side * o->ds->side;
    for (int i = 0; i < l->nslots; i++) batch_alloc(&l->slots[i].b, B, per);
    l->next_build = l->next_consume = o->start_step;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (o->workers) {
        l->threads = ditc_xcalloc((size_t)o->workers, sizeof *l->threads);
        for (int i = 0; i < o->workers; i++)
            DITC_CHECK(pthread_create(&l->threads[i], NULL, worker, l) == 0, "pthread_create");
    }
    *out = l;
    return 0;
}

int ditc_loader_next(ditc_loader *l, const ditc_batch **out, double *wait_s, ditc_status *st) {
    int64_t step = l->next_consume;
    DITC_CHECK(step < l->o.end_step, "loader read past its last step");
    slot *s = &l->slots[step % l->nslots];
    double t0 = ditc_now_s();
    if (!l->o.workers) {
        int r = build(l, &l->sync_order, step, &s->b, 1, st);
        if (wait_s) *wait_s = ditc_now_s() - t0;
        l->next_consume++;
        *out = &s->b;
        return r;
    }
    pthread_mutex_lock(&l->mu);
    if (step > l->o.start_step) { // the previous step's slot is free now
        l->slots[(step - 1) % l->nslots].ready = 0;
        pthread_cond_broadcast(&l->cv);
    }
    while (!(s->ready && s->b.step == step)) pthread_cond_wait(&l->cv, &l->mu);
    l->next_consume++;
    pthread_cond_broadcast(&l->cv);
    ditc_status err = s->err;
    pthread_mutex_unlock(&l->mu);
    if (wait_s) *wait_s = ditc_now_s() - t0;
    *out = &s->b;
    if (err.code) {
        if (st) *st = err;
        return err.code;
    }
    return 0;
}

void ditc_loader_free(ditc_loader *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; l->threads && i < l->o.workers; i++) pthread_join(l->threads[i], NULL);
    for (int i = 0; i < l->nslots; i++) batch_free(&l->slots[i].b);
    free(l->slots);
    free(l->threads);
    ditc_data_order_free(&l->sync_order);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

// loader.h — the training data loader: batches of consecutive global steps, built by `workers` threads into a
// bounded ring of prefetch slots and handed out in step order.
//
// A step's batch is a pure function of (seed, global step): the data order gives the samples and their
// positions in the global batch, and every per-sample draw — horizontal flip, timestep, label dropout — is
// keyed by (seed, purpose, step, position). So the output (order and content) is identical for any number
// of workers, and for any number of ranks the union of the rank batches is the single-process batch.
#ifndef DITC_LOADER_H
#define DITC_LOADER_H

#include <stdint.h>

#include "common.h"
#include "dataset.h"

typedef struct {
    int64_t B, per; // local batch, floats per sample
    int64_t step, epoch, step_in_epoch;
    int64_t *idx, *pos; // dataset index and global-batch position of each local sample
    float *x;           // (B, C, S, S)
    int32_t *y;         // labels after dropout (num_classes = the null class)
    int *t;             // diffusion timesteps
} ditc_batch;

typedef struct {
    const ditc_dataset *ds;
    int64_t global_batch;
    int rank, world;
    uint64_t seed;
    int num_classes;     // label dropout replaces a label by this (the null class)
    float label_dropout; // 0.1 in training
    int random_flip;
    int num_timesteps; // 1000
    int workers;       // 0: build batches in the caller's thread (OpenMP over samples)
    int prefetch;      // ring slots (>= 1; default workers + 1)
    int64_t start_step, start_epoch, start_step_in_epoch, end_step;
} ditc_loader_opts;

typedef struct ditc_loader ditc_loader;

int ditc_loader_new(ditc_loader **out, const ditc_loader_opts *o, ditc_status *st);
// The batch of the next step (valid until the next call). *wait_s: seconds spent waiting for it.
// Errors (a bad sample) return non-zero with st naming the file.
int ditc_loader_next(ditc_loader *l, const ditc_batch **out, double *wait_s, ditc_status *st);
void ditc_loader_free(ditc_loader *l);

#endif

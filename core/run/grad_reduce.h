// grad_reduce.h — the gradient reduction over ranks in buckets issued during the backward pass (as PyTorch
// DDP's reducer): the flat gradient buffer is cut at parameter boundaries into buckets of about --grad-bucket-mb
// (from the last parameters, whose gradients are final first); a bucket's all-reduce — or ZeRO-2 reduce-scatter
// — starts as soon as backward has passed the first forward use of every parameter in it (ditc_param_first_use)
// and runs while backward computes the earlier layers. The communicator is polled after every backward node (MPI
// progresses non-blocking collectives inside its calls); after the backward the rest is waited for.
//
// Every rank computes the same buckets and launch order (the same model and tape), so the collectives match.
// The sums are those of one collective over the whole buffer, element for element, up to the order in which the
// communicator adds the ranks' contributions (the same with 2 ranks).
#ifndef DITC_GRAD_REDUCE_H
#define DITC_GRAD_REDUCE_H

#include <stdint.h>
#include <stdio.h>

#include "autograd.h"
#include "comm.h"
#include "params.h"

typedef struct {
    int p0, p1;        // parameters [p0, p1) of the layout
    size_t begin, end; // their elements [begin, end) of the flat gradient buffer (with the alignment padding)
    int ready;         // this backward: the tape index after whose backward the bucket is final (INT_MAX: at once)
    ditc_comm_req *req;
    int launched_at, done_at; // trace of this backward: the tape index then (-1: after the backward)
} ditc_grad_bucket;

typedef struct {
    ditc_comm *comm;
    ditc_backend *be;
    ditc_params *params;
    int zero; // 2: reduce-scatter into ZeRO-2 shards; 0: all-reduce
    int n;
    ditc_grad_bucket *b; // b[0] holds the last parameters
    int *order;          // launch order: by ready index, latest first (then by bucket)
    int next, polled;    // order[next]: the next to launch; order[polled]: the oldest not seen complete
    int armed;
    int nodes; // tape length of the armed backward
    // DITC_TEST_BUCKET_TRACE=FILE (tests): rank 0 appends one line per bucket and backward (train_step.c)
    FILE *trace;
    int64_t trace_step;
} ditc_grad_reducer;

// Buckets of about bucket_mb MiB (at least one parameter each; <= 0: one bucket of the whole buffer).
void ditc_grad_reducer_init(ditc_grad_reducer *r, ditc_comm *comm, ditc_backend *be, ditc_params *p, int zero,
                            double bucket_mb);
void ditc_grad_reducer_free(ditc_grad_reducer *r);
// Before the backward of a pass's last micro-batch (its forward recorded on c): each bucket's ready index from
// the tape, and the hook on c that launches and polls the buckets during ditc_backward.
void ditc_grad_reducer_arm(ditc_grad_reducer *r, ditc_ctx *c);
// After that backward: launches what is left and waits for every bucket (the flat gradient then holds the sum
// over ranks, or this rank's shard of it); removes the hook. Returns 0 if the reducer was not armed.
int ditc_grad_reducer_finish(ditc_grad_reducer *r, ditc_ctx *c);

#endif

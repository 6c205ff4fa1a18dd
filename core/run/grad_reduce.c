// grad_reduce.c — gradient buckets reduced during the backward pass (grad_reduce.h).
#include "grad_reduce.h"

#include <limits.h>
#include <stdlib.h>

#include "common.h"

#define MAX_BUCKET_ELEMS ((size_t)1 << 28) // also within MPI's int counts

static size_t param_end(const ditc_params *p, int i) {
    return i + 1 < p->n ? (size_t)p->offset[i + 1] : (size_t)p->numel;
}

void ditc_grad_reducer_init(ditc_grad_reducer *r, ditc_comm *comm, ditc_backend *be, ditc_params *p, int zero,
                            double bucket_mb) {
    *r = (ditc_grad_reducer){.comm = comm, .be = be, .params = p, .zero = zero};
    size_t cap = bucket_mb > 0 ? (size_t)(bucket_mb * 1048576.0 / sizeof(float)) : MAX_BUCKET_ELEMS;
    if (cap < 1) cap = 1;
    if (cap > MAX_BUCKET_ELEMS) cap = MAX_BUCKET_ELEMS;
    r->b = ditc_xcalloc((size_t)p->n + 1, sizeof *r->b);
    r->order = ditc_xcalloc((size_t)p->n + 1, sizeof *r->order);
    // from the last parameter back: a bucket closes once it holds cap elements (or before it would pass the
    // MPI limit)
    int p1 = p->n;
    while (p1 > 0) {
        int p0 = p1 - 1;
        size_t end = param_end(p, p1 - 1);
        while (p0 > 0 && end - (size_t)p->offset[p0] < cap && end - (size_t)p->offset[p0 - 1] <= MAX_BUCKET_ELEMS) p0--;
        r->b[r->n++] = (ditc_grad_bucket){.p0 = p0, .p1 = p1, .begin = (size_t)p->offset[p0], .end = end};
        p1 = p0;
    }
    if (comm->rank == 0) {
        const char *path = getenv("DITC_TEST_BUCKET_TRACE");
        if (path && *path) r->trace = fopen(path, "a");
    }
}

void ditc_grad_reducer_free(ditc_grad_reducer *r) {
    if (r->trace) fclose(r->trace);
    free(r->b);
    free(r->order);
    *r = (ditc_grad_reducer){0};
}

static void launch(ditc_grad_reducer *r, ditc_grad_bucket *b, int at) {
    ditc_params *p = r->params;
    ditc_params_settle_grad_range(p, b->p0, b->p1); // gradients never written this pass: zeros
    float *g = p->grad;
    size_t n = b->end - b->begin;
    if (r->zero) b->req = r->comm->ireduce_scatter_sum(r->comm, r->be, g, b->begin, n, (size_t)p->numel, DITC_F32);
    else b->req = r->comm->iallreduce_sum(r->comm, r->be, g + b->begin, n, DITC_F32);
    b->launched_at = at;
    b->done_at = -1;
}

// Backward has passed node i: launch the buckets that became final, then poll the oldest one in flight (MPI
// progresses all of them inside that call).
static void on_node_done(void *user, ditc_ctx *c, int i) {
    (void)c;
    ditc_grad_reducer *r = user;
    while (r->next < r->n && r->b[r->order[r->next]].ready >= i) launch(r, &r->b[r->order[r->next++]], i);
    while (r->polled < r->next && r->comm->test(r->comm, r->b[r->order[r->polled]].req))
        r->b[r->order[r->polled++]].done_at = i;
}

static int by_ready_desc(const void *x, const void *y, void *ctx) {
    const ditc_grad_bucket *b = ctx;
    int i = *(const int *)x, j = *(const int *)y;
    if (b[i].ready != b[j].ready) return b[i].ready > b[j].ready ? -1 : 1;
    return i < j ? -1 : i > j;
}

// insertion sort with a context (qsort_r is not portable C17); n is small (tens to hundreds of buckets)
static void sort_order(int *order, int n, ditc_grad_bucket *b) {
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i - 1;
        while (j >= 0 && by_ready_desc(&order[j], &v, b) > 0) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
}

void ditc_grad_reducer_arm(ditc_grad_reducer *r, ditc_ctx *c) {
    ditc_params *p = r->params;
    for (int k = 0; k < r->n; k++) {
        ditc_grad_bucket *b = &r->b[k];
        b->ready = INT_MAX;
        for (int i = b->p0; i < b->p1; i++) {
            if (!p->t[i]->requires_grad) continue;
            int f = ditc_param_first_use(c, p->t[i]);
            if (f < b->ready) b->ready = f;
        }
        b->req = NULL;
        b->launched_at = b->done_at = -1;
        r->order[k] = k;
    }
    sort_order(r->order, r->n, r->b);
    r->next = r->polled = 0;
    r->nodes = c->n_nodes;
    r->armed = 1;
    c->node_done = on_node_done;
    c->node_done_user = r;
}

int ditc_grad_reducer_finish(ditc_grad_reducer *r, ditc_ctx *c) {
    if (!r->armed) return 0;
    if (c->node_done_user == r) {
        c->node_done = NULL;
        c->node_done_user = NULL;
    }
    while (r->next < r->n) launch(r, &r->b[r->order[r->next++]], -1);
    for (int k = 0; k < r->n; k++) {
        ditc_grad_bucket *b = &r->b[r->order[k]];
        r->comm->wait(r->comm, b->req);
        b->req = NULL;
    }
    if (r->trace) {
        for (int k = 0; k < r->n; k++) {
            const ditc_grad_bucket *b = &r->b[r->order[k]];
            fprintf(r->trace, "step %lld nodes %d bucket %d params %d-%d elems %zu ready %d launched %d done %d\n",
                    (long long)r->trace_step, r->nodes, r->order[k], b->p0, b->p1, b->end - b->begin,
                    b->ready == INT_MAX ? -1 : b->ready, b->launched_at, b->done_at);
        }
        fflush(r->trace);
    }
    r->armed = 0;
    return 1;
}

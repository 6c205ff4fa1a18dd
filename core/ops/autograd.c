// autograd.c — context, tape recording, reverse-mode backward and gradient checkpointing.
#include "autograd.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "profile.h"

// Forward generations are unique over all contexts (a fresh parameter's tape_gen 0 never matches one).
static _Atomic uint32_t last_gen;
static uint32_t new_gen(void) { return atomic_fetch_add(&last_gen, 1) + 1; }

void ditc_ctx_init(ditc_ctx *c, ditc_backend *be) {
    memset(c, 0, sizeof *c);
    c->gen = new_gen();
    c->be = be;
    ditc_arena_init(&c->arena, be, 0);
    ditc_arena_init(&c->scratch, be, 0);
    c->cur = &c->arena;
    c->grad_enabled = 1;
    const char *e = getenv("DITC_GRAD_REUSE"); // =0: every activation gradient keeps its memory until the reset
    c->grad_reuse = !(e && !strcmp(e, "0"));
    e = getenv("DITC_GRAD_TAKEOVER"); // =0: the residual's gradient is copied (ditc_grad_take_over)
    c->grad_take_over = !(e && !strcmp(e, "0"));
}

void ditc_ctx_free(ditc_ctx *c) {
    c->be->synchronize(c->be);
    if (c->tmp) c->be->free(c->be, c->tmp);
    ditc_arena_free(&c->arena);
    ditc_arena_free(&c->scratch);
    free(c->tape);
    memset(c, 0, sizeof *c);
}

void ditc_ctx_reset(ditc_ctx *c) {
    DITC_CHECK(!c->in_checkpoint, "reset inside a checkpointed segment");
    c->n_nodes = 0;
    c->gen = new_gen();
    ditc_arena_reset(&c->arena);
    ditc_arena_reset(&c->scratch);
    c->cur = &c->arena;
}

int ditc_set_grad_enabled(ditc_ctx *c, int enabled) {
    int prev = c->grad_enabled;
    c->grad_enabled = enabled;
    return prev;
}

void *ditc_ctx_tmp(ditc_ctx *c, size_t bytes) {
    if (bytes > c->tmp_bytes) {
        if (c->tmp) c->be->free(c->be, c->tmp);
        c->tmp = c->be->alloc(c->be, bytes);
        DITC_ALLOC_CHECK(c->tmp, bytes);
        c->tmp_bytes = bytes;
    }
    return c->tmp;
}

size_t ditc_ctx_arena_peak(const ditc_ctx *c) { return c->arena.high_water + c->scratch.high_water; }

// ---- tensors ---------------------------------------------------------------------------------
ditc_tensor *ditc_new(ditc_ctx *c, ditc_dtype dtype, int ndim, const int64_t *shape) {
    return ditc_arena_tensor(c->cur, dtype, ndim, shape);
}

ditc_tensor *ditc_new_like(ditc_ctx *c, const ditc_tensor *t) { return ditc_new(c, t->dtype, t->ndim, t->shape); }

ditc_tensor *ditc_zeros(ditc_ctx *c, ditc_dtype dtype, int ndim, const int64_t *shape) {
    ditc_tensor *t = ditc_new(c, dtype, ndim, shape);
    c->be->fill(c->be, t->data, dtype, (size_t)t->numel, 0.0f);
    return t;
}

ditc_tensor *ditc_from_host(ditc_ctx *c, ditc_dtype dtype, int ndim, const int64_t *shape, const void *host) {
    ditc_tensor *t = ditc_new(c, dtype, ndim, shape);
    ditc_upload(t, host);
    return t;
}

ditc_tensor *ditc_view(ditc_ctx *c, ditc_tensor *t, int ndim, const int64_t *shape) {
    ditc_tensor *v = ditc_arena_header(c->cur);
    ditc_tensor_set_shape(v, t->dtype, ndim, shape);
    DITC_CHECK(v->numel == t->numel, "view of %lld elements as %lld", (long long)t->numel, (long long)v->numel);
    v->data = t->data;
    v->backend = t->backend;
    return v;
}

void ditc_to_host(const ditc_tensor *t, void *host) { t->backend->copy_d2h(t->backend, host, t->data, ditc_nbytes(t)); }

void ditc_upload(ditc_tensor *t, const void *host) { t->backend->copy_h2d(t->backend, t->data, host, ditc_nbytes(t)); }

// ---- recording -------------------------------------------------------------------------------
static ditc_node *push_node(ditc_ctx *c) {
    if (c->n_nodes == c->cap_nodes) {
        c->cap_nodes = c->cap_nodes ? 2 * c->cap_nodes : 256;
        c->tape = ditc_xrealloc(c->tape, (size_t)c->cap_nodes * sizeof *c->tape);
    }
    ditc_node *n = &c->tape[c->n_nodes++];
    memset(n, 0, sizeof *n);
    return n;
}

static ditc_node *record_node(ditc_ctx *c, int op, int n_in, ditc_tensor *const *in, int n_out,
                              ditc_tensor *const *out) {
    DITC_CHECK(n_in <= DITC_NODE_MAX_IO && n_out <= DITC_NODE_MAX_IO, "too many op inputs/outputs");
    ditc_node *n = push_node(c);
    n->op = op;
    n->n_in = n_in;
    n->n_out = n_out;
    for (int i = 0; i < n_in; i++) {
        n->in[i] = in[i];
        if (in[i] && in[i]->gelu_pre) in[i]->n_readers++; // (ditc_bwd_linear's GELU-gradient epilogue)
    }
    for (int i = 0; i < n_out; i++) {
        n->out[i] = out[i];
        out[i]->requires_grad = 1;
    }
    return n;
}

// Parameters read by the node at tape index `node`: their first use of this forward (the smallest index).
static void note_param_uses(ditc_ctx *c, int n_in, ditc_tensor *const *in, int node) {
    for (int i = 0; i < n_in; i++) {
        ditc_tensor *p = in[i];
        if (!p || !p->is_param) continue;
        if (p->tape_gen != c->gen || node < p->tape_first) p->tape_first = node;
        p->tape_gen = c->gen;
    }
}

int ditc_param_first_use(const ditc_ctx *c, const ditc_tensor *p) {
    return p->tape_gen == c->gen ? p->tape_first : INT_MAX;
}

ditc_node *ditc_record(ditc_ctx *c, int op, int n_in, ditc_tensor *const *in, int n_out, ditc_tensor *const *out) {
    if (ditc_prof.enabled) ditc_profile_fwd(c->be, op);
    if (!c->grad_enabled) {
        // the forward of a checkpointed segment: its parameters are read by the checkpoint node recorded next
        if (c->in_checkpoint) note_param_uses(c, n_in, in, c->n_nodes);
        return NULL;
    }
    int any = 0;
    for (int i = 0; i < n_in; i++) any |= in[i] && in[i]->requires_grad;
    if (!any) return NULL;
    ditc_node *n = record_node(c, op, n_in, in, n_out, out);
    if (!c->in_checkpoint) note_param_uses(c, n_in, in, c->n_nodes - 1); // (a re-run in backward: top-level known)
    return n;
}

// A gradient tensor for t. In the main arena its memory is pooled: released when the node that produced t has run
// its backward (run_backward), the only reader left — so the backward holds about one block's gradients at a time,
// not all of them, as the activations it frees in PyTorch. (Checkpointed segments' re-runs use the scratch arena,
// reset after each segment.)
static void new_grad(ditc_ctx *c, ditc_tensor *t) {
    ditc_dtype dt = t->grad_dtype == DITC_BF16 ? DITC_BF16 : DITC_F32;
    t->grad_pooled = c->cur == &c->arena && c->grad_reuse;
    if (!t->grad_pooled) {
        t->grad = ditc_new(c, dt, t->ndim, t->shape);
        return;
    }
    t->grad = ditc_arena_tensor_reuse(c->cur, dt, t->ndim, t->shape);
}

// After node n's backward (top level): its outputs' gradients are read for the last time.
static void release_out_grads(ditc_ctx *c, ditc_node *n) {
    for (int o = 0; o < n->n_out; o++) {
        ditc_tensor *t = n->out[o];
        if (!t->grad || !t->grad_pooled) continue;
        ditc_arena_release(&c->arena, t->grad->data, ditc_nbytes(t->grad));
        t->grad = NULL;
        t->grad_ready = 0;
        t->grad_pooled = 0;
    }
}

ditc_tensor *ditc_grad_dst_any(ditc_ctx *c, ditc_tensor *t, int *acc) {
    if (!t || !t->requires_grad) return NULL;
    if (!t->grad) new_grad(c, t); // (parameters have theirs: views into the flat buffer)
    *acc = t->grad_ready;
    DITC_CHECK(!*acc || t->grad->dtype == DITC_F32, "a BF16 gradient is written once (a second consumer added to it)");
    t->grad_ready = 1;
    return t->grad;
}

ditc_tensor *ditc_grad_dst(ditc_ctx *c, ditc_tensor *t, int *acc) {
    DITC_CHECK(!t || !t->requires_grad || t->grad_dtype != DITC_BF16,
               "an op that writes F32 gradients reached a tensor whose gradient is BF16 (ditc_bf16_grad on a tensor "
               "with another consumer)");
    return ditc_grad_dst_any(c, t, acc);
}

int ditc_grad_take_over(ditc_ctx *c, ditc_tensor *t, ditc_tensor *from) {
    ditc_tensor *g = from->grad;
    if (!c->grad_take_over || !t || !t->requires_grad || t->grad || t->grad_dtype == DITC_BF16 || !g ||
        !from->grad_ready || !from->grad_pooled || g->dtype != DITC_F32 || !ditc_same_shape(t, from))
        return 0;
    t->grad = g; // (same shape: the header serves t)
    t->grad_pooled = 1;
    t->grad_ready = 1;
    from->grad = NULL; // release_out_grads leaves the buffer to t
    from->grad_ready = 0;
    from->grad_pooled = 0;
    return 1;
}

// ---- backward --------------------------------------------------------------------------------
// top: the whole tape (not a checkpointed segment's re-run), where the node_done hook is called.
static void run_backward(ditc_ctx *c, int start, int top) {
    for (int i = c->n_nodes - 1; i >= start; i--) {
        ditc_node *n = &c->tape[i];
        int any = 0;
        for (int o = 0; o < n->n_out; o++) any |= ditc_grad_src(n->out[o]) != NULL;
        if (any) {
            int op = n->op;
            double t0 = ditc_prof.enabled ? ditc_profile_now(c->be) : 0;
            ditc_op_defs[op].backward(c, n);
            if (ditc_prof.enabled) ditc_profile_bwd(op, ditc_profile_now(c->be) - t0);
            if (top) release_out_grads(c, n);
        }
        if (top && c->node_done) c->node_done(c->node_done_user, c, i);
    }
}

void ditc_backward_seeded(ditc_ctx *c, int n, ditc_tensor *const *outs, ditc_tensor *const *grads) {
    for (int i = 0; i < n; i++) {
        if (!grads[i]) continue;
        DITC_CHECK(outs[i]->requires_grad, "backward from a tensor that does not require grad");
        DITC_CHECK(grads[i]->numel == outs[i]->numel && grads[i]->dtype == DITC_F32, "seed gradient shape/dtype");
        int acc;
        ditc_tensor *g = ditc_grad_dst(c, outs[i], &acc);
        c->be->axpy(c->be, g, 1.0f, grads[i], acc);
    }
    run_backward(c, 0, 1);
    c->n_nodes = 0; // the graph is consumed (as PyTorch without retain_graph)
}

void ditc_backward(ditc_ctx *c, ditc_tensor *loss) {
    DITC_CHECK(loss->numel == 1, "backward from a non-scalar (%lld elements)", (long long)loss->numel);
    int64_t one = 1;
    ditc_tensor *seed = ditc_new(c, DITC_F32, 1, &one);
    c->be->fill(c->be, seed->data, DITC_F32, 1, 1.0f);
    ditc_backward_seeded(c, 1, &loss, &seed);
}

// ---- gradient checkpointing ------------------------------------------------------------------
void ditc_checkpoint(ditc_ctx *c, ditc_segment_fn fn, void *user, int n_in, ditc_tensor *const *in, int n_out,
                     ditc_tensor **out) {
    DITC_CHECK(!c->in_checkpoint, "nested checkpointed segments are not supported");
    DITC_CHECK(n_out <= DITC_NODE_MAX_IO, "too many segment outputs");
    int grad = c->grad_enabled;
    ditc_tensor *tmp[DITC_NODE_MAX_IO];
    c->in_checkpoint = 1;
    c->grad_enabled = 0;
    c->cur = &c->scratch;
    fn(c, user, in, tmp);
    c->cur = &c->arena;
    for (int o = 0; o < n_out; o++) {
        out[o] = ditc_new_like(c, tmp[o]);
        c->be->copy_d2d(c->be, out[o]->data, tmp[o]->data, ditc_nbytes(tmp[o]));
    }
    ditc_arena_reset(&c->scratch);
    c->grad_enabled = grad;
    c->in_checkpoint = 0;
    if (grad) {
        ditc_node *n = record_node(c, DITC_OP_CHECKPOINT, n_in, in, n_out, out);
        n->segment = fn;
        n->user = user;
    }
}

void ditc_bwd_checkpoint(ditc_ctx *c, ditc_node *node) {
    // The re-run records nodes and may grow (move) the tape: work on a copy of the node.
    ditc_node copy = *node;
    ditc_node *n = &copy;
    // Input gradients must outlive the scratch arena: make them exist (zeroed) in the main arena.
    for (int i = 0; i < n->n_in; i++) {
        ditc_tensor *t = n->in[i];
        if (!t->requires_grad || t->is_param || t->grad_ready) continue;
        int acc;
        ditc_tensor *g = ditc_grad_dst(c, t, &acc);
        c->be->fill(c->be, g->data, DITC_F32, (size_t)g->numel, 0.0f);
    }
    c->in_checkpoint = 1;
    c->cur = &c->scratch;
    int grad = ditc_set_grad_enabled(c, 1);
    ditc_tensor *in[DITC_NODE_MAX_IO] = {0}, *out[DITC_NODE_MAX_IO] = {0};
    for (int i = 0; i < n->n_in; i++) { // leaves of the re-run that alias the inputs and their grads
        in[i] = ditc_arena_header(c->cur);
        *in[i] = *n->in[i];
    }
    int start = c->n_nodes;
    n->segment(c, n->user, in, out);
    for (int o = 0; o < n->n_out; o++) {
        ditc_tensor *g = ditc_grad_src(n->out[o]);
        if (!g || !out[o]->requires_grad) continue;
        DITC_CHECK(out[o]->grad == NULL, "segment output %d is also an input", o);
        out[o]->grad = g; // read-only seed (nodes only write their inputs' gradients)
        out[o]->grad_ready = 1;
    }
    run_backward(c, start, 0);
    for (int i = 0; i < n->n_in; i++) { // the re-run's leaves alias the inputs: carry their gradient state back
        n->in[i]->grad = in[i]->grad;
        n->in[i]->grad_ready = in[i]->grad_ready;
    }
    c->n_nodes = start;
    ditc_set_grad_enabled(c, grad);
    c->cur = &c->arena;
    c->in_checkpoint = 0;
    ditc_arena_reset(&c->scratch);
}

// autograd.h — the execution context: backend, activation arenas, define-by-run tape, backward.
//
// An op called while grad is enabled and with an input that requires grad records a node (inputs,
// outputs, saved tensors, scalar args). ditc_backward walks the tape in reverse; each node's backward
// writes or adds (see tensor.grad_ready) into its inputs' gradients. Parameter gradients live in the flat
// gradient buffer and are always accumulated into, so several backward passes add up until zero_grad.
//
// Gradient checkpointing is a tape feature: ditc_checkpoint runs a segment without recording (its
// intermediates in a scratch arena that is reset right after) and re-runs it with grad inside backward.
#ifndef DITC_AUTOGRAD_H
#define DITC_AUTOGRAD_H

#include "arena.h"
#include "backend.h"
#include "op_list.h"

#define DITC_NODE_MAX_IO 8

typedef struct ditc_ctx ditc_ctx;
typedef struct ditc_node ditc_node;

typedef void (*ditc_backward_fn)(ditc_ctx *c, ditc_node *n);
// Called by backward after each node of the top-level tape (index i, from the last to 0), whether it ran or had
// no gradient to pass on: every parameter whose tape_first >= i then holds its final gradient of this backward.
typedef void (*ditc_node_done_fn)(void *user, ditc_ctx *c, int i);
typedef void (*ditc_segment_fn)(ditc_ctx *c, void *user, ditc_tensor *const *in, ditc_tensor **out);

struct ditc_node {
    int op; // ditc_op_id (op_list.h)
    int n_in, n_out;
    ditc_tensor *in[DITC_NODE_MAX_IO];
    ditc_tensor *out[DITC_NODE_MAX_IO];
    ditc_tensor *saved[2];
    int64_t iarg[4];
    float farg[2];
    ditc_segment_fn segment; // for DITC_OP_CHECKPOINT nodes
    void *user;
};

struct ditc_ctx {
    ditc_backend *be;
    ditc_arena arena;   // activations of the step
    ditc_arena scratch; // intermediates of checkpointed segments
    ditc_arena *cur;    // where new tensors are allocated
    ditc_node *tape;
    int n_nodes, cap_nodes;
    int grad_enabled;
    int in_checkpoint;
    uint32_t gen; // the forward since the last reset (parameters' tape_first refer to it)
    void *tmp;    // ditc_ctx_tmp's backend buffer and its size
    size_t tmp_bytes;
    ditc_node_done_fn node_done; // optional backward hook (core/run/grad_reduce.c), with its user pointer
    void *node_done_user;
    // 1: an activation's gradient memory is reused once the node that produced the activation has run its backward
    // (the gradient's last reader), so the backward holds about one block's gradients, not all; results unchanged.
    // Set by ditc_ctx_init: 1 unless DITC_GRAD_REUSE=0 (A/B runs).
    int grad_reuse;
    int grad_take_over; // ditc_grad_take_over allowed (DITC_GRAD_TAKEOVER=0: off, an A/B switch)
};

// The registry the tape runs backward through: name and backward of every op id, one row per entry of
// op_list.h (defined by the ops, op_registry.c).
typedef struct {
    const char *name;
    ditc_backward_fn backward;
} ditc_op_def;
extern const ditc_op_def ditc_op_defs[DITC_OP_COUNT];

void ditc_ctx_init(ditc_ctx *c, ditc_backend *be);
void ditc_ctx_free(ditc_ctx *c);
// Start of a step: clears the tape and resets the arenas (all activations become invalid); a new generation of
// parameter first uses.
void ditc_ctx_reset(ditc_ctx *c);
// Returns the previous setting. With grad disabled nothing is recorded (no-grad mode).
int ditc_set_grad_enabled(ditc_ctx *c, int enabled);
// Activation memory high-water mark in bytes (main + scratch arena).
size_t ditc_ctx_arena_peak(const ditc_ctx *c);

// A backend buffer of at least `bytes` for one kernel sequence's temporaries (e.g. the score matrices of the GEMM
// attention), valid until the next call: it is reused, which stream order makes safe (the next user's kernels
// run after this one's). Grows, never shrinks; freed with the context.
void *ditc_ctx_tmp(ditc_ctx *c, size_t bytes);

// ---- tensors of the step -------------------------------------------------------------------
ditc_tensor *ditc_new(ditc_ctx *c, ditc_dtype dtype, int ndim, const int64_t *shape);
ditc_tensor *ditc_new_like(ditc_ctx *c, const ditc_tensor *t);
ditc_tensor *ditc_zeros(ditc_ctx *c, ditc_dtype dtype, int ndim, const int64_t *shape);
ditc_tensor *ditc_from_host(ditc_ctx *c, ditc_dtype dtype, int ndim, const int64_t *shape, const void *host);
// A header sharing t's memory with another shape of equal numel (no autograd link; see ditc_reshape).
ditc_tensor *ditc_view(ditc_ctx *c, ditc_tensor *t, int ndim, const int64_t *shape);
void ditc_to_host(const ditc_tensor *t, void *host); // synchronous
void ditc_upload(ditc_tensor *t, const void *host);

// ---- recording (used by op implementations) -------------------------------------------------
// Records a node if grad is enabled and some input requires grad; marks the outputs as requiring
// grad then. Returns the node or NULL.
ditc_node *ditc_record(ditc_ctx *c, int op, int n_in, ditc_tensor *const *in, int n_out, ditc_tensor *const *out);
// The gradient tensor of t to write in backward (NULL if t needs none). *acc tells the kernel to add
// (1) or overwrite (0). Marks the gradient as holding a value. F32 gradients only (fails on a BF16 one).
ditc_tensor *ditc_grad_dst(ditc_ctx *c, ditc_tensor *t, int *acc);
// The same for the ops whose kernels can write a BF16 gradient (t->grad_dtype; then *acc is 0: written once).
ditc_tensor *ditc_grad_dst_any(ditc_ctx *c, ditc_tensor *t, int *acc);
// The identity part of a backward (the residual x of x + gate·y): when t has no gradient yet and node output
// `from`'s gradient is pooled (the top-level backward, released after this node: DITC_GRAD_REUSE not 0), t takes over
// that buffer — its gradient then holds from's values, with no pass over them — and 1 is returned; from's gradient
// is detached (read it with ditc_grad_src before the call). Otherwise (or with DITC_GRAD_TAKEOVER=0) 0: write t's
// gradient as usual.
int ditc_grad_take_over(ditc_ctx *c, ditc_tensor *t, ditc_tensor *from);
// t's gradient if it holds a value this backward, else NULL (the gradient is zero).
static inline ditc_tensor *ditc_grad_src(const ditc_tensor *t) { return t->grad_ready ? t->grad : NULL; }

// The tape index of the first node of the current forward that reads parameter p (a node of a checkpointed
// segment counts as its checkpoint node); INT_MAX if no recorded node reads it.
int ditc_param_first_use(const ditc_ctx *c, const ditc_tensor *p);

// ---- backward ------------------------------------------------------------------------------
// loss must be a one-element tensor; seeds dloss = 1.
void ditc_backward(ditc_ctx *c, ditc_tensor *loss);
// Seeds the gradients of outs[i] with grads[i] (same numel, F32; NULL = zero) and runs the tape
// backwards. The tape is consumed.
void ditc_backward_seeded(ditc_ctx *c, int n, ditc_tensor *const *outs, ditc_tensor *const *grads);

// ---- gradient checkpointing ----------------------------------------------------------------
// fn computes out[0..n_out) from in[0..n_in) (and parameters) with ditc ops. Under ditc_checkpoint
// its intermediates are not kept: it runs without recording, and backward re-runs it with grad.
void ditc_checkpoint(ditc_ctx *c, ditc_segment_fn fn, void *user, int n_in, ditc_tensor *const *in, int n_out,
                     ditc_tensor **out);
// The backward of a checkpointed segment (the registry row of DITC_OP_CHECKPOINT).
void ditc_bwd_checkpoint(ditc_ctx *c, ditc_node *n);

#endif

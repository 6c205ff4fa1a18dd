// params.h — named parameters as views into flat per-dtype buffers (invariant 3).
//
// Model code declares parameters (name = PyTorch state_dict key, shape, trainable) and then calls
// finalize, which allocates ONE values buffer (dtype) and ONE F32 gradient buffer and points every
// tensor header into them. Optimizer state, EMA and anything else with the same layout are further flat
// buffers from ditc_params_alloc_like, viewed per tensor with ditc_params_view. One buffer = one
// all-reduce, one ZeRO sharding rule, one checkpoint loop.
#ifndef DITC_PARAMS_H
#define DITC_PARAMS_H

#include "backend.h"

#define DITC_PARAM_ALIGN 16 // elements: each tensor starts 64-byte aligned inside the flat buffers

typedef struct {
    ditc_backend *be;
    ditc_dtype dtype;
    int n, cap;
    ditc_tensor **t;    // headers (stable pointers), in declaration order
    int64_t *offset;    // element offset of tensor i in every flat buffer
    int64_t numel;      // flat length incl. alignment padding (padding stays 0)
    int64_t numel_real; // sum of tensor numels
    void *data;         // flat values, dtype
    void *grad;         // flat gradients, F32
    int finalized;
    // bf16 precision: a flat BF16 copy of data for the GEMMs (ditc_params_bf16_begin), allocated on first use
    void *bf16;
    ditc_tensor *bf16_views; // its per-tensor headers
    int bf16_current;        // 1 while bf16 holds data rounded: after begin's cast, or an update that wrote it
} ditc_params;

void ditc_params_init(ditc_params *p, ditc_backend *be, ditc_dtype dtype);
void ditc_params_free(ditc_params *p);
// Declares a parameter; the returned header is valid for the life of p, its data after finalize.
ditc_tensor *ditc_params_add(ditc_params *p, const char *name, int ndim, const int64_t *shape, int trainable);
void ditc_params_finalize(ditc_params *p); // allocates flat buffers, zero-filled
// Starts a new gradient accumulation: O(tensors), not O(elements). The next backward write of each
// parameter's gradient overwrites instead of adding; later writes add (gradient accumulation).
void ditc_params_zero_grad(ditc_params *p);
// Zero-fills the gradients of tensors that received none since zero_grad, so the whole flat buffer
// holds the gradient. Call before reading p->grad (optimizer, all-reduce, dumps).
void ditc_params_settle_grad(ditc_params *p);
// The same for tensors [first, last) only (one gradient bucket, core/run/grad_reduce.c).
void ditc_params_settle_grad_range(ditc_params *p, int first, int last);
ditc_tensor *ditc_params_find(const ditc_params *p, const char *name); // NULL if absent
// The BF16 weight copy of a training pass (forward and backward, incl. checkpoint recomputation), at bf16
// precision only (else no-ops; DITC_BF16_SHADOW=0: off, each linear rounds its weight per forward as before).
// begin rounds data into the copy unless p->bf16_current (an optimizer update that wrote it: optimizer.c), and
// points every tensor's `bf16` at its part; end clears the pointers and bf16_current (whatever writes data next
// must write the copy too, or the next begin rounds again). Same values either way: the results do not change.
void ditc_params_bf16_begin(ditc_params *p);
void ditc_params_bf16_end(ditc_params *p);
// A further flat buffer with the same layout (p->numel elements of dtype), zero-filled.
void *ditc_params_alloc_like(ditc_params *p, ditc_dtype dtype);
// Header for tensor i inside another flat buffer of the same layout.
ditc_tensor ditc_params_view(const ditc_params *p, int i, void *flat, ditc_dtype dtype);

#endif

// tensor.h — the tensor header: dtype, up to 4-D shape, owning backend, name, autograd links.
//
// Tensors are always contiguous row-major. Their memory belongs to a backend (host RAM for the CPU
// backend, device memory for CUDA): core code never dereferences `data` (invariant 1). Headers are
// cheap host structs handed out by the arena (activations) or by a flat parameter buffer (views).
#ifndef DITC_TENSOR_H
#define DITC_TENSOR_H

#include <stdint.h>
#include <string.h>

#include "dtype.h"

#define DITC_MAX_DIMS 4
#define DITC_NAME_MAX 96

struct ditc_backend;

typedef struct ditc_tensor {
    ditc_dtype dtype;
    int ndim;                     // 1..4 (a scalar is shape [1])
    int64_t shape[DITC_MAX_DIMS]; // unused trailing entries are 1
    int64_t numel;
    void *data;                   // backend memory, contiguous
    struct ditc_backend *backend; // owner of `data`
    char name[DITC_NAME_MAX];     // parameter name (state_dict key), "" for activations

    // autograd
    int requires_grad;        // gradient wanted for this tensor
    int is_param;             // grad is a view into a flat gradient buffer
    int grad_ready;           // grad holds a value (else the next write overwrites instead of adding);
                              // parameters: since the last ditc_params_zero_grad
    struct ditc_tensor *grad; // same shape, F32 — or BF16 where grad_dtype says so
    ditc_dtype grad_dtype;    // F32, or BF16: a GEMM output's gradient at bf16 precision (ops.h ditc_bf16_grad),
                              // written once by an op that can (ditc_grad_dst_any) and read as the GEMMs' operand
    int grad_pooled;          // grad's memory returns to the step's arena once its producer's backward has read it
    // the output of the GELU epilogue (ops_linear.c ditc_linear_gelu_to): the pre-activation the GEMM kept, and the
    // tape nodes recorded that read this tensor (its one reader, a linear, may fold GELU's backward into its dx GEMM)
    struct ditc_tensor *gelu_pre;
    int n_readers;
    int gelu_dropped; // its memory handed back after its reader's forward; that reader's backward recomputes it from
                      // gelu_pre (ops_linear.c ditc_gelu_drop, DITC_GELU_RECOMPUTE=1); data is NULL
    // parameters: the first tape node of the current forward that reads it (valid when tape_gen equals the
    // context's gen; core/ops/autograd.c). Its gradient is final once backward has passed that node.
    int tape_first;
    uint32_t tape_gen;
    // parameters at bf16 precision, during a training pass: the BF16 copy of data that the GEMMs read
    // (core/tensor/params.h ditc_params_bf16_begin), else NULL
    struct ditc_tensor *bf16;
} ditc_tensor;

static inline int64_t ditc_shape_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

// Product of dims [from, to).
static inline int64_t ditc_dims_prod(const ditc_tensor *t, int from, int to) {
    int64_t n = 1;
    for (int i = from; i < to; i++) n *= t->shape[i];
    return n;
}

static inline int64_t ditc_last_dim(const ditc_tensor *t) { return t->shape[t->ndim - 1]; }
static inline int64_t ditc_rows(const ditc_tensor *t) { return t->numel / ditc_last_dim(t); }
static inline size_t ditc_nbytes(const ditc_tensor *t) { return (size_t)t->numel * ditc_dtype_size(t->dtype); }

// Fills the header fields that describe the shape (does not touch data/backend/autograd fields).
void ditc_tensor_set_shape(ditc_tensor *t, ditc_dtype dtype, int ndim, const int64_t *shape);
// A 1-D header over n elements of dtype at data (a flat view for an elementwise kernel), nothing else set.
static inline ditc_tensor ditc_tensor_flat(void *data, ditc_dtype dtype, int64_t n) {
    ditc_tensor t;
    memset(&t, 0, sizeof t);
    ditc_tensor_set_shape(&t, dtype, 1, &n);
    t.data = data;
    return t;
}
int ditc_same_shape(const ditc_tensor *a, const ditc_tensor *b);
// "[2, 3, 4]" into buf; returns buf.
const char *ditc_shape_str(const ditc_tensor *t, char *buf, size_t n);

#endif

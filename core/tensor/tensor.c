// tensor.c — shape helpers for tensor headers.
#include "tensor.h"

#include <stdio.h>

#include "common.h"

void ditc_tensor_set_shape(ditc_tensor *t, ditc_dtype dtype, int ndim, const int64_t *shape) {
    DITC_CHECK(ndim >= 1 && ndim <= DITC_MAX_DIMS, "ndim %d", ndim);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < DITC_MAX_DIMS; i++) t->shape[i] = i < ndim ? shape[i] : 1;
    for (int i = 0; i < ndim; i++) DITC_CHECK(shape[i] >= 0, "negative dim %lld", (long long)shape[i]);
    t->numel = ditc_shape_numel(ndim, shape);
}

int ditc_same_shape(const ditc_tensor *a, const ditc_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

const char *ditc_shape_str(const ditc_tensor *t, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

// ops_internal.h — what the op implementations share: their backward declarations, the backend shorthand,
// dtype checks.
#ifndef DITC_OPS_INTERNAL_H
#define DITC_OPS_INTERNAL_H

#include "common.h"
#include "ops.h"

// The backward of every listed op (op_list.h); checkpoint's is in autograd.c.
#define DITC_DECLARE_BWD(id, name, file) void ditc_bwd_##name(ditc_ctx *c, ditc_node *n);
DITC_OPS(DITC_DECLARE_BWD)
#undef DITC_DECLARE_BWD

// Shorthand: the backend of the context.
#define BE (c->be)

static inline void check_f32(const ditc_tensor *t, const char *what) {
    DITC_CHECK(t->dtype == DITC_F32, "%s must be F32 (got %s)", what, ditc_dtype_name(t->dtype));
}

#endif

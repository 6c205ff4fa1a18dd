// ops_internal.h — backward functions of the ops (referenced by the registry) and shared helpers.
#ifndef DITC_OPS_INTERNAL_H
#define DITC_OPS_INTERNAL_H

#include "common.h"
#include "ops.h"

#define DITC_BACKWARDS(X)                                                                        \
    X(linear) X(matmul) X(add) X(mul) X(scale) X(ln_modulate) X(gated_residual) X(gelu) X(silu)  \
    X(attention) X(embedding) X(patchify) X(unpatchify) X(split) X(concat) X(sum) X(mean) X(mse) \
    X(reshape) X(cast) X(diffusion_loss) X(rms_norm) X(layer_norm) X(rope) X(swiglu) \
    X(modulate)

#define DITC_DECLARE_BWD(name) void ditc_bwd_##name(ditc_ctx *c, ditc_node *n);
DITC_BACKWARDS(DITC_DECLARE_BWD)
#undef DITC_DECLARE_BWD

// Shorthand: the backend of the context.
#define BE (c->be)

static inline void check_f32(const ditc_tensor *t, const char *what) {
    DITC_CHECK(t->dtype == DITC_F32, "%s must be F32 (got %s)", what, ditc_dtype_name(t->dtype));
}

#endif

// op_list.h — the one list of the differentiable ops. Everything that enumerates ops is generated from it:
// the op ids (DITC_OP_<ID>), their names (`ditc info`, the profiler, test_op_grads' "every op has a gradient
// test" check), the backward declarations (ops_internal.h) and the registry rows (op_registry.c).
// X(ID, name, file): the op's backward is ditc_bwd_<name>, implemented beside its forward in core/ops/<file>.
// The order is the ids' order (not part of any file format).
#ifndef DITC_OP_LIST_H
#define DITC_OP_LIST_H

// clang-format off
#define DITC_OPS(X)                                                                                           \
    X(LINEAR, linear, ops_linear.c)                                                                           \
    X(MATMUL, matmul, ops_linear.c)                                                                           \
    X(ADD, add, ops_elementwise.c)                                                                            \
    X(MUL, mul, ops_elementwise.c)                                                                            \
    X(SCALE, scale, ops_elementwise.c)                                                                        \
    X(LN_MODULATE, ln_modulate, ops_dit.c)                                                                    \
    X(GATED_RESIDUAL, gated_residual, ops_dit.c)                                                              \
    X(GELU, gelu, ops_elementwise.c)                                                                          \
    X(SILU, silu, ops_elementwise.c)                                                                          \
    X(ATTENTION, attention, ops_dit.c)                                                                        \
    X(EMBEDDING, embedding, ops_dit.c)                                                                        \
    X(PATCHIFY, patchify, ops_dit.c)                                                                          \
    X(UNPATCHIFY, unpatchify, ops_dit.c)                                                                      \
    X(SPLIT, split, ops_layout.c)                                                                             \
    X(CONCAT, concat, ops_layout.c)                                                                           \
    X(SUM, sum, ops_reduce.c)                                                                                 \
    X(MEAN, mean, ops_reduce.c)                                                                               \
    X(MSE, mse, ops_reduce.c)                                                                                 \
    X(RESHAPE, reshape, ops_layout.c)                                                                         \
    X(CAST, cast, ops_elementwise.c)                                                                          \
    X(DIFFUSION_LOSS, diffusion_loss, ops_diffusion.c)                                                        \
    X(RMS_NORM, rms_norm, ops_llama.c)                                                                        \
    X(LAYER_NORM, layer_norm, ops_llama.c)                                                                    \
    X(ROPE, rope, ops_llama.c)                                                                                \
    X(SWIGLU, swiglu, ops_llama.c)                                                                            \
    X(MODULATE, modulate, ops_llama.c)                                                                        \
    X(CHECKPOINT, checkpoint, autograd.c) /* a checkpointed segment: re-run with grad in backward */

// clang-format on
#define DITC_OP_ENUM_(id, name, file) DITC_OP_##id,
typedef enum { DITC_OPS(DITC_OP_ENUM_) DITC_OP_COUNT } ditc_op_id;
#undef DITC_OP_ENUM_

// The registry name of op id `op` ("?" outside the list).
static inline const char *ditc_op_name(int op) {
#define DITC_OP_NAME_(id, name, file) #name,
    static const char *const names[] = {DITC_OPS(DITC_OP_NAME_)};
#undef DITC_OP_NAME_
    return op >= 0 && op < DITC_OP_COUNT ? names[op] : "?";
}

#endif

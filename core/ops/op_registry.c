// op_registry.c — the table of ops: name and backward. Tests iterate it to demand a gradient test per op.
#include "ops_internal.h"

const ditc_op_def ditc_op_defs[DITC_OP_COUNT] = {
    [DITC_OP_LINEAR] = {"linear", ditc_bwd_linear, 1},
    [DITC_OP_MATMUL] = {"matmul", ditc_bwd_matmul, 1},
    [DITC_OP_ADD] = {"add", ditc_bwd_add, 1},
    [DITC_OP_MUL] = {"mul", ditc_bwd_mul, 1},
    [DITC_OP_SCALE] = {"scale", ditc_bwd_scale, 1},
    [DITC_OP_LN_MODULATE] = {"ln_modulate", ditc_bwd_ln_modulate, 1},
    [DITC_OP_GATED_RESIDUAL] = {"gated_residual", ditc_bwd_gated_residual, 1},
    [DITC_OP_GELU] = {"gelu", ditc_bwd_gelu, 1},
    [DITC_OP_SILU] = {"silu", ditc_bwd_silu, 1},
    [DITC_OP_ATTENTION] = {"attention", ditc_bwd_attention, 1},
    [DITC_OP_EMBEDDING] = {"embedding", ditc_bwd_embedding, 1},
    [DITC_OP_PATCHIFY] = {"patchify", ditc_bwd_patchify, 1},
    [DITC_OP_UNPATCHIFY] = {"unpatchify", ditc_bwd_unpatchify, 1},
    [DITC_OP_SPLIT] = {"split", ditc_bwd_split, 1},
    [DITC_OP_CONCAT] = {"concat", ditc_bwd_concat, 1},
    [DITC_OP_SUM] = {"sum", ditc_bwd_sum, 1},
    [DITC_OP_MEAN] = {"mean", ditc_bwd_mean, 1},
    [DITC_OP_MSE] = {"mse", ditc_bwd_mse, 1},
    [DITC_OP_RESHAPE] = {"reshape", ditc_bwd_reshape, 1},
    [DITC_OP_CAST] = {"cast", ditc_bwd_cast, 1},
    [DITC_OP_DIFFUSION_LOSS] = {"diffusion_loss", ditc_bwd_diffusion_loss, 1},
    [DITC_OP_RMS_NORM] = {"rms_norm", ditc_bwd_rms_norm, 1},
    [DITC_OP_LAYER_NORM] = {"layer_norm", ditc_bwd_layer_norm, 1},
    [DITC_OP_ROPE] = {"rope", ditc_bwd_rope, 1},
    [DITC_OP_SWIGLU] = {"swiglu", ditc_bwd_swiglu, 1},
    [DITC_OP_MODULATE] = {"modulate", ditc_bwd_modulate, 1},
    [DITC_OP_CHECKPOINT] = {"checkpoint", NULL, 1}, // backward lives in autograd.c
};

const char *ditc_op_name(int op) { return op >= 0 && op < DITC_OP_COUNT ? ditc_op_defs[op].name : "?"; }

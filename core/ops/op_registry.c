// op_registry.c — the table of ops the tape dispatches backward through, one row per entry of op_list.h.
#include "ops_internal.h"

#define DITC_OP_ROW(id, name, file) [DITC_OP_##id] = {#name, ditc_bwd_##name},
const ditc_op_def ditc_op_defs[DITC_OP_COUNT] = {DITC_OPS(DITC_OP_ROW)};
#undef DITC_OP_ROW

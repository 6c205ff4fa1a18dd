// model_params.h — declaring and initialising the denoisers' parameters, shared by the DiT and Large-DiT
// builders (dit_model.c, ldit_model.c).
#ifndef DITC_MODEL_PARAMS_H
#define DITC_MODEL_PARAMS_H

#include "dit_types.h"

typedef enum { DITC_INIT_ZERO, DITC_INIT_ONE, DITC_INIT_XAVIER, DITC_INIT_NORMAL002 } ditc_init_kind;
// Adds parameter fmt (formatted with i: "blocks.%d.attn.qkv.weight") to the model's state_dict, in order.
ditc_tensor *ditc_dit_add_param(ditc_dit *m, int trainable, int ndim, const int64_t *shape, const char *fmt, int i);
// Fills t on the host (scratch: host, ≥ t->numel floats) and uploads it; the RNG stream is keyed by the
// tensor's index in the state_dict, so each tensor's values do not depend on the others.
void ditc_dit_init_tensor(ditc_dit *m, ditc_tensor *t, ditc_init_kind kind, int64_t fan_in, int64_t fan_out,
                          uint64_t seed, float *host);

#endif

// model_params.c — parameter declaration and the reference initialisation of one tensor (model_params.h).
#include "model_params.h"

#include <math.h>
#include <stdio.h>

#include "autograd.h"
#include "rng.h"

ditc_tensor *ditc_dit_add_param(ditc_dit *m, int trainable, int ndim, const int64_t *shape, const char *fmt, int i) {
    char name[DITC_NAME_MAX];
    snprintf(name, sizeof name, fmt, i);
    return ditc_params_add(&m->params, name, ndim, shape, trainable);
}

void ditc_dit_init_tensor(ditc_dit *m, ditc_tensor *t, ditc_init_kind kind, int64_t fan_in, int64_t fan_out,
                          uint64_t seed, float *host) {
    int index = 0;
    while (m->params.t[index] != t) index++;
    size_t n = (size_t)t->numel;
    if (kind == DITC_INIT_ZERO || kind == DITC_INIT_ONE) {
        for (size_t i = 0; i < n; i++) host[i] = kind == DITC_INIT_ONE ? 1.0f : 0.0f;
    } else if (kind == DITC_INIT_XAVIER) {
        float bound = (float)sqrt(6.0 / (double)(fan_in + fan_out));
        ditc_rng_fill_uniform(host, n, seed, DITC_RNG_PARAM_INIT, (uint32_t)index, 0);
        for (size_t i = 0; i < n; i++) host[i] = bound * (2.0f * host[i] - 1.0f);
    } else {
        ditc_rng_fill_normal(host, n, seed, DITC_RNG_PARAM_INIT, (uint32_t)index, 0);
        for (size_t i = 0; i < n; i++) host[i] *= 0.02f;
    }
    ditc_upload(t, host);
}

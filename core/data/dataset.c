// dataset.c — source-independent helpers of the dataset interface (dataset.h): batch assembly, u8 → float.
#include "dataset.h"

#include <stdlib.h>
#include <string.h>

int ditc_dataset_batch(const ditc_dataset *ds, const int64_t *idx, int64_t B, float *x, int32_t *y, ditc_status *st) {
    DITC_CHECK(ds != NULL && ds->get != NULL, "dataset_batch on a NULL dataset");
    DITC_CHECK(B >= 0, "dataset_batch with negative batch %lld", (long long)B);
    if (B == 0) return 0;
    DITC_CHECK(idx != NULL && x != NULL && y != NULL, "dataset_batch with NULL buffers");
    for (int64_t b = 0; b < B; b++)
        DITC_CHECK(idx[b] >= 0 && idx[b] < ds->n, "sample index %lld out of range [0, %lld)", (long long)idx[b],
                   (long long)ds->n);
    const size_t per = (size_t)ds->channels * (size_t)ds->side * (size_t)ds->side;
    ditc_status *errs = ditc_xcalloc((size_t)B, sizeof *errs);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (B > 1)
#endif
    for (int64_t b = 0; b < B; b++) ds->get(ds, idx[b], x + (size_t)b * per, &y[b], &errs[b]);
    int r = 0;
    for (int64_t b = 0; b < B && !r; b++)
        if (errs[b].code) {
            r = errs[b].code;
            if (st) *st = errs[b];
        }
    free(errs);
    return r;
}

int ditc_dataset_get_from_u8(const ditc_dataset *ds, int64_t i, float *dst, int32_t *label, ditc_status *st) {
    size_t per = (size_t)ds->channels * (size_t)ds->side * (size_t)ds->side;
    uint8_t *u = ditc_xmalloc(per);
    int r = ds->get_u8(ds, i, u, label, st);
    for (size_t k = 0; !r && k < per; k++) dst[k] = (float)u[k] / 127.5f - 1.0f;
    free(u);
    return r;
}

ditc_dataset *ditc_dataset_new_u8(int64_t n, int channels, int side, int num_classes,
                                  int (*get_u8)(const ditc_dataset *, int64_t, uint8_t *, int32_t *, ditc_status *),
                                  void (*destroy)(ditc_dataset *), void *ctx) {
    ditc_dataset *ds = ditc_xcalloc(1, sizeof *ds);
    ds->n = n;
    ds->channels = channels;
    ds->side = side;
    ds->num_classes = num_classes;
    ds->get = ditc_dataset_get_from_u8;
    ds->get_u8 = get_u8;
    ds->destroy = destroy;
    ds->ctx = ctx;
    return ds;
}

void ditc_dataset_free(ditc_dataset *ds) {
    if (ds && ds->destroy) ds->destroy(ds);
}

// dataset.c — source-independent helpers of the dataset interface (dataset.h): batch assembly.
#include "dataset.h"

void ditc_dataset_batch(const ditc_dataset *ds, const int64_t *idx, int64_t B, float *x, int32_t *y) {
    DITC_CHECK(ds != NULL && ds->get != NULL, "dataset_batch on a NULL dataset");
    DITC_CHECK(B >= 0, "dataset_batch with negative batch %lld", (long long)B);
    if (B == 0) return;
    DITC_CHECK(idx != NULL && x != NULL && y != NULL, "dataset_batch with NULL buffers");
    for (int64_t b = 0; b < B; b++)
        DITC_CHECK(idx[b] >= 0 && idx[b] < ds->n, "sample index %lld out of range [0, %lld)", (long long)idx[b],
                   (long long)ds->n);
    const size_t per = (size_t)ds->channels * (size_t)ds->side * (size_t)ds->side;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (B > 1)
#endif
    for (int64_t b = 0; b < B; b++) ds->get(ds, idx[b], x + (size_t)b * per, &y[b]);
}

void ditc_dataset_free(ditc_dataset *ds) {
    if (ds && ds->destroy) ds->destroy(ds);
}

// convert.c — `ditc convert` (see convert.h): open through weights_file.h, write every tensor and metadata entry.
#include "convert.h"

#include <inttypes.h>
#include <string.h>

#include "weights_file.h"

int ditc_convert_run(const ditc_convert_args *a, ditc_status *st) {
    ditc_safetensors w;
    int r = ditc_weights_open(&w, a->in, a->select, st);
    if (r) return r;
    ditc_st_writer *wr = ditc_st_writer_new();
    int64_t numel = 0;
    for (int i = 0; i < w.n_meta; i++) ditc_st_writer_meta(wr, w.meta_keys[i], w.meta_vals[i]);
    for (int i = 0; i < w.n_tensors; i++) {
        const ditc_st_tensor *t = &w.tensors[i];
        ditc_st_writer_add(wr, t->name, t->dtype, t->ndim, t->shape, t->data);
        numel += ditc_st_numel(t);
    }
    r = ditc_st_writer_save(wr, a->out, st);
    if (!r)
        printf("%s: %d tensors (%" PRId64 " elements), %d metadata entries -> %s\n", a->in, w.n_tensors, numel,
               w.n_meta, a->out);
    ditc_st_writer_free(wr);
    ditc_st_close(&w);
    return r;
}

// convert.c — `ditc convert` (see convert.h): open through weights_file.h, write every tensor and metadata entry.
#include "convert.h"

#include <inttypes.h>
#include <string.h>

#include "torch_pt.h"
#include "weights_file.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

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
    // OUT.pt/.pth: a torch.save state_dict (the tensors; metadata has no place there)
    if (ends_with(a->out, ".pt") || ends_with(a->out, ".pth")) r = ditc_pt_save(a->out, &w, st);
    else r = ditc_st_writer_save(wr, a->out, st);
    if (!r)
        printf("%s: %d tensors (%" PRId64 " elements), %d metadata entries -> %s\n", a->in, w.n_tensors, numel,
               w.n_meta, a->out);
    ditc_st_writer_free(wr);
    ditc_st_close(&w);
    return r;
}

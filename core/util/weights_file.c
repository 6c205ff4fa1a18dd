// weights_file.c — format dispatch for weights files (see weights_file.h).
#include "weights_file.h"

#include <errno.h>
#include <string.h>

#include "torch_pt.h"

ditc_weights_format ditc_weights_sniff(const unsigned char *h, size_t n) {
    switch (ditc_pt_sniff(h, n)) {
    case DITC_PT_ZIP: return DITC_WF_TORCH_ZIP;
    case DITC_PT_LEGACY:
    case DITC_PT_TAR: return DITC_WF_TORCH_LEGACY;
    default: break;
    }
    if (n >= 2 && h[0] == 0x80 && h[1] >= 2 && h[1] <= 5) return DITC_WF_PICKLE;
    return DITC_WF_SAFETENSORS;
}

int ditc_weights_format_of(const char *path, ditc_weights_format *fmt, ditc_status *s) {
    FILE *f = fopen(path, "rb");
    if (!f) return ditc_fail(s, DITC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char h[512];
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    *fmt = ditc_weights_sniff(h, n);
    return 0;
}

// The tensors "<select>.*" of a safetensors file, renamed without the prefix; the rest dropped.
static int st_select(ditc_safetensors *st, const char *select, ditc_status *s) {
    size_t pl = strlen(select);
    int k = 0;
    for (int i = 0; i < st->n_tensors; i++) {
        ditc_st_tensor *t = &st->tensors[i];
        if (!strncmp(t->name, select, pl) && t->name[pl] == '.' && t->name[pl + 1]) {
            memmove(t->name, t->name + pl + 1, strlen(t->name + pl + 1) + 1);
            st->tensors[k++] = *t;
        } else free(t->name);
    }
    st->n_tensors = k;
    if (k) return 0;
    int r = ditc_fail(s, DITC_ERR_FORMAT, "%s: no tensors named \"%s.*\" to select", st->label, select);
    ditc_st_close(st);
    return r;
}

int ditc_weights_open(ditc_safetensors *st, const char *path, const char *select, ditc_status *s) {
    DITC_CHECK(st != NULL && path != NULL, "ditc_weights_open: bad arguments");
    memset(st, 0, sizeof *st);
    ditc_weights_format fmt;
    int r = ditc_weights_format_of(path, &fmt, s);
    if (r) return r;
    switch (fmt) {
    case DITC_WF_TORCH_ZIP:
    case DITC_WF_TORCH_LEGACY: return ditc_pt_open(st, path, select, s);
    case DITC_WF_PICKLE:
        return ditc_fail(s, DITC_ERR_UNSUPPORTED,
                         "%s: a bare Python pickle, not a torch.save file or a safetensors file: save the weights "
                         "with torch.save(obj, f) or as safetensors",
                         path);
    default: break;
    }
    r = ditc_st_open(st, path, s);
    if (!r && select && strcmp(select, "all")) r = st_select(st, select, s);
    return r;
}

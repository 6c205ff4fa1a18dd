// weights_file.c — format dispatch for weights files (see weights_file.h).
#include "weights_file.h"

#include <errno.h>
#include <string.h>

#include "torch_pt.h"

// torch's legacy serialization starts with pickle PROTO 2, then LONG1 of its magic number 0x1950a86a20f9469cfc6c.
static const unsigned char legacy_magic[14] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                               0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

ditc_weights_format ditc_weights_sniff(const unsigned char *h, size_t n) {
    if (n >= 4 && h[0] == 'P' && h[1] == 'K' && ((h[2] == 3 && h[3] == 4) || (h[2] == 5 && h[3] == 6)))
        return DITC_WF_TORCH_ZIP;
    if (n >= sizeof legacy_magic && !memcmp(h, legacy_magic, sizeof legacy_magic)) return DITC_WF_TORCH_LEGACY;
    if (n >= 262 && !memcmp(h + 257, "ustar", 5)) return DITC_WF_TORCH_LEGACY; // torch <= 0.3's tar format
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
    case DITC_WF_TORCH_ZIP: return ditc_pt_open(st, path, select, s);
    case DITC_WF_TORCH_LEGACY:
        return ditc_fail(s, DITC_ERR_UNSUPPORTED,
                         "%s: a legacy (pre-1.6, non-zip) torch.save file is not supported: re-save it with PyTorch >= "
                         "1.6 as `torch.save(torch.load(f), f)` (the default zipfile serialization)",
                         path);
    case DITC_WF_PICKLE:
        return ditc_fail(s, DITC_ERR_UNSUPPORTED,
                         "%s: a bare Python pickle, not a torch.save zip archive or a safetensors file: save the "
                         "weights with torch.save(obj, f) (PyTorch >= 1.6) or as safetensors",
                         path);
    default: break;
    }
    r = ditc_st_open(st, path, s);
    if (!r && select && strcmp(select, "all")) r = st_select(st, select, s);
    return r;
}

// vae_load.c — loading an AutoencoderKL: resolve --vae PATH, read config.json, list the tensors the config
// implies (with the older diffusers attention names as aliases), validate every tensor of the file (missing,
// unexpected, shape, dtype: one message naming the file and the tensor), then convert them to F32 into one
// backend buffer. The file is memory-mapped and each tensor's pages are dropped once converted, so loading
// peaks at about the F32 weights, not weights + file.
#define _DEFAULT_SOURCE // madvise
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "safetensors.h"
#include "vae.h"
#include "vae_net.h"

typedef struct {
    char name[DITC_NAME_MAX], alt[DITC_NAME_MAX]; // alt: the older diffusers name ("" if none)
    int ndim;
    int64_t shape[4];
    int linear; // attention projection: (C, C) or, as a 1×1 conv, (C, C, 1, 1)
    ditc_tensor **slot;
} vae_entry;

typedef struct {
    vae_entry *e;
    int n, cap;
} entry_list;

static void add(entry_list *l, const char *name, const char *alt, int ndim, const int64_t *shape, int linear,
                ditc_tensor **slot) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->e = ditc_xrealloc(l->e, (size_t)l->cap * sizeof *l->e);
    }
    vae_entry *e = &l->e[l->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    if (alt) snprintf(e->alt, sizeof e->alt, "%s", alt);
    e->ndim = ndim;
    memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
    e->linear = linear;
    e->slot = slot;
}

// dst = a + b (names are short: internal invariant)
static void cat(char *dst, size_t cap, const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    DITC_CHECK(na + nb < cap, "tensor name too long: %s%s", a, b);
    memcpy(dst, a, na);
    memcpy(dst + na, b, nb + 1);
}

// prefix.weight (O, I, k, k) + prefix.bias (O)
static void add_conv(entry_list *l, const char *prefix, int o, int i, int k, vae_wb *wb) {
    char n[DITC_NAME_MAX];
    int64_t ws[4] = {o, i, k, k}, bs[1] = {o};
    cat(n, sizeof n, prefix, ".weight");
    add(l, n, NULL, 4, ws, 0, &wb->w);
    cat(n, sizeof n, prefix, ".bias");
    add(l, n, NULL, 1, bs, 0, &wb->b);
}

// prefix.weight, prefix.bias (C)
static void add_norm(entry_list *l, const char *prefix, int ch, vae_wb *wb) {
    char n[DITC_NAME_MAX];
    int64_t s[1] = {ch};
    cat(n, sizeof n, prefix, ".weight");
    add(l, n, NULL, 1, s, 0, &wb->w);
    cat(n, sizeof n, prefix, ".bias");
    add(l, n, NULL, 1, s, 0, &wb->b);
}

static void add_resnet(entry_list *l, const char *prefix, int in, int out, vae_resnet *r) {
    char n[DITC_NAME_MAX];
    r->in = in;
    r->out = out;
    cat(n, sizeof n, prefix, ".norm1"), add_norm(l, n, in, &r->norm1);
    cat(n, sizeof n, prefix, ".conv1"), add_conv(l, n, out, in, 3, &r->conv1);
    cat(n, sizeof n, prefix, ".norm2"), add_norm(l, n, out, &r->norm2);
    cat(n, sizeof n, prefix, ".conv2"), add_conv(l, n, out, out, 3, &r->conv2);
    if (in != out) cat(n, sizeof n, prefix, ".conv_shortcut"), add_conv(l, n, out, in, 1, &r->shortcut);
}

static void add_mid(entry_list *l, const char *prefix, int ch, int attention, vae_mid *m) {
    char n[DITC_NAME_MAX], a[DITC_NAME_MAX];
    cat(n, sizeof n, prefix, ".resnets.0"), add_resnet(l, n, ch, ch, &m->res[0]);
    cat(n, sizeof n, prefix, ".resnets.1"), add_resnet(l, n, ch, ch, &m->res[1]);
    if (!attention) return;
    cat(n, sizeof n, prefix, ".attentions.0.group_norm"), add_norm(l, n, ch, &m->attn.norm);
    static const char *cur[4] = {"to_q", "to_k", "to_v", "to_out.0"}, *old[4] = {"query", "key", "value", "proj_attn"};
    vae_wb *wb[4] = {&m->attn.q, &m->attn.k, &m->attn.v, &m->attn.proj};
    int64_t ws[2] = {ch, ch}, bs[1] = {ch};
    for (int i = 0; i < 4; i++) {
        snprintf(n, sizeof n, "%s.attentions.0.%s.weight", prefix, cur[i]);
        snprintf(a, sizeof a, "%s.attentions.0.%s.weight", prefix, old[i]);
        add(l, n, a, 2, ws, 1, &wb[i]->w);
        snprintf(n, sizeof n, "%s.attentions.0.%s.bias", prefix, cur[i]);
        snprintf(a, sizeof a, "%s.attentions.0.%s.bias", prefix, old[i]);
        add(l, n, a, 1, bs, 0, &wb[i]->b);
    }
}

// Every tensor the config implies, in diffusers' state_dict order.
static void declare(ditc_vae *v, entry_list *l) {
    const ditc_vae_config *c = &v->cfg;
    int L = c->layers_per_block, nl = c->levels, top = c->block_out[nl - 1];
    char n[DITC_NAME_MAX];
    v->enc_res = ditc_xcalloc((size_t)(nl * L), sizeof *v->enc_res);
    v->dec_res = ditc_xcalloc((size_t)(nl * (L + 1)), sizeof *v->dec_res);
    v->enc_down = ditc_xcalloc((size_t)nl, sizeof *v->enc_down);
    v->dec_up = ditc_xcalloc((size_t)nl, sizeof *v->dec_up);
    add_conv(l, "encoder.conv_in", c->block_out[0], c->in_channels, 3, &v->enc_conv_in);
    for (int i = 0; i < nl; i++) {
        int out = c->block_out[i], in = i ? c->block_out[i - 1] : c->block_out[0];
        for (int j = 0; j < L; j++) {
            snprintf(n, sizeof n, "encoder.down_blocks.%d.resnets.%d", i, j);
            add_resnet(l, n, j ? out : in, out, &v->enc_res[i * L + j]);
        }
        if (i < nl - 1) {
            snprintf(n, sizeof n, "encoder.down_blocks.%d.downsamplers.0.conv", i);
            add_conv(l, n, out, out, 3, &v->enc_down[i]);
        }
    }
    add_mid(l, "encoder.mid_block", top, c->mid_attention, &v->enc_mid);
    add_norm(l, "encoder.conv_norm_out", top, &v->enc_norm_out);
    add_conv(l, "encoder.conv_out", 2 * c->latent_channels, top, 3, &v->enc_conv_out);
    add_conv(l, "decoder.conv_in", top, c->latent_channels, 3, &v->dec_conv_in);
    for (int i = 0; i < nl; i++) {
        int prev = c->block_out[nl - 1 - (i ? i - 1 : 0)], out = c->block_out[nl - 1 - i];
        for (int j = 0; j < L + 1; j++) {
            snprintf(n, sizeof n, "decoder.up_blocks.%d.resnets.%d", i, j);
            add_resnet(l, n, j ? out : prev, out, &v->dec_res[i * (L + 1) + j]);
        }
        if (i < nl - 1) {
            snprintf(n, sizeof n, "decoder.up_blocks.%d.upsamplers.0.conv", i);
            add_conv(l, n, out, out, 3, &v->dec_up[i]);
        }
    }
    add_mid(l, "decoder.mid_block", top, c->mid_attention, &v->dec_mid);
    add_norm(l, "decoder.conv_norm_out", c->block_out[0], &v->dec_norm_out);
    add_conv(l, "decoder.conv_out", c->out_channels, c->block_out[0], 3, &v->dec_conv_out);
    if (c->use_quant_conv) add_conv(l, "quant_conv", 2 * c->latent_channels, 2 * c->latent_channels, 1, &v->quant_conv);
    if (c->use_post_quant_conv)
        add_conv(l, "post_quant_conv", c->latent_channels, c->latent_channels, 1, &v->post_quant_conv);
}

static void shape_str(int ndim, const int64_t *s, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)s[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

// Matches every entry to a tensor of the file (checks dtype and shape) and rejects tensors nobody claims.
// found[i] = the file tensor of entry i; *old_names = 1 if an older-diffusers alias was used.
static int match(const ditc_safetensors *st, const entry_list *l, const ditc_st_tensor **found, int *old_names,
                 ditc_status *s) {
    char *claimed = ditc_xcalloc((size_t)st->n_tensors + 1, 1), a[96], b[96];
    int rc = 0;
    for (int i = 0; i < l->n && !rc; i++) {
        const vae_entry *e = &l->e[i];
        const ditc_st_tensor *t = ditc_st_find(st, e->name);
        if (!t && e->alt[0] && (t = ditc_st_find(st, e->alt))) *old_names = 1;
        if (!t) {
            rc = e->alt[0] ? ditc_fail(s, DITC_ERR_FORMAT, "VAE file %s: missing tensor \"%s\" (or \"%s\")", st->label,
                                       e->name, e->alt)
                           : ditc_fail(s, DITC_ERR_FORMAT, "VAE file %s: missing tensor \"%s\"", st->label, e->name);
            break;
        }
        if (t->dtype != DITC_F32 && t->dtype != DITC_F16 && t->dtype != DITC_BF16) {
            rc = ditc_fail(s, DITC_ERR_FORMAT, "VAE file %s: tensor \"%s\" has dtype %s (expected F32, F16 or BF16)",
                           st->label, t->name, ditc_dtype_name(t->dtype));
            break;
        }
        int ok = t->ndim == e->ndim;
        for (int d = 0; ok && d < e->ndim; d++) ok = t->shape[d] == e->shape[d];
        if (!ok && e->linear && t->ndim == 4 && t->shape[0] == e->shape[0] && t->shape[1] == e->shape[1] &&
            t->shape[2] == 1 && t->shape[3] == 1)
            ok = 1;
        if (!ok) {
            shape_str(t->ndim, t->shape, a, sizeof a);
            shape_str(e->ndim, e->shape, b, sizeof b);
            rc = ditc_fail(s, DITC_ERR_FORMAT, "VAE file %s: tensor \"%s\" has shape %s, expected %s for this config",
                           st->label, t->name, a, b);
            break;
        }
        claimed[t - st->tensors] = 1;
        found[i] = t;
    }
    for (int i = 0; i < st->n_tensors && !rc; i++)
        if (!claimed[i])
            rc = ditc_fail(s, DITC_ERR_FORMAT,
                           "VAE file %s: unexpected tensor \"%s\" (not part of an AutoencoderKL with this config)",
                           st->label, st->tensors[i].name);
    free(claimed);
    return rc;
}

// Reads the config (if any) into v->cfg: dir/config.json, or config.json beside the weights file.
static int load_config(ditc_vae *v, const char *cfg_path, const char *flag, ditc_status *st) {
    ditc_vae_config_default(&v->cfg);
    FILE *f = fopen(cfg_path, "rb");
    if (!f) {
        if (errno == ENOENT) return 0;
        return ditc_fail(st, DITC_ERR_IO, "%s: VAE config %s: %s", flag, cfg_path, strerror(errno));
    }
    char *buf;
    size_t len;
    int rd = ditc_read_stream(f, 16u << 20, &buf, &len);
    fclose(f);
    int rc = rd ? ditc_fail(st, DITC_ERR_IO, "%s: VAE config %s: %s", flag, cfg_path,
                            rd < 0 ? "read error" : "larger than 16 MiB")
                : ditc_vae_config_parse(&v->cfg, buf, len, cfg_path, st);
    free(buf);
    return rc;
}

static int resolve(const char *path, const char *flag, char **weights, char **config, ditc_status *st) {
    struct stat sb;
    if (stat(path, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "%s %s: %s", flag, path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        *weights = ditc_path_join(path, DITC_VAE_FILE);
        *config = ditc_path_join(path, "config.json");
        if (stat(*weights, &sb) != 0)
            return ditc_fail(st, DITC_ERR_IO, "%s %s: no %s in the directory (%s)", flag, path, DITC_VAE_FILE,
                             strerror(errno));
        return 0;
    }
    *weights = ditc_xstrdup(path);
    const char *slash = strrchr(path, '/');
    if (!slash) *config = ditc_xstrdup("config.json");
    else {
        char *dir = ditc_xstrdup(path);
        dir[slash - path] = '\0';
        *config = ditc_path_join(slash == path ? "/" : dir, "config.json");
        free(dir);
    }
    return 0;
}

// Maps the file read-only; *map/*size for munmap.
static int map_file(const char *path, const char *flag, void **map, size_t *size, ditc_status *st) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return ditc_fail(st, DITC_ERR_IO, "%s: %s: %s", flag, path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size <= 0) {
        close(fd);
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: %s: empty or unreadable file", flag, path);
    }
    *size = (size_t)sb.st_size;
    *map = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (*map == MAP_FAILED) {
        *map = NULL;
        return ditc_fail(st, DITC_ERR_IO, "%s: %s: mmap failed: %s", flag, path, strerror(errno));
    }
    return 0;
}

// Copies the validated tensors into one F32 backend buffer (16-float aligned views).
static int convert(ditc_vae *v, const ditc_safetensors *st, const entry_list *l, const ditc_st_tensor **found,
                   ditc_status *s) {
    ditc_backend *be = v->be;
    int64_t total = 0, *off = ditc_xmalloc((size_t)l->n * sizeof *off);
    for (int i = 0; i < l->n; i++) {
        off[i] = total;
        total += (ditc_st_numel(found[i]) + 15) / 16 * 16;
    }
    v->weights = be->alloc(be, (size_t)total * sizeof(float));
    DITC_ALLOC_CHECK(v->weights, (size_t)total * sizeof(float));
    v->tensors = ditc_xcalloc((size_t)l->n, sizeof *v->tensors);
    v->n_tensors = l->n;
    long page = sysconf(_SC_PAGESIZE);
    float *stage = NULL;
    int rc = 0;
    for (int i = 0; i < l->n && !rc; i++) {
        const ditc_st_tensor *t = found[i];
        int64_t n = ditc_st_numel(t);
        ditc_tensor *h = &v->tensors[i];
        ditc_tensor_set_shape(h, DITC_F32, t->ndim, t->shape);
        snprintf(h->name, sizeof h->name, "%s", l->e[i].name);
        h->data = (float *)v->weights + off[i];
        h->backend = be;
        *l->e[i].slot = h;
        v->n_params += n;
        if (be->host_memory) rc = ditc_st_read_f32(st, t, h->data, s);
        else {
            stage = ditc_xrealloc(stage, (size_t)n * sizeof(float));
            rc = ditc_st_read_f32(st, t, stage, s);
            if (!rc) be->copy_h2d(be, h->data, stage, (size_t)n * sizeof(float));
        }
        // drop the file pages of this tensor (whole pages inside it) from the resident set
        uintptr_t lo = ((uintptr_t)t->data + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
        uintptr_t hi = ((uintptr_t)t->data + (uintptr_t)(t->end - t->begin)) / (uintptr_t)page * (uintptr_t)page;
        if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
    free(stage);
    free(off);
    return rc;
}

int ditc_vae_load(ditc_vae **out, ditc_backend *be, const char *path, const char *flag, ditc_status *st) {
    *out = NULL;
    // The VAE's kernels are optional backend entries (core/device/backend_open.c); so far only the CPU has them.
    if (!be->host_memory || !be->conv2d_fwd || !be->group_norm_fwd || !be->upsample2x_fwd || !be->spatial_attn_fwd)
        return ditc_fail(st, DITC_ERR_UNSUPPORTED,
                         "%s: the %s backend has no VAE kernels yet: encode once with `ditc extract --vae` (CPU) "
                         "and train on the latent shards",
                         flag, be->name);
    char *wpath = NULL, *cpath = NULL;
    ditc_vae *v = ditc_xcalloc(1, sizeof *v);
    v->be = be;
    entry_list l = {0};
    ditc_safetensors sf = {0};
    void *map = NULL;
    size_t size = 0;
    const ditc_st_tensor **found = NULL;
    int old_names = 0;
    int rc = resolve(path, flag, &wpath, &cpath, st);
    if (!rc) rc = load_config(v, cpath, flag, st);
    if (!rc) rc = map_file(wpath, flag, &map, &size, st);
    if (!rc) rc = ditc_st_parse(&sf, map, size, wpath, st);
    if (!rc) {
        declare(v, &l);
        found = ditc_xcalloc((size_t)l.n, sizeof *found);
        rc = match(&sf, &l, found, &old_names, st);
    }
    if (!rc) rc = convert(v, &sf, &l, found, st);
    if (!rc) {
        const ditc_vae_config *c = &v->cfg;
        snprintf(v->desc, sizeof v->desc,
                 "VAE %s: AutoencoderKL %s names, %lld parameters in %d tensors (%s storage), block_out [%d..%d] x%d "
                 "levels, latent %d ch, scale %g",
                 wpath, old_names ? "older diffusers (query/key/value/proj_attn)" : "diffusers", (long long)v->n_params,
                 l.n, ditc_dtype_name(found[0]->dtype), c->block_out[0], c->block_out[c->levels - 1], c->levels,
                 c->latent_channels, c->scaling_factor);
    }
    ditc_st_close(&sf);
    if (map) munmap(map, size);
    free(found);
    free(l.e);
    free(wpath);
    free(cpath);
    if (rc) {
        ditc_vae_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

void ditc_vae_free(ditc_vae *v) {
    if (!v) return;
    if (v->weights) v->be->free(v->be, v->weights);
    free(v->tensors);
    free(v->enc_res);
    free(v->dec_res);
    free(v->enc_down);
    free(v->dec_up);
    free(v);
}

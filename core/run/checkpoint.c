// checkpoint.c — safetensors weights/optimizer files and atomic checkpoint directories.
#include "checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"

static float *download(const ditc_params *p, const float *flat) {
    size_t bytes = (size_t)p->numel * sizeof(float);
    float *h = ditc_xmalloc(bytes);
    p->be->copy_d2h(p->be, h, flat, bytes);
    return h;
}

void ditc_params_to_writer(const ditc_params *p, const float *host, const char *prefix, ditc_st_writer *w) {
    for (int i = 0; i < p->n; i++) {
        char name[2 * DITC_NAME_MAX];
        snprintf(name, sizeof name, "%s%s", prefix, p->t[i]->name);
        ditc_st_writer_add(w, name, DITC_F32, p->t[i]->ndim, p->t[i]->shape, host + p->offset[i]);
    }
}

int ditc_params_from_file(const ditc_params *p, float *flat, const ditc_safetensors *st, const char *prefix, int strict,
                          ditc_status *s) {
    size_t plen = strlen(prefix);
    if (strict) // tensors in the file that the model does not have
        for (int i = 0; i < st->n_tensors; i++) {
            const char *nm = st->tensors[i].name;
            if (strncmp(nm, prefix, plen)) continue;
            if (!ditc_params_find(p, nm + plen))
                return ditc_fail(s, DITC_ERR_FORMAT, "%s: unexpected tensor \"%s\" (not a parameter of this model)",
                                 st->label, nm);
        }
    float *host = ditc_xcalloc((size_t)p->numel, sizeof(float));
    for (int i = 0; i < p->n; i++) {
        const ditc_tensor *t = p->t[i];
        char name[2 * DITC_NAME_MAX];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        const ditc_st_tensor *f = ditc_st_find(st, name);
        int same = f && f->ndim == t->ndim;
        for (int d = 0; same && d < t->ndim; d++) same = f->shape[d] == t->shape[d];
        if (!f || !same) {
            char want[64];
            ditc_shape_str(t, want, sizeof want);
            free(host);
            return ditc_fail(s, DITC_ERR_FORMAT, "%s: tensor \"%s\" %s (model expects shape %s)", st->label, name,
                             f ? "has a different shape" : "is missing", want);
        }
        if (ditc_st_read_f32(st, f, host + p->offset[i], s)) {
            free(host);
            return s ? s->code : 1;
        }
    }
    p->be->copy_h2d(p->be, flat, host, (size_t)p->numel * sizeof(float));
    free(host);
    return 0;
}

static void config_meta(const ditc_dit_config *c, ditc_st_writer *w) {
    char buf[32];
#define META(key, val) (snprintf(buf, sizeof buf, "%d", (val)), ditc_st_writer_meta(w, key, buf))
    ditc_st_writer_meta(w, "format", "ditc");
    ditc_st_writer_meta(w, "model", c->name);
    ditc_st_writer_meta(w, "arch", c->arch == DITC_ARCH_LDIT ? "LDiT" : "DiT");
    if (c->arch == DITC_ARCH_LDIT) ditc_st_writer_meta(w, "qk_norm", c->qk_norm ? "true" : "false");
    META("depth", c->depth);
    META("hidden_size", c->hidden);
    META("num_heads", c->heads);
    META("patch_size", c->patch);
    META("in_channels", c->in_channels);
    META("input_size", c->input_size);
    META("num_classes", c->num_classes);
    ditc_st_writer_meta(w, "learn_sigma", "true");
#undef META
}

static int save_flat(const char *path, const ditc_dit *m, const float *flat, ditc_status *st) {
    float *host = download(&m->params, flat);
    ditc_st_writer *w = ditc_st_writer_new();
    config_meta(&m->cfg, w);
    ditc_params_to_writer(&m->params, host, "", w);
    int r = ditc_st_writer_save(w, path, st);
    ditc_st_writer_free(w);
    free(host);
    return r;
}

int ditc_save_weights(const char *path, const ditc_dit *m, const float *flat_values, ditc_status *st) {
    return save_flat(path, m, flat_values, st);
}

static const ditc_st_tensor *need(const ditc_safetensors *st, const char *name, int ndim, ditc_status *s) {
    const ditc_st_tensor *t = ditc_st_find(st, name);
    if (!t) ditc_fail(s, DITC_ERR_FORMAT, "%s: not DiT weights: tensor \"%s\" is missing", st->label, name);
    else if (t->ndim != ndim) {
        ditc_fail(s, DITC_ERR_FORMAT, "%s: tensor \"%s\" must be %d-D", st->label, name, ndim);
        t = NULL;
    }
    return t;
}

static int meta_int(const ditc_safetensors *st, const char *key, int dflt) {
    const char *v = ditc_st_meta(st, key);
    return v ? atoi(v) : dflt;
}

static int count_blocks(const ditc_safetensors *st, const char *fmt) {
    int n = 0;
    while (1) {
        char name[64];
        snprintf(name, sizeof name, fmt, n);
        if (!ditc_st_find(st, name)) return n;
        n++;
    }
}

// Large-DiT (Large-DiT-ImageNet names): x_embedder is a Linear (D, C·p²) and there is no pos_embed, so
// C, p and the input side come from ditc's metadata, else the reference's latent defaults (C 4, side 32).
static int ldit_config_from_weights(ditc_dit_config *cfg, const ditc_safetensors *st, const ditc_st_tensor *xe,
                                    int heads, ditc_status *s) {
    const ditc_st_tensor *yt = need(st, "y_embedder.embedding_table.weight", 2, s);
    const ditc_st_tensor *fl = yt ? need(st, "final_layer.linear.weight", 2, s) : NULL;
    if (!fl) return s ? s->code : 1;
    cfg->arch = DITC_ARCH_LDIT;
    cfg->hidden = (int)xe->shape[0];
    // channels: the metadata's, else the first of 4 (latents), 3 (RGB), 1 (gray) that makes C·p² = P
    int64_t P = xe->shape[1], p = 0, C = 0;
    int64_t tries[4] = {meta_int(st, "in_channels", 4), 4, 3, 1};
    for (int i = 0; i < 4 && !p; i++)
        if ((p = ditc_ldit_patch_side(P, tries[i]))) C = tries[i];
    if (!p)
        return ditc_fail(s, DITC_ERR_FORMAT, "%s: x_embedder.weight has %lld inputs, not C·p² for C = 4, 3 or 1",
                         st->label, (long long)P);
    cfg->in_channels = (int)C;
    cfg->patch = (int)p;
    cfg->input_size = meta_int(st, "input_size", 32);
    cfg->num_classes = (int)yt->shape[0] - 1;
    cfg->class_dropout = 0.1f;
    cfg->qk_norm = ditc_st_find(st, "layers.0.attention.q_norm.weight") != NULL;
    cfg->depth = count_blocks(st, "layers.%d.attention.wq.weight");
    if (fl->shape[0] != 2 * P)
        return ditc_fail(s, DITC_ERR_FORMAT,
                         "%s: final_layer.linear.weight has %lld outputs; ditc needs learned sigma (2·C·p² = %lld)",
                         st->label, (long long)fl->shape[0], (long long)(2 * P));
    cfg->heads = heads > 0 ? heads : meta_int(st, "num_heads", 32); // every released Large-DiT has 32 heads
    if (cfg->heads < 1 || cfg->hidden % cfg->heads)
        return ditc_fail(s, DITC_ERR_ARG, "%s: hidden size %d: pass --num-heads (32 does not divide it)", st->label,
                         cfg->hidden);
    const char *mm = ditc_st_meta(st, "model");
    snprintf(cfg->name, sizeof cfg->name, "%s", mm ? mm : "custom");
    if (cfg->depth == 0) return ditc_fail(s, DITC_ERR_FORMAT, "%s: no layers.N tensors", st->label);
    return ditc_dit_config_validate(cfg, s);
}

int ditc_dit_config_from_weights(ditc_dit_config *cfg, const ditc_safetensors *st, int heads, ditc_status *s) {
    memset(cfg, 0, sizeof *cfg);
    const ditc_st_tensor *xe = ditc_st_find(st, "x_embedder.weight");
    if (xe && xe->ndim == 2 && !ditc_st_find(st, "x_embedder.proj.weight"))
        return ldit_config_from_weights(cfg, st, xe, heads, s);
    const ditc_st_tensor *px = need(st, "x_embedder.proj.weight", 4, s), *pe = px ? need(st, "pos_embed", 3, s) : NULL;
    const ditc_st_tensor *yt = pe ? need(st, "y_embedder.embedding_table.weight", 2, s) : NULL;
    const ditc_st_tensor *fl = yt ? need(st, "final_layer.linear.weight", 2, s) : NULL;
    if (!fl) return s ? s->code : 1;
    cfg->hidden = (int)px->shape[0];
    cfg->in_channels = (int)px->shape[1];
    cfg->patch = (int)px->shape[2];
    cfg->num_classes = (int)yt->shape[0] - 1;
    cfg->class_dropout = 0.1f;
    int64_t T = pe->shape[1], g = (int64_t)llround(sqrt((double)T));
    if (g * g != T || px->shape[2] != px->shape[3])
        return ditc_fail(s, DITC_ERR_FORMAT, "%s: pos_embed has %lld tokens, not a square grid", st->label,
                         (long long)T);
    cfg->input_size = (int)(g * cfg->patch);
    cfg->depth = count_blocks(st, "blocks.%d.attn.qkv.weight");
    if (fl->shape[0] != 2LL * cfg->in_channels * cfg->patch * cfg->patch)
        return ditc_fail(s, DITC_ERR_FORMAT,
                         "%s: final_layer.linear.weight has %lld outputs; ditc needs learned sigma (2·C·p² = %d)",
                         st->label, (long long)fl->shape[0], 2 * cfg->in_channels * cfg->patch * cfg->patch);
    // the reference's heads by width: D/64 (S 6, B 12, L 16) except XL (1152: 16 heads of 72), so that released
    // state_dicts without metadata (DiT-XL-2-256x256.pt) need no --num-heads
    cfg->heads = heads > 0 ? heads : meta_int(st, "num_heads", cfg->hidden == 1152 ? 16 : cfg->hidden / 64);
    if (cfg->heads < 1 || cfg->hidden % cfg->heads)
        return ditc_fail(s, DITC_ERR_ARG, "%s: hidden size %d: pass --num-heads (the default D/64 does not divide it)",
                         st->label, cfg->hidden);
    const char *mm = ditc_st_meta(st, "model");
    snprintf(cfg->name, sizeof cfg->name, "%s", mm ? mm : "custom");
    if (cfg->depth == 0) return ditc_fail(s, DITC_ERR_FORMAT, "%s: no blocks.N tensors", st->label);
    return ditc_dit_config_validate(cfg, s);
}

// ---- training checkpoints ----------------------------------------------------------------------
static void path_join(char *out, size_t n, const char *dir, const char *file) { snprintf(out, n, "%s/%s", dir, file); }

// The optimizer of a training state and the prefix of its second buffer in optimizer.safetensors.
static const char *opt_name(const ditc_ckpt_buffers *b) { return b->optimizer ? b->optimizer : "adamw"; }
static const char *second_prefix(const char *opt) { return strcmp(opt, "sophiag") ? "exp_avg_sq." : "hessian."; }

int ditc_checkpoint_write(const char *dir, const ditc_dit *m, const ditc_ckpt_buffers *o, const ditc_kv *state,
                          ditc_status *st) {
    char tmp[4096], p[4096 + 64]; // + room for "/file"
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dir, (long)getpid());
    ditc_checkpoint_remove_files(tmp);
    if (mkdir(tmp, 0755)) return ditc_fail(st, DITC_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    int r;
    path_join(p, sizeof p, tmp, "model.safetensors");
    r = save_flat(p, m, o->params, st);
    if (!r && o->ema) {
        path_join(p, sizeof p, tmp, "ema.safetensors");
        r = save_flat(p, m, o->ema, st);
    }
    if (!r) {
        float *hm = download(&m->params, o->m), *hv = download(&m->params, o->v);
        ditc_st_writer *w = ditc_st_writer_new();
        char step[32];
        snprintf(step, sizeof step, "%lld", (long long)o->opt_step);
        ditc_st_writer_meta(w, "step", step);
        ditc_st_writer_meta(w, "optimizer", opt_name(o));
        ditc_params_to_writer(&m->params, hm, "exp_avg.", w);
        ditc_params_to_writer(&m->params, hv, second_prefix(opt_name(o)), w);
        path_join(p, sizeof p, tmp, "optimizer.safetensors");
        r = ditc_st_writer_save(w, p, st);
        ditc_st_writer_free(w);
        free(hm);
        free(hv);
    }
    if (!r) {
        path_join(p, sizeof p, tmp, "state.json");
        r = ditc_kv_save(state, p, st);
    }
    if (!r) {
        ditc_fsync_dir(tmp);
        // a checkpoint of the same step (from a run resumed before it) is moved aside, then replaced
        char old[4096 + 32];
        snprintf(old, sizeof old, "%s.retired.%ld", dir, (long)getpid());
        int had_old = rename(dir, old) == 0;
        if (rename(tmp, dir)) {
            r = ditc_fail(st, DITC_ERR_IO, "%s: cannot rename into place: %s", dir, strerror(errno));
            if (had_old && rename(old, dir) == 0) had_old = 0;
        } else {
            char parent[4096];
            snprintf(parent, sizeof parent, "%s/..", dir);
            ditc_fsync_dir(parent);
        }
        if (had_old) ditc_checkpoint_remove_files(old);
    }
    if (r) ditc_checkpoint_remove_files(tmp);
    return r;
}

static int load_into(const char *dir, const char *file, const ditc_params *p, float *flat, const char *prefix,
                     ditc_safetensors *keep, ditc_status *st) {
    char path[4096];
    path_join(path, sizeof path, dir, file);
    ditc_safetensors s;
    int r = ditc_st_open(&s, path, st);
    if (!r) r = ditc_params_from_file(p, flat, &s, prefix, 1, st);
    if (keep && !r) *keep = s;
    else ditc_st_close(&s);
    return r;
}

int ditc_checkpoint_read(const char *dir, const ditc_dit *m, ditc_ckpt_buffers *o, ditc_kv *state, ditc_status *st) {
    char path[4096];
    path_join(path, sizeof path, dir, "state.json");
    if (ditc_kv_load(state, path, st)) return st->code;
    ditc_safetensors opt;
    int r = load_into(dir, "model.safetensors", &m->params, o->params, "", NULL, st);
    if (!r && o->ema) r = load_into(dir, "ema.safetensors", &m->params, o->ema, "", NULL, st);
    if (!r) {
        path_join(path, sizeof path, dir, "optimizer.safetensors");
        r = ditc_st_open(&opt, path, st);
        const char *had = r ? NULL : ditc_st_meta(&opt, "optimizer");
        if (!had) had = "adamw"; // checkpoints from before SophiaG
        if (!r && strcmp(had, opt_name(o)))
            r = ditc_fail(st, DITC_ERR_ARG,
                          "%s: the checkpoint's optimizer state is %s, but this run uses --optimizer %s "
                          "(resume with --optimizer %s)",
                          path, had, opt_name(o), had);
        if (!r) r = ditc_params_from_file(&m->params, o->m, &opt, "exp_avg.", 0, st);
        if (!r) r = ditc_params_from_file(&m->params, o->v, &opt, second_prefix(had), 0, st);
        const char *step = r ? NULL : ditc_st_meta(&opt, "step");
        if (!r && !step) r = ditc_fail(st, DITC_ERR_FORMAT, "%s: no \"step\" in __metadata__", path);
        if (!r) o->opt_step = atoll(step);
        ditc_st_close(&opt);
    }
    if (r) ditc_kv_free(state);
    return r;
}

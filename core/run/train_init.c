// train_init.c — a run that starts from weights it did not train: --init-from (pretrained weights, a fresh
// optimizer at step 0) and --resume FILE.pt (a reference train.py checkpoint: model, EMA, AdamW moments and step).
// Both happen after the model and optimizer exist (initialised from the seed) and before the loader opens.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train_internal.h"
#include "weights_file.h"

// 1 if name starts with one of the comma-separated prefixes of list (NULL: none).
static int skipped(const char *list, const char *name) {
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && !strncmp(name, p, n)) return 1;
        p = e ? e + 1 : p + n;
    }
    return 0;
}

static void shape_text(const int64_t *shape, int ndim, char *out, size_t n) {
    size_t o = (size_t)snprintf(out, n, "[");
    for (int d = 0; d < ndim && o < n; d++)
        o += (size_t)snprintf(out + o, n - o, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (o < n) snprintf(out + o, n - o, "]");
}

// What the file's weights are, for a message: "depth 2, hidden 64, patch 4, 4 channels, side 16, 10 classes".
static void describe_file(const ditc_safetensors *f, char *out, size_t n) {
    ditc_dit_config c;
    ditc_status quiet = {0};
    if (ditc_dit_config_from_weights(&c, f, 0, &quiet)) snprintf(out, n, "not a DiT this reader recognises");
    else
        snprintf(out, n, "depth %d, hidden size %d, patch %d, %d channels, input side %d, %d classes", c.depth,
                 c.hidden, c.patch, c.in_channels, c.input_size, c.num_classes);
}

// The tensors of f into host (p's flat layout), by name, except those skipped (they keep host's values). Every
// other parameter must be there with its shape, and f may hold nothing else: one message naming the tensor.
static int load_named(const ditc_params *p, float *host, const ditc_safetensors *f, const char *skip, const char *flag,
                      ditc_status *st) {
    char about[160], want[64], got[64];
    for (int i = 0; i < f->n_tensors; i++)
        if (!skipped(skip, f->tensors[i].name) && !ditc_params_find(p, f->tensors[i].name)) {
            describe_file(f, about, sizeof about);
            return ditc_fail(st, DITC_ERR_FORMAT,
                             "%s %s: tensor \"%s\" is not a parameter of this model (the file: %s); pass flags "
                             "that fit (--model, --depth, ...) or --init-skip with its prefix",
                             flag, f->label, f->tensors[i].name, about);
        }
    for (int i = 0; i < p->n; i++) {
        const ditc_tensor *t = p->t[i];
        if (skipped(skip, t->name)) continue;
        const ditc_st_tensor *ft = ditc_st_find(f, t->name);
        int same = ft && ft->ndim == t->ndim;
        for (int d = 0; same && d < t->ndim; d++) same = ft->shape[d] == t->shape[d];
        if (!same) {
            describe_file(f, about, sizeof about);
            shape_text(t->shape, t->ndim, want, sizeof want);
            if (ft) shape_text(ft->shape, ft->ndim, got, sizeof got);
            return ditc_fail(st, DITC_ERR_FORMAT,
                             "%s %s: tensor \"%s\" %s%s, the model needs %s (the file: %s); pass flags that fit "
                             "(--num-classes, --image-size, --model, ...) or --init-skip %.*s to keep its fresh "
                             "initialisation",
                             flag, f->label, t->name, ft ? "is " : "is missing", ft ? got : "", want, about,
                             (int)strcspn(t->name, "."), t->name);
        }
        if (ditc_st_read_f32(f, ft, host + p->offset[i], st)) return st->code;
    }
    return 0;
}

// Opens the weights of --init-from: a ditc checkpoint directory (its ema.safetensors, or model.safetensors for
// select "model"), else any weights file with `select` (weights_file.h).
static int open_init(ditc_safetensors *f, const char *path, const char *select, ditc_status *st) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        char p[4096 + 32];
        snprintf(p, sizeof p, "%s/%s.safetensors", path, select && !strcmp(select, "model") ? "model" : "ema");
        return ditc_weights_open(f, p, NULL, st);
    }
    return ditc_weights_open(f, path, select, st);
}

// host ← the backend buffer of n floats.
static float *download(ditc_backend *be, const float *src, size_t n) {
    float *h = ditc_xmalloc(n * sizeof(float));
    be->copy_d2h(be, h, src, n * sizeof(float));
    return h;
}

// The optimizer's shard [shard_b, shard_e) of the full host buffer into dst (o->m, o->v or o->ema).
static void upload_shard(ditc_trainer *t, float *dst, const float *full) {
    t->be->copy_h2d(t->be, dst, full + t->shard_b, (t->shard_e - t->shard_b) * sizeof(float));
}

// --init-from: the weights (all but --init-skip's, which keep the seed's initialisation) and the EMA (= those
// weights, as the reference's start of a run; --init-ema: the file's own ema when it holds one).
static int init_from(ditc_trainer *t, ditc_status *st) {
    const ditc_train_args *a = t->a;
    ditc_params *p = &t->model.params;
    const char *sel = a->init_select ? a->init_select : a->init_ema ? "model" : NULL;
    ditc_safetensors f, e;
    ditc_status quiet = {0};
    if (open_init(&f, a->init_from, sel, &quiet)) { // --init-ema of a bare file: its weights
        if (a->init_select || !sel) return open_init(&f, a->init_from, sel, st);
        if (open_init(&f, a->init_from, sel = NULL, st)) return st->code;
    }
    int has_ema = a->init_ema && t->opt.ema && !open_init(&e, a->init_from, "ema", &quiet);
    float *host = download(t->be, p->data, (size_t)p->numel);
    int r = load_named(p, host, &f, a->init_skip, "--init-from", st);
    if (!r) {
        t->be->copy_h2d(t->be, p->data, host, (size_t)p->numel * sizeof(float));
        ditc_optimizer_ema_copy(&t->opt);
        ditc_train_logf(&t->log, "initialised from %s (%s%s%s), a fresh optimizer at step 0", f.label,
                        sel ? sel : "the file's weights", a->init_skip ? "; fresh initialisation kept: " : "",
                        a->init_skip ? a->init_skip : "");
    }
    if (!r && has_ema && !(r = load_named(p, host, &e, a->init_skip, "--init-from", st))) {
        upload_shard(t, t->opt.ema, host);
        ditc_train_logf(&t->log, "EMA initialised from %s's ema", a->init_from);
    }
    ditc_st_close(&f);
    if (has_ema) ditc_st_close(&e);
    free(host);
    return r;
}

static int param_index(const ditc_params *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->t[i]->name, name)) return i;
    return -1;
}

// The step of AdamW state k: a 0-d tensor (PyTorch >= 1.12) or an int in the metadata (older); -1 if none.
static int64_t state_step(const ditc_safetensors *o, int k, ditc_status *st) {
    char nm[64];
    snprintf(nm, sizeof nm, "%d.step", k);
    const ditc_st_tensor *s = ditc_st_find(o, nm);
    float v;
    if (s && ditc_st_numel(s) == 1 && !ditc_st_read_f32(o, s, &v, st)) return (int64_t)llround(v);
    snprintf(nm, sizeof nm, "opt.state.%d.step", k);
    const char *m = ditc_st_meta(o, nm);
    return m ? strtoll(m, NULL, 10) : -1;
}

// A moment of state k ("exp_avg", "exp_avg_sq") into host at the offset of parameter pi; 0 if absent (zeros).
static int read_moment(const ditc_safetensors *o, int k, const char *what, const ditc_params *p, int pi, float *host,
                       ditc_status *st) {
    char nm[64], want[64], got[64];
    snprintf(nm, sizeof nm, "%d.%s", k, what);
    const ditc_st_tensor *m = ditc_st_find(o, nm);
    if (!m) return 0;
    if (ditc_st_numel(m) != p->t[pi]->numel) {
        shape_text(m->shape, m->ndim, got, sizeof got);
        shape_text(p->t[pi]->shape, p->t[pi]->ndim, want, sizeof want);
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "--resume %s: opt.state.%s is %s but parameter %d (\"%s\") is %s: the optimizer's "
                         "parameters are not the model's in state_dict order",
                         o->label, nm, got, k, p->t[pi]->name, want);
    }
    return ditc_st_read_f32(o, m, host + p->offset[pi], st) ? st->code : 0;
}

// AdamW's moments by parameter index (the order of model.parameters() = the state_dict's: `names`), into the
// optimizer's shard; the step (every state's; the largest if they differ). Parameters without state (never had
// a gradient: pos_embed) keep zero moments.
static int load_adamw(ditc_trainer *t, const ditc_safetensors *o, const ditc_safetensors *names, int64_t *step,
                      ditc_status *st) {
    ditc_params *p = &t->model.params;
    float *m = ditc_xcalloc((size_t)p->numel, sizeof(float)), *v = ditc_xcalloc((size_t)p->numel, sizeof(float));
    int r = 0, with_state = 0, differ = 0;
    *step = -1;
    for (int k = 0; !r && k < names->n_tensors; k++) {
        int pi = param_index(p, names->tensors[k].name);
        int64_t s = state_step(o, k, st);
        if (s < 0) continue;
        with_state++;
        differ |= *step >= 0 && s != *step;
        if (s > *step) *step = s;
        if (!(r = read_moment(o, k, "exp_avg", p, pi, m, st))) r = read_moment(o, k, "exp_avg_sq", p, pi, v, st);
    }
    if (!r && differ)
        ditc_train_logf(&t->log, "warning: %s: the parameters' AdamW steps differ; using the largest", o->label);
    if (!r) {
        upload_shard(t, t->opt.m, m);
        upload_shard(t, t->opt.v, v);
        ditc_train_logf(&t->log, "AdamW state of %d of %d parameters from %s (the others: zero moments)", with_state,
                        names->n_tensors, o->label);
    }
    free(m);
    free(v);
    return r;
}

// Warns when an AdamW hyperparameter of the file's param_groups differs from ditc's (ditc's is used).
static void check_hyper(ditc_trainer *t, const ditc_safetensors *o, const char *key, const char *flag, double ours) {
    char nm[64];
    snprintf(nm, sizeof nm, "opt.param_groups.0.%s", key);
    const char *v = ditc_st_meta(o, nm);
    if (!v) return;
    double theirs = strtod(v + (v[0] == '(' || v[0] == '['), NULL);
    if (fabs(theirs - ours) > 1e-9 * fabs(ours))
        ditc_train_logf(&t->log, "warning: %s has %s = %s; continuing with %s %g", o->label, nm, v, flag, ours);
}

// The weights of a .pt sub-dict into host and then dst (the parameters, or the EMA shard when ema).
static int load_sub(ditc_trainer *t, const char *select, float *host, int ema, ditc_status *st) {
    ditc_params *p = &t->model.params;
    ditc_safetensors f;
    if (ditc_weights_open(&f, t->a->resume_pt, select, st)) return st->code;
    int r = load_named(p, host, &f, NULL, "--resume", st);
    if (!r && ema) upload_shard(t, t->opt.ema, host);
    else if (!r) t->be->copy_h2d(t->be, p->data, host, (size_t)p->numel * sizeof(float));
    ditc_st_close(&f);
    return r;
}

// --resume FILE.pt: a reference train.py checkpoint {"model", "ema", "opt", "args"} continued by ditc: the model,
// the EMA, AdamW's moments and step; the data position is ditc's own for that step (the reference's sampler
// position is not in the file), and the checkpoints go to a new run directory.
static int resume_pt(ditc_trainer *t, ditc_status *st) {
    const char *path = t->a->resume_pt;
    ditc_params *p = &t->model.params;
    if (strcmp(ditc_optimizer_name(&t->opt), "adamw"))
        return ditc_fail(st, DITC_ERR_ARG, "--resume %s: a train.py checkpoint holds AdamW state; train with adamw",
                         path);
    float *host = download(t->be, p->data, (size_t)p->numel);
    ditc_safetensors names, o;
    int r = load_sub(t, "model", host, 0, st);
    if (!r && t->opt.ema) r = load_sub(t, "ema", host, 1, st);
    free(host);
    if (r) return r;
    if (ditc_weights_open(&names, path, "model", st)) return st->code;
    if (ditc_weights_open(&o, path, "opt.state", st)) {
        ditc_st_close(&names);
        return st->code;
    }
    int64_t step;
    r = load_adamw(t, &o, &names, &step, st);
    if (!r) {
        t->step = t->start_step = t->opt.step = step < 0 ? 0 : step;
        int64_t spe = ditc_data_order_steps_per_epoch(&t->order);
        t->epoch = t->step / spe;
        t->step_in_epoch = t->step % spe;
        check_hyper(t, &o, "lr", "--lr", t->opt.lr);
        check_hyper(t, &o, "betas", "--beta1", t->opt.beta1);
        check_hyper(t, &o, "eps", "eps", t->opt.eps);
        check_hyper(t, &o, "weight_decay", "--weight-decay", t->opt.weight_decay);
        ditc_train_logf(
            &t->log,
            "continuing the train.py checkpoint %s at step %lld: model, EMA and AdamW state loaded; the data "
            "position restarts at ditc's for that step (epoch %lld, step %lld of it): the reference "
            "sampler's position is not in the file",
            path, (long long)t->step, (long long)t->epoch, (long long)t->step_in_epoch);
    }
    ditc_st_close(&o);
    ditc_st_close(&names);
    return r;
}

int ditc_train_init_weights(ditc_trainer *t, ditc_status *st) {
    const ditc_train_args *a = t->a;
    if (a->resume_dir) return 0; // the checkpoint holds the weights (its --init-from was the run's start)
    if (a->resume_pt) return resume_pt(t, st);
    return a->init_from ? init_from(t, st) : 0;
}

int ditc_train_init_check(const ditc_train_args *a, ditc_status *st) {
    if (!a->init_from && (a->init_select || a->init_ema || a->init_skip))
        return ditc_fail(st, DITC_ERR_ARG, "--init-select, --init-ema and --init-skip go with --init-from FILE");
    if (a->init_from && a->resume_pt)
        return ditc_fail(st, DITC_ERR_ARG,
                         "--init-from and --resume %s: choose one (--resume continues the file's optimizer and step, "
                         "--init-from starts afresh from its weights)",
                         a->resume_pt);
    return 0;
}

// ---- the flags of a train.py checkpoint's args -----------------------------------------------------------

void ditc_train_pt_flags_free(char **argv) {
    for (int i = 0; argv && argv[i]; i++) free(argv[i]);
    free(argv);
}

int ditc_train_pt_flags(const char *path, int with_vae, char ***argv, int *n, ditc_status *st) {
    static const char *map[][2] = {
        {"model", "--model"},
        {"num_classes", "--num-classes"},
        {"global_batch_size", "--global-batch-size"},
        {"global_seed", "--global-seed"},
        {"epochs", "--epochs"},
        {"log_every", "--log-every"},
        {"ckpt_every", "--ckpt-every"},
        {"results_dir", "--results-dir"},
        {"num_workers", "--num-workers"},
        {"data_path", "--data-path"},
        {"image_size", "--image-size"},
    };
    int nmap = (int)(sizeof map / sizeof *map);
    ditc_safetensors f;
    ditc_weights_format fmt;
    if (ditc_weights_format_of(path, &fmt, st)) return st->code;
    if (fmt != DITC_WF_TORCH_ZIP && fmt != DITC_WF_TORCH_LEGACY)
        return ditc_fail(st, DITC_ERR_ARG,
                         "--resume %s: a file must be a reference train.py checkpoint (.pt, torch.save); ditc's own "
                         "checkpoints are directories",
                         path);
    if (ditc_weights_open(&f, path, "opt", st)) {
        char msg[sizeof st->message];
        snprintf(msg, sizeof msg, "%s", st->message);
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "--resume %s: not a train.py checkpoint with optimizer state (%s); --init-from starts a run "
                         "from its weights",
                         path, msg);
    }
    char **out = ditc_xcalloc((size_t)(2 * nmap + 1), sizeof *out);
    int k = 0;
    for (int i = 0; i < nmap; i++) {
        char key[64];
        snprintf(key, sizeof key, "args.%s", map[i][0]);
        const char *v = ditc_st_meta(&f, key);
        if (!v || !strcmp(v, "None") || (!with_vae && !strcmp(map[i][0], "image_size"))) continue;
        out[k++] = ditc_xstrdup(map[i][1]);
        out[k++] = ditc_xstrdup(v);
    }
    ditc_st_close(&f);
    *argv = out;
    *n = k;
    return 0;
}

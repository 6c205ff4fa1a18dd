// sample.c — the `ditc sample` grid pipeline and the sampler it shares with sample_npz.c (see sample.h).
#include "sample.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "diffusion.h"
#include "png_io.h"
#include "safetensors.h"
#include "vae.h"
#include "weights_file.h"

struct ditc_sampler {
    ditc_backend *be;
    char path[4096 + 32];
    ditc_safetensors w;
    ditc_dit m;
    ditc_diffusion d;
    ditc_dit_config cfg;
    ditc_vae *vae;
    ditc_sample_opts o;
};

int ditc_sampler_open(ditc_sampler **out, ditc_backend *be, const ditc_sample_args *a, int allow_latent,
                      ditc_status *st) {
    *out = NULL;
    struct stat sb;
    if (stat(a->ckpt, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "--ckpt %s: %s", a->ckpt, strerror(errno));
    ditc_sampler *s = ditc_xcalloc(1, sizeof *s);
    s->be = be;
    if (S_ISDIR(sb.st_mode))
        snprintf(s->path, sizeof s->path, "%s/%s", a->ckpt, a->use_model ? "model.safetensors" : "ema.safetensors");
    else snprintf(s->path, sizeof s->path, "%s", a->ckpt);
    int r;
    // a torch.save checkpoint holds both sets: its "ema" dict unless --use-model (a bare state_dict has one set)
    ditc_weights_format fmt = DITC_WF_SAFETENSORS;
    if (a->use_model && !S_ISDIR(sb.st_mode) && (r = ditc_weights_format_of(s->path, &fmt, st))) goto fail;
    const char *select = fmt == DITC_WF_TORCH_ZIP || fmt == DITC_WF_TORCH_LEGACY ? "model" : NULL;
    if ((r = ditc_weights_open(&s->w, s->path, select, st)) ||
        (r = ditc_dit_config_from_weights(&s->cfg, &s->w, a->num_heads, st)))
        goto fail;
    if (a->vae) {
        if ((r = ditc_vae_load(&s->vae, be, a->vae, "--vae", st))) goto fail;
        if ((r = ditc_vae_set_tile(s->vae, a->vae_tile, st))) goto fail;
        if (ditc_vae_get_config(s->vae)->latent_channels != s->cfg.in_channels) {
            r = ditc_fail(st, DITC_ERR_ARG, "--vae %s: %d latent channels, but the model in %s has %d input channels",
                          a->vae, ditc_vae_get_config(s->vae)->latent_channels, s->path, s->cfg.in_channels);
            goto fail;
        }
    } else if (!allow_latent && s->cfg.in_channels != 1 && s->cfg.in_channels != 3) {
        r = ditc_fail(st, DITC_ERR_ARG, "%s: a %d-channel (latent) model: pass --vae PATH to decode its samples",
                      s->path, s->cfg.in_channels);
        goto fail;
    }
    ditc_dit_create(&s->m, &s->cfg, be);
    if ((r = ditc_params_from_file(&s->m.params, s->m.params.data, &s->w, "", 1, st))) goto fail;
    char spacing[32];
    snprintf(spacing, sizeof spacing, "%s%d", a->ddim ? "ddim" : "", a->num_steps);
    if ((r = ditc_diffusion_init(&s->d, spacing, st))) goto fail;
    s->o = (ditc_sample_opts){
        .cfg_scale = (float)a->cfg_scale, .cfg_all_channels = a->cfg_all_channels, .ddim = a->ddim, .seed = a->seed};
    *out = s;
    return 0;
fail:
    ditc_sampler_close(s);
    return r;
}

void ditc_sampler_close(ditc_sampler *s) {
    if (!s) return;
    ditc_vae_free(s->vae);
    ditc_diffusion_free(&s->d);
    if (s->m.params.be) ditc_dit_free(&s->m);
    ditc_st_close(&s->w);
    free(s);
}

const ditc_dit_config *ditc_sampler_config(const ditc_sampler *s) { return &s->cfg; }
const char *ditc_sampler_weights_path(const ditc_sampler *s) { return s->path; }
int ditc_sampler_steps(const ditc_sampler *s) { return s->d.n; }

void ditc_sampler_image_shape(const ditc_sampler *s, int *channels, int *side) {
    if (s->vae) {
        *channels = ditc_vae_get_config(s->vae)->out_channels;
        *side = s->cfg.input_size * ditc_vae_factor(s->vae);
    } else {
        *channels = s->cfg.in_channels;
        *side = s->cfg.input_size;
    }
}

int ditc_sampler_draw(ditc_sampler *s, int n, const int32_t *labels, uint64_t index0, const ditc_sampler_hooks *h,
                      float *img, float *raw, ditc_status *st) {
    const int64_t per = (int64_t)s->cfg.in_channels * s->cfg.input_size * s->cfg.input_size;
    ditc_sample_opts o = s->o;
    o.index0 = index0;
    if (h) {
        o.progress = h->progress;
        o.noise_hook = h->noise_hook;
        o.user = h->user;
    }
    float *x = s->vae ? ditc_xmalloc(sizeof(float) * (size_t)(n * per)) : img;
    ditc_ctx c = {0};
    ditc_ctx_init(&c, s->be);
    ditc_diffusion_sample(&c, &s->m, &s->d, n, labels, &o, x);
    ditc_ctx_free(&c); // the sampler's activations go before the VAE's
    if (raw) memcpy(raw, x, sizeof(float) * (size_t)(n * per));
    if (!s->vae) return 0;
    int r = ditc_vae_decode_samples(s->vae, x, n, s->cfg.input_size, s->cfg.input_size, img, st);
    free(x);
    return r;
}

// ---- the grid command --------------------------------------------------------------------------------------
static void progress(int done, int total, void *user) {
    (void)user;
    if (isatty(fileno(stderr))) {
        fprintf(stderr, "\r\033[Ksampling step %d/%d", done, total);
        if (done == total) fprintf(stderr, "\r\033[K");
    }
}

// Parses "3,1,4" into labels (each in [0, K)); returns the count or -1 with a message.
static int parse_labels(const char *s, int K, int32_t **out, ditc_status *st) {
    int n = 1;
    for (const char *p = s; *p; p++) n += *p == ',';
    *out = ditc_xmalloc(sizeof(int32_t) * (size_t)n);
    const char *p = s;
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || v < 0 || v >= K) {
            ditc_fail(st, DITC_ERR_ARG, "--class-labels '%s': item %d is not a class in [0, %d)", s, i + 1, K);
            return -1;
        }
        (*out)[i] = (int32_t)v;
        p = end + 1;
    }
    return n;
}

// --dump: every noise tensor the loop draws, kept in order.
typedef struct {
    float **noise;
    int count;
    int64_t numel;
} noise_dump;

static void keep_noise(int step, const float *noise, int64_t numel, void *user) {
    noise_dump *d = user;
    DITC_CHECK(step == d->count, "noise step %d out of order", step);
    d->noise = ditc_xrealloc(d->noise, sizeof(float *) * (size_t)(d->count + 1));
    d->noise[d->count] = ditc_xmalloc(sizeof(float) * (size_t)numel);
    memcpy(d->noise[d->count++], noise, sizeof(float) * (size_t)numel);
    d->numel = numel;
}

static void progress_hook(int done, int total, void *user) {
    (void)user;
    progress(done, total, NULL);
}

static int write_dump(const ditc_sample_args *a, const ditc_sampler *s, int n, const int32_t *labels,
                      const noise_dump *nd, const float *raw, const float *img, int out_ch, int side, ditc_status *st) {
    const ditc_dit_config *cfg = ditc_sampler_config(s);
    const int64_t xs[4] = {n, cfg->in_channels, cfg->input_size, cfg->input_size}, is[4] = {n, out_ch, side, side};
    ditc_st_writer *w = ditc_st_writer_new();
    ditc_st_writer_add(w, "labels", DITC_I32, 1, (int64_t[]){n}, labels);
    char names[1001][16];
    for (int k = 0; k < nd->count && k < 1001; k++) {
        snprintf(names[k], sizeof names[k], "noise.%d", k);
        ditc_st_writer_add(w, names[k], DITC_F32, 4, xs, nd->noise[k]);
    }
    ditc_st_writer_add(w, "samples", DITC_F32, 4, xs, raw);
    if (img) ditc_st_writer_add(w, "images", DITC_F32, 4, is, img);
    char steps[16], scale[32];
    snprintf(steps, sizeof steps, "%d", ditc_sampler_steps(s));
    snprintf(scale, sizeof scale, "%.17g", a->cfg_scale);
    ditc_st_writer_meta(w, "steps", steps);
    ditc_st_writer_meta(w, "sampler", a->ddim ? "ddim" : "ddpm");
    ditc_st_writer_meta(w, "cfg_scale", scale);
    ditc_st_writer_meta(w, "cfg_channels", a->cfg_all_channels ? "all" : "3");
    ditc_st_writer_meta(w, "weights", ditc_sampler_weights_path(s));
    int r = ditc_st_writer_save(w, a->dump, st);
    ditc_st_writer_free(w);
    return r;
}

int ditc_sample_run(ditc_backend *be, const ditc_sample_args *a, ditc_status *st) {
    ditc_sampler *s = NULL;
    int32_t *labels = NULL;
    float *img = NULL, *raw = NULL;
    noise_dump nd = {0};
    int r, n = 0, nrow = 8;
    if ((r = ditc_sampler_open(&s, be, a, a->dump != NULL, st))) return r;
    const ditc_dit_config *cfg = ditc_sampler_config(s);
    if (a->class_labels) {
        if ((n = parse_labels(a->class_labels, cfg->num_classes, &labels, st)) < 0) {
            r = st->code;
            goto done;
        }
        nrow = n < 8 ? n : 8;
    } else {
        int per = a->per_class > 0 ? a->per_class : 8;
        n = per * cfg->num_classes;
        if (n > 4096) {
            r = ditc_fail(st, DITC_ERR_ARG, "%d classes x %d per class is too many; pass --class-labels",
                          cfg->num_classes, per);
            goto done;
        }
        labels = ditc_xmalloc(sizeof(int32_t) * (size_t)n);
        for (int i = 0; i < n; i++) labels[i] = i / per; // one row per class
        nrow = per;
    }
    int out_ch, side;
    ditc_sampler_image_shape(s, &out_ch, &side);
    const int is_image = out_ch == 1 || out_ch == 3;
    img = ditc_xmalloc(sizeof(float) * (size_t)n * (size_t)out_ch * (size_t)side * (size_t)side);
    if (a->dump)
        raw = ditc_xmalloc(sizeof(float) * (size_t)n * (size_t)cfg->in_channels * (size_t)cfg->input_size *
                           (size_t)cfg->input_size);
    ditc_sampler_hooks h = {.progress = progress_hook, .noise_hook = a->dump ? keep_noise : NULL, .user = &nd};
    if ((r = ditc_sampler_draw(s, n, labels, 0, &h, img, raw, st))) goto done;
    if (a->dump && (r = write_dump(a, s, n, labels, &nd, raw, is_image ? img : NULL, out_ch, side, st))) goto done;
    if (is_image) {
        r = ditc_png_write_grid(a->out, img, n, out_ch, side, side, nrow, st);
        if (!r)
            printf("wrote %s: %d samples (%d per row) from %s, %s %d steps, cfg %.2f\n", a->out, n, nrow,
                   ditc_sampler_weights_path(s), a->ddim ? "DDIM" : "DDPM", ditc_sampler_steps(s), a->cfg_scale);
    } else {
        printf("wrote %s: %d latent samples from %s (no --vae: no PNG)\n", a->dump, n, ditc_sampler_weights_path(s));
    }
done:
    for (int k = 0; k < nd.count; k++) free(nd.noise[k]);
    free(nd.noise);
    free(labels);
    free(img);
    free(raw);
    ditc_sampler_close(s);
    return r;
}

// train_sample.c — `ditc train --sample-every K`: after every K-th step (and the last) a grid drawn from the EMA
// weights — fixed labels (one row per class, the first 16 classes, 4 samples each), fixed seed, DDIM with
// --sample-steps steps and classifier-free guidance 4 — into <run>/samples/NNNNNNN.png, decoded through the VAE
// of a --vae run. Every rank takes part in gathering a ZeRO-2-sharded EMA; rank 0 samples and writes.
#include <string.h>

#include "diffusion.h"
#include "fs.h"
#include "png_io.h"
#include "train_internal.h"

enum { SAMPLE_PER_CLASS = 4, SAMPLE_MAX_CLASSES = 16 };

// The EMA of the whole layout in the sampling model's parameters (gathered from the shards under ZeRO-2).
static void ema_into(ditc_trainer *t, ditc_dit *s) {
    ditc_optimizer *o = &t->opt;
    ditc_backend *be = t->be;
    size_t n = (size_t)t->model.params.numel;
    be->copy_d2d(be, (float *)s->params.data + o->begin, o->ema, (size_t)(o->end - o->begin) * sizeof(float));
    if (o->begin != 0 || o->end != (int64_t)n) t->comm->allgather(t->comm, be, s->params.data, n, DITC_F32);
}

float *ditc_train_draw(ditc_trainer *t, ditc_dit *s, const ditc_diffusion *d, int n, const int32_t *labels,
                       float cfg_scale, uint64_t index0, int *ch, int *side, ditc_status *st) {
    const ditc_dit_config *cfg = &s->cfg;
    int64_t per = (int64_t)cfg->in_channels * cfg->input_size * cfg->input_size;
    float *img = ditc_xmalloc(sizeof(float) * (size_t)(n * per));
    ditc_ctx c;
    ditc_ctx_init(&c, t->be);
    ditc_sample_opts so = {.cfg_scale = cfg_scale, .ddim = 1, .seed = t->a->global_seed, .index0 = index0};
    ditc_diffusion_sample(&c, s, d, n, labels, &so, img);
    ditc_ctx_free(&c);
    *ch = cfg->in_channels;
    *side = cfg->input_size;
    if (!t->vae) return img;
    const ditc_vae_config *vc = ditc_vae_get_config(t->vae);
    *ch = vc->out_channels;
    *side = cfg->input_size * ditc_vae_factor(t->vae);
    float *pix = ditc_xmalloc(sizeof(float) * (size_t)n * (size_t)*ch * (size_t)*side * (size_t)*side);
    int r = ditc_vae_decode_samples(t->vae, img, n, cfg->input_size, cfg->input_size, pix, st);
    free(img);
    if (r) {
        free(pix);
        return NULL;
    }
    return pix;
}

// Draws the grid with s (EMA weights) into path.
static int draw_grid(ditc_trainer *t, ditc_dit *s, const char *path, ditc_status *st) {
    const ditc_dit_config *cfg = &s->cfg;
    int classes = cfg->num_classes < SAMPLE_MAX_CLASSES ? cfg->num_classes : SAMPLE_MAX_CLASSES;
    int n = classes * SAMPLE_PER_CLASS;
    int32_t labels[SAMPLE_MAX_CLASSES * SAMPLE_PER_CLASS];
    for (int i = 0; i < n; i++) labels[i] = i / SAMPLE_PER_CLASS;
    char spacing[32];
    snprintf(spacing, sizeof spacing, "ddim%lld", (long long)t->a->sample_steps);
    ditc_diffusion d = {0};
    int r = ditc_diffusion_init(&d, spacing, st), ch, side;
    if (r) return r;
    float *img = ditc_train_draw(t, s, &d, n, labels, 4.0f, 0, &ch, &side, st);
    ditc_diffusion_free(&d);
    if (!img) return st->code;
    r = ditc_png_write_grid(path, img, n, ch, side, side, SAMPLE_PER_CLASS, st);
    free(img);
    return r;
}

int ditc_train_check_sampling(const ditc_trainer *t, ditc_status *st) {
    const ditc_train_args *a = t->a;
    if (!a->sample_every) return 0;
    if (a->sample_every < 0 || a->sample_steps < 1 || a->sample_steps > 1000)
        return ditc_fail(st, DITC_ERR_ARG,
                         "--sample-every %lld / --sample-steps %lld: expected K > 0 and 1..1000 steps",
                         (long long)a->sample_every, (long long)a->sample_steps);
    int ch = t->model.cfg.in_channels;
    if (!t->vae && ch != 1 && ch != 3)
        return ditc_fail(st, DITC_ERR_ARG,
                         "--sample-every: the model has %d channels (latents), and this run has no --vae to decode "
                         "them to images (sample its checkpoints with `ditc sample --vae` instead)",
                         ch);
    return 0;
}

ditc_dit *ditc_train_ema_model(ditc_trainer *t) {
    if (!t->sampler.params.be) ditc_dit_create(&t->sampler, &t->model.cfg, t->be);
    ema_into(t, &t->sampler);
    return &t->sampler;
}

int ditc_train_sample_if_due(ditc_trainer *t, ditc_status *st) {
    const ditc_train_args *a = t->a;
    if (!a->sample_every || (t->step % a->sample_every && t->step != t->total)) return 0;
    ditc_train_ema_model(t);
    if (t->log.quiet) return 0;
    char dir[4096 + 16], path[4096 + 32];
    snprintf(dir, sizeof dir, "%s/samples", t->log.dir);
    snprintf(path, sizeof path, "%s/%07lld.png", dir, (long long)t->step);
    double t0 = ditc_now_s();
    int r = ditc_mkdir_p(dir, NULL, st);
    if (!r) r = draw_grid(t, &t->sampler, path, st);
    if (r) return r;
    ditc_train_logf(&t->log, "sample grid (EMA, DDIM %lld steps, cfg 4): %s (%.1f s)", (long long)a->sample_steps, path,
                    ditc_now_s() - t0);
    return 0;
}

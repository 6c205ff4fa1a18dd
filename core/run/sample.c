// sample.c — the `ditc sample` pipeline (see sample.h).
#include "sample.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "diffusion.h"
#include "png_io.h"
#include "vae.h"
#include "weights_file.h"

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

int ditc_sample_run(ditc_backend *be, const ditc_sample_args *a, ditc_status *st) {
    char path[4096 + 32];
    struct stat sb;
    if (stat(a->ckpt, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "--ckpt %s: %s", a->ckpt, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        snprintf(path, sizeof path, "%s/%s", a->ckpt, a->use_model ? "model.safetensors" : "ema.safetensors");
    else snprintf(path, sizeof path, "%s", a->ckpt);
    ditc_safetensors w = {0};
    ditc_dit m = {0};
    ditc_diffusion d = {0};
    ditc_ctx c = {0};
    ditc_dit_config cfg;
    int32_t *labels = NULL;
    float *img = NULL;
    ditc_vae *vae = NULL;
    int r, n = 0, nrow = 8;
    // a torch.save checkpoint holds both sets: its "ema" dict unless --use-model (a bare state_dict has one set)
    ditc_weights_format fmt = DITC_WF_SAFETENSORS;
    if (a->use_model && !S_ISDIR(sb.st_mode) && (r = ditc_weights_format_of(path, &fmt, st))) goto done;
    const char *select = fmt == DITC_WF_TORCH_ZIP ? "model" : NULL;
    if ((r = ditc_weights_open(&w, path, select, st)) || (r = ditc_dit_config_from_weights(&cfg, &w, a->num_heads, st)))
        goto done;
    if (a->vae) {
        if ((r = ditc_vae_load(&vae, be, a->vae, "--vae", st))) goto done;
        if ((r = ditc_vae_set_tile(vae, a->vae_tile, st))) goto done;
        if (ditc_vae_get_config(vae)->latent_channels != cfg.in_channels) {
            r = ditc_fail(st, DITC_ERR_ARG, "--vae %s: %d latent channels, but the model in %s has %d input channels",
                          a->vae, ditc_vae_get_config(vae)->latent_channels, path, cfg.in_channels);
            goto done;
        }
    } else if (cfg.in_channels != 1 && cfg.in_channels != 3) {
        r = ditc_fail(st, DITC_ERR_ARG, "%s: a %d-channel (latent) model: pass --vae PATH to decode its samples", path,
                      cfg.in_channels);
        goto done;
    }
    ditc_dit_create(&m, &cfg, be);
    if ((r = ditc_params_from_file(&m.params, m.params.data, &w, "", 1, st))) goto done;
    char spacing[32];
    snprintf(spacing, sizeof spacing, "%s%d", a->ddim ? "ddim" : "", a->num_steps);
    if ((r = ditc_diffusion_init(&d, spacing, st))) goto done;
    if (a->class_labels) {
        if ((n = parse_labels(a->class_labels, cfg.num_classes, &labels, st)) < 0) {
            r = st->code;
            goto done;
        }
        nrow = n < 8 ? n : 8;
    } else {
        int per = a->per_class > 0 ? a->per_class : 8;
        n = per * cfg.num_classes;
        if (n > 4096) {
            r = ditc_fail(st, DITC_ERR_ARG, "%d classes x %d per class is too many; pass --class-labels",
                          cfg.num_classes, per);
            goto done;
        }
        labels = ditc_xmalloc(sizeof(int32_t) * (size_t)n);
        for (int i = 0; i < n; i++) labels[i] = i / per; // one row per class
        nrow = per;
    }
    ditc_ctx_init(&c, be);
    ditc_sample_opts o = {.cfg_scale = (float)a->cfg_scale,
                          .cfg_all_channels = a->cfg_all_channels,
                          .ddim = a->ddim,
                          .seed = a->seed,
                          .progress = progress};
    int64_t per_img = (int64_t)cfg.in_channels * cfg.input_size * cfg.input_size;
    img = ditc_xmalloc(sizeof(float) * (size_t)(n * per_img));
    ditc_diffusion_sample(&c, &m, &d, n, labels, &o, img);
    int out_ch = cfg.in_channels, side = cfg.input_size;
    if (vae) { // latents → images: decode(z / scaling_factor + shift)
        ditc_ctx_free(&c);
        c.be = NULL;
        const ditc_vae_config *vc = ditc_vae_get_config(vae);
        for (int64_t i = 0; i < n * per_img; i++) img[i] = img[i] / (float)vc->scaling_factor + (float)vc->shift_factor;
        out_ch = vc->out_channels;
        side = cfg.input_size * ditc_vae_factor(vae);
        float *pix = ditc_xmalloc(sizeof(float) * (size_t)n * (size_t)out_ch * (size_t)side * (size_t)side);
        r = ditc_vae_decode(vae, img, n, cfg.input_size, cfg.input_size, pix, st);
        free(img);
        img = pix;
        if (r) goto done;
    }
    r = ditc_png_write_grid(a->out, img, n, out_ch, side, side, nrow, st);
    if (!r)
        printf("wrote %s: %d samples (%d per row) from %s, %s %d steps, cfg %.2f\n", a->out, n, nrow, path,
               a->ddim ? "DDIM" : "DDPM", d.n, a->cfg_scale);
done:
    free(labels);
    free(img);
    ditc_vae_free(vae);
    if (c.be) ditc_ctx_free(&c);
    ditc_diffusion_free(&d);
    if (m.params.be) ditc_dit_free(&m);
    ditc_st_close(&w);
    return r;
}

// check_vae.c — `ditc check --vae` (check_vae.h): encode → (mean, logvar), decode(mean), decode(z).
#include "check_vae.h"

#include <stdio.h>
#include <stdlib.h>

#include "image.h"
#include "safetensors.h"
#include "vae.h"

// x (1, 3, H, W) in [-1, 1] from an image file (optionally centre-cropped to S).
static int load_image(const char *path, int S, float **x, int64_t *H, int64_t *W, ditc_status *st) {
    ditc_image img = {0};
    if (ditc_image_load_rgb(path, &img, st)) return 1;
    int h = S ? S : img.h, w = S ? S : img.w;
    uint8_t *chw = ditc_xmalloc((size_t)3 * (size_t)h * (size_t)w);
    if (S) ditc_center_crop_arr(&img, S, chw);
    else
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < h * w; i++)
                chw[(size_t)c * (size_t)(h * w) + (size_t)i] = img.rgb[(size_t)i * 3 + (size_t)c];
    ditc_image_free(&img);
    *x = ditc_xmalloc((size_t)3 * (size_t)h * (size_t)w * sizeof(float));
    for (size_t i = 0; i < (size_t)3 * (size_t)h * (size_t)w; i++) (*x)[i] = chw[i] / 127.5f - 1.0f;
    free(chw);
    *H = h;
    *W = w;
    return 0;
}

// A 4-D F32-convertible tensor `name` with dim 1 = C (B = 0: any batch), copied to F32.
static int read_4d(const ditc_safetensors *s, const char *name, int64_t C, int64_t B, float **out, int64_t *shape,
                   ditc_status *st) {
    const ditc_st_tensor *t = ditc_st_find(s, name);
    if (!t) return -1;
    if (t->ndim != 4 || t->shape[1] != C || (B && t->shape[0] != B) || t->shape[0] < 1)
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: tensor \"%s\" must be [%s, %lld, H, W]", s->label, name,
                         B ? "B of x" : "B", (long long)C);
    for (int i = 0; i < 4; i++) shape[i] = t->shape[i];
    *out = ditc_xmalloc((size_t)ditc_st_numel(t) * sizeof(float));
    return ditc_st_read_f32(s, t, *out, st);
}

int ditc_check_vae_run(ditc_backend *be, const ditc_check_vae_args *a, ditc_status *st) {
    ditc_vae *v = NULL;
    if (ditc_vae_load(&v, be, a->vae, "--vae", st)) return 1;
    if (ditc_vae_set_tile(v, a->tile, st)) {
        ditc_vae_free(v);
        return 1;
    }
    const ditc_vae_config *c = ditc_vae_get_config(v);
    int f = ditc_vae_factor(v), rc = 0;
    float *x = NULL, *z = NULL, *mean = NULL, *logvar = NULL, *recon = NULL, *dec = NULL;
    int64_t xs[4] = {1, c->in_channels, 0, 0}, zs[4] = {0};
    ditc_safetensors in = {0};
    if (a->image) {
        if (c->in_channels != 3)
            rc = ditc_fail(st, DITC_ERR_ARG, "--image needs a 3-channel VAE (this one has %d)", c->in_channels);
        else rc = load_image(a->image, a->image_size, &x, &xs[2], &xs[3], st);
    } else {
        rc = ditc_st_open(&in, a->inputs, st);
        if (!rc && (rc = read_4d(&in, "x", c->in_channels, 0, &x, xs, st)) < 0)
            rc = ditc_fail(st, DITC_ERR_FORMAT, "%s: no tensor \"x\" [B, %d, H, W]", a->inputs, c->in_channels);
        if (!rc && (rc = read_4d(&in, "z", c->latent_channels, xs[0], &z, zs, st)) < 0) rc = 0;
    }
    int64_t B = xs[0], h = xs[2] / f, w = xs[3] / f, ln = B * c->latent_channels * h * w;
    double t0 = ditc_now_s(), t_enc = 0, t_dec = 0;
    if (!rc) {
        mean = ditc_xmalloc((size_t)ln * sizeof(float));
        logvar = ditc_xmalloc((size_t)ln * sizeof(float));
        rc = ditc_vae_encode(v, x, B, xs[2], xs[3], mean, logvar, a->image ? a->image : a->inputs, st);
        t_enc = ditc_now_s() - t0;
    }
    if (!rc) {
        recon = ditc_xmalloc((size_t)(B * c->out_channels * h * f * w * f) * sizeof(float));
        t0 = ditc_now_s();
        rc = ditc_vae_decode(v, mean, B, h, w, recon, st);
        t_dec = ditc_now_s() - t0;
    }
    if (!rc)
        printf("vae check: %lld image%s %lldx%lld: encode %.3f s, decode %.3f s\n", (long long)B, B == 1 ? "" : "s",
               (long long)xs[2], (long long)xs[3], t_enc, t_dec);
    if (!rc && z) {
        dec = ditc_xmalloc((size_t)(zs[0] * c->out_channels * zs[2] * f * zs[3] * f) * sizeof(float));
        rc = ditc_vae_decode(v, z, zs[0], zs[2], zs[3], dec, st);
    }
    if (!rc) {
        ditc_st_writer *wr = ditc_st_writer_new();
        int64_t ls[4] = {B, c->latent_channels, h, w}, rs[4] = {B, c->out_channels, h * f, w * f};
        int64_t ds[4] = {zs[0], c->out_channels, zs[2] * f, zs[3] * f};
        ditc_st_writer_add(wr, "mean", DITC_F32, 4, ls, mean);
        ditc_st_writer_add(wr, "logvar", DITC_F32, 4, ls, logvar);
        ditc_st_writer_add(wr, "recon", DITC_F32, 4, rs, recon);
        if (dec) ditc_st_writer_add(wr, "decoded", DITC_F32, 4, ds, dec);
        ditc_st_writer_meta(wr, "vae", ditc_vae_desc(v));
        rc = ditc_st_writer_save(wr, a->out, st);
        ditc_st_writer_free(wr);
    }
    ditc_st_close(&in);
    free(x);
    free(z);
    free(mean);
    free(logvar);
    free(recon);
    free(dec);
    ditc_vae_free(v);
    return rc ? 1 : 0;
}

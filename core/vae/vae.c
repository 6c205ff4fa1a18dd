// vae.c — the AutoencoderKL forward passes (spec/vae.md) on the forward-only ops of vae_ops.h, one sample
// at a time, freeing each activation as soon as it is consumed. Encoder: conv_in → levels × (L resnets
// [+ downsample: right/bottom zero pad, 3×3 stride 2]) → mid (resnet, attention, resnet) → GroupNorm+SiLU →
// conv_out → quant_conv. Decoder: post_quant_conv → conv_in → mid → levels × (L + 1 resnets [+ nearest ×2,
// 3×3 conv]) → GroupNorm+SiLU → conv_out. GroupNorm eps 1e-6 everywhere.
#include <math.h>
#include <string.h>

#include "rng.h"
#include "vae.h"
#include "vae_net.h"
#include "vae_ops.h"
#include "vae_tile.h"

#define VAE_EPS 1e-6f

const ditc_vae_config *ditc_vae_get_config(const ditc_vae *v) { return &v->cfg; }
const char *ditc_vae_desc(const ditc_vae *v) { return v->desc; }
int64_t ditc_vae_num_params(const ditc_vae *v) { return v->n_params; }
int ditc_vae_factor(const ditc_vae *v) { return ditc_vae_config_factor(&v->cfg); }
int ditc_vae_set_tile(ditc_vae *v, int tile, ditc_status *st) {
    int q = 4 * ditc_vae_factor(v);
    if (tile < 0 || tile % q)
        return ditc_fail(st, DITC_ERR_ARG, "--vae-tile %d: must be 0 (no tiling) or a positive multiple of %d", tile,
                         q);
    v->tile = tile;
    return 0;
}

static ditc_tensor *conv3(ditc_vae *v, const ditc_tensor *x, const vae_wb *c) {
    return ditc_conv2d(v->be, x, c->w, c->b, 1, 1, 1, 1, 1);
}

// ResnetBlock2D: out = shortcut(x) + conv2(SiLU(norm2(conv1(SiLU(norm1(x)))))). Consumes x.
static ditc_tensor *resnet(ditc_vae *v, ditc_tensor *x, const vae_resnet *r) {
    int G = v->cfg.norm_groups;
    ditc_tensor *h = ditc_group_norm(v->be, x, r->norm1.w, r->norm1.b, G, VAE_EPS, 1, 0);
    ditc_tensor *h2 = conv3(v, h, &r->conv1);
    ditc_vt_free(h);
    ditc_group_norm(v->be, h2, r->norm2.w, r->norm2.b, G, VAE_EPS, 1, 1);
    ditc_tensor *out = x;
    if (r->shortcut.w) {
        out = ditc_conv2d(v->be, x, r->shortcut.w, r->shortcut.b, 1, 0, 0, 0, 0);
        ditc_vt_free(x);
    }
    static const int pad1[4] = {1, 1, 1, 1};
    ditc_conv2d_into(v->be, out, h2, r->conv2.w, r->conv2.b, 1, pad1, 1);
    ditc_vt_free(h2);
    return out;
}

// Mid-block attention: x + proj(attn(q, k, v)) with q, k, v = Linear(GroupNorm(x)) over the H·W positions
// (as 1×1 convolutions in the channel-major layout). Updates x in place.
static void attention(ditc_vae *v, ditc_tensor *x, const vae_attn *a) {
    ditc_tensor *h = ditc_group_norm(v->be, x, a->norm.w, a->norm.b, v->cfg.norm_groups, VAE_EPS, 0, 0);
    ditc_tensor *q = ditc_conv2d(v->be, h, a->q.w, a->q.b, 1, 0, 0, 0, 0);
    ditc_tensor *k = ditc_conv2d(v->be, h, a->k.w, a->k.b, 1, 0, 0, 0, 0);
    ditc_tensor *val = ditc_conv2d(v->be, h, a->v.w, a->v.b, 1, 0, 0, 0, 0);
    ditc_vt_free(h);
    ditc_tensor *o = ditc_spatial_attention(v->be, q, k, val);
    ditc_vt_free(q);
    ditc_vt_free(k);
    ditc_vt_free(val);
    static const int pad0[4] = {0, 0, 0, 0};
    ditc_conv2d_into(v->be, x, o, a->proj.w, a->proj.b, 1, pad0, 1);
    ditc_vt_free(o);
}

static ditc_tensor *mid(ditc_vae *v, ditc_tensor *x, const vae_mid *m) {
    x = resnet(v, x, &m->res[0]);
    if (m->attn.q.w) attention(v, x, &m->attn);
    return resnet(v, x, &m->res[1]);
}

// x (1, in, H, W) → moments (1, 2·latent, H/f, W/f). Consumes x.
static ditc_tensor *encode_one(ditc_vae *v, ditc_tensor *x) {
    const ditc_vae_config *c = &v->cfg;
    int L = c->layers_per_block;
    ditc_tensor *h = conv3(v, x, &v->enc_conv_in);
    ditc_vt_free(x);
    for (int i = 0; i < c->levels; i++) {
        for (int j = 0; j < L; j++) h = resnet(v, h, &v->enc_res[i * L + j]);
        if (i < c->levels - 1) {
            ditc_tensor *d = ditc_conv2d(v->be, h, v->enc_down[i].w, v->enc_down[i].b, 2, 0, 0, 1, 1);
            ditc_vt_free(h);
            h = d;
        }
    }
    h = mid(v, h, &v->enc_mid);
    ditc_group_norm(v->be, h, v->enc_norm_out.w, v->enc_norm_out.b, c->norm_groups, VAE_EPS, 1, 1);
    ditc_tensor *m = conv3(v, h, &v->enc_conv_out);
    ditc_vt_free(h);
    if (c->use_quant_conv) {
        ditc_tensor *q = ditc_conv2d(v->be, m, v->quant_conv.w, v->quant_conv.b, 1, 0, 0, 0, 0);
        ditc_vt_free(m);
        m = q;
    }
    return m;
}

// z (1, latent, h, w) → image (1, out, h·f, w·f). Consumes z.
static ditc_tensor *decode_one(ditc_vae *v, ditc_tensor *z) {
    const ditc_vae_config *c = &v->cfg;
    int L = c->layers_per_block;
    if (c->use_post_quant_conv) {
        ditc_tensor *p = ditc_conv2d(v->be, z, v->post_quant_conv.w, v->post_quant_conv.b, 1, 0, 0, 0, 0);
        ditc_vt_free(z);
        z = p;
    }
    ditc_tensor *h = conv3(v, z, &v->dec_conv_in);
    ditc_vt_free(z);
    h = mid(v, h, &v->dec_mid);
    for (int i = 0; i < c->levels; i++) {
        for (int j = 0; j < L + 1; j++) h = resnet(v, h, &v->dec_res[i * (L + 1) + j]);
        if (i < c->levels - 1) {
            ditc_tensor *u = ditc_upsample2x(v->be, h);
            ditc_vt_free(h);
            h = conv3(v, u, &v->dec_up[i]);
            ditc_vt_free(u);
        }
    }
    ditc_group_norm(v->be, h, v->dec_norm_out.w, v->dec_norm_out.b, c->norm_groups, VAE_EPS, 1, 1);
    ditc_tensor *img = conv3(v, h, &v->dec_conv_out);
    ditc_vt_free(h);
    return img;
}

static ditc_tensor *upload(ditc_vae *v, const float *host, int64_t C, int64_t H, int64_t W) {
    int64_t s[4] = {1, C, H, W};
    ditc_tensor *t = ditc_vt_new(v->be, 4, s);
    v->be->copy_h2d(v->be, t->data, host, ditc_nbytes(t));
    return t;
}

int ditc_vae_encode(ditc_vae *v, const float *img, int64_t B, int64_t H, int64_t W, float *mean, float *logvar,
                    const char *what, ditc_status *st) {
    const ditc_vae_config *c = &v->cfg;
    int f = ditc_vae_factor(v);
    if (H < f || W < f || H % f || W % f)
        return ditc_fail(st, DITC_ERR_ARG, "%s: image size %lldx%lld must be a positive multiple of %d for the VAE",
                         what, (long long)H, (long long)W, f);
    int64_t lc = c->latent_channels, hw = (H / f) * (W / f), in = (int64_t)c->in_channels * H * W;
    float *mom = ditc_xmalloc((size_t)(2 * lc * hw) * sizeof(float));
    for (int64_t b = 0; b < B; b++) {
        if (v->tile && (H > v->tile || W > v->tile)) {
            ditc_vae_encode_tiled(v, img + b * in, H, W, mom, encode_one);
        } else {
            ditc_tensor *m = encode_one(v, upload(v, img + b * in, c->in_channels, H, W));
            v->be->copy_d2h(v->be, mom, m->data, ditc_nbytes(m));
            ditc_vt_free(m);
        }
        memcpy(mean + b * lc * hw, mom, (size_t)(lc * hw) * sizeof(float));
        float *lv = logvar + b * lc * hw;
        for (int64_t i = 0; i < lc * hw; i++) {
            float x = mom[lc * hw + i];
            lv[i] = x < -30.0f ? -30.0f : x > 20.0f ? 20.0f : x;
        }
    }
    free(mom);
    return 0;
}

int ditc_vae_decode_samples(ditc_vae *v, float *z, int64_t B, int64_t h, int64_t w, float *img, ditc_status *st) {
    int64_t n = B * (int64_t)v->cfg.latent_channels * h * w;
    for (int64_t i = 0; i < n; i++) z[i] = z[i] / (float)v->cfg.scaling_factor + (float)v->cfg.shift_factor;
    return ditc_vae_decode(v, z, B, h, w, img, st);
}

int ditc_vae_decode(ditc_vae *v, const float *z, int64_t B, int64_t h, int64_t w, float *img, ditc_status *st) {
    (void)st;
    const ditc_vae_config *c = &v->cfg;
    int f = ditc_vae_factor(v);
    int64_t zn = (int64_t)c->latent_channels * h * w, on = (int64_t)c->out_channels * h * f * w * f;
    for (int64_t b = 0; b < B; b++) {
        if (v->tile && (h * f > v->tile || w * f > v->tile)) {
            ditc_vae_decode_tiled(v, z + b * zn, h, w, img + b * on, decode_one);
            continue;
        }
        ditc_tensor *o = decode_one(v, upload(v, z + b * zn, c->latent_channels, h, w));
        v->be->copy_d2h(v->be, img + b * on, o->data, ditc_nbytes(o));
        ditc_vt_free(o);
    }
    return 0;
}

void ditc_vae_sample_latents(const ditc_vae_config *c, const float *mean, const float *logvar, int64_t n, uint64_t seed,
                             uint32_t purpose, uint32_t step, uint64_t index0, float *out) {
    ditc_rng_fill_normal(out, (size_t)n, seed, purpose, step, index0);
    float scale = (float)c->scaling_factor, shift = (float)c->shift_factor;
    for (int64_t i = 0; i < n; i++) {
        float std = expf(0.5f * logvar[i]);
        out[i] = (mean[i] + std * out[i] - shift) * scale;
    }
}

int ditc_vae_encode_latents(ditc_vae *v, const float *img, int64_t B, int64_t H, int64_t W, const int64_t *pos,
                            uint64_t seed, uint32_t step, float *out, ditc_status *st) {
    int f = ditc_vae_factor(v);
    int64_t n = (int64_t)v->cfg.latent_channels * (H / f) * (W / f), in = (int64_t)v->cfg.in_channels * H * W;
    float *mean = ditc_xmalloc((size_t)n * sizeof(float)), *logvar = ditc_xmalloc((size_t)n * sizeof(float));
    int rc = 0;
    for (int64_t b = 0; b < B && !rc; b++) {
        rc = ditc_vae_encode(v, img + b * in, 1, H, W, mean, logvar, "--vae", st);
        if (!rc)
            ditc_vae_sample_latents(&v->cfg, mean, logvar, n, seed, DITC_RNG_POSTERIOR, step,
                                    (uint64_t)pos[b] * (uint64_t)n, out + b * n);
    }
    free(mean);
    free(logvar);
    return rc;
}

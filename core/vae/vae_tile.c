// vae_tile.c — tiled encoding/decoding for images whose activations would not fit in memory (--vae-tile T),
// diffusers' tiled_encode/tiled_decode scheme with tile_sample_min_size = T: tiles of T pixels (T/f latents)
// overlapping by 25%, each tile run through the whole encoder/decoder, neighbours blended linearly over a
// quarter tile (vertically with the tile above, then horizontally with the tile to the left, in place, in
// row-major order), tiles cropped to the stride and concatenated. Not exact (the receptive fields are cut); the
// same numbers as diffusers' enable_tiling() with tile_sample_min_size = T.
#include <string.h>

#include "vae_net.h"
#include "vae_ops.h"
#include "vae_tile.h"

typedef struct {
    float *d;
    int64_t h, w;
} tile_buf;

// b's first `e` rows fade in from a's last `e` rows (same width).
static void blend_v(const tile_buf *a, tile_buf *b, int64_t C, int64_t e) {
    e = e < a->h ? e : a->h;
    e = e < b->h ? e : b->h;
    for (int64_t c = 0; c < C; c++)
        for (int64_t y = 0; y < e; y++) {
            float wa = (float)(1.0 - (double)y / (double)e), wb = (float)((double)y / (double)e);
            const float *ra = a->d + (c * a->h + a->h - e + y) * a->w;
            float *rb = b->d + (c * b->h + y) * b->w;
            for (int64_t x = 0; x < b->w; x++) rb[x] = ra[x] * wa + rb[x] * wb;
        }
}

// b's first `e` columns fade in from a's last `e` columns (same height).
static void blend_h(const tile_buf *a, tile_buf *b, int64_t C, int64_t e) {
    e = e < a->w ? e : a->w;
    e = e < b->w ? e : b->w;
    for (int64_t c = 0; c < C; c++)
        for (int64_t y = 0; y < b->h; y++) {
            const float *ra = a->d + (c * a->h + y) * a->w + a->w - e;
            float *rb = b->d + (c * b->h + y) * b->w;
            for (int64_t x = 0; x < e; x++) {
                float wa = (float)(1.0 - (double)x / (double)e), wb = (float)((double)x / (double)e);
                rb[x] = ra[x] * wa + rb[x] * wb;
            }
        }
}

// src (C, H, W) host → dst (Co, H·r, W·r) host with r = num/den: tiles of `tin` input pixels every `stride`,
// each mapped by fn (consumes its input), blended over `blend` output pixels, cropped to `limit`.
static void run_tiled(ditc_vae *v, const float *src, int64_t C, int64_t H, int64_t W, int64_t tin, int64_t stride,
                      int64_t num, int64_t den, int64_t blend, int64_t limit, int64_t Co,
                      ditc_tensor *(*fn)(ditc_vae *, ditc_tensor *), float *dst) {
    int64_t ni = (H + stride - 1) / stride, nj = (W + stride - 1) / stride, Ho = H * num / den, Wo = W * num / den;
    tile_buf *t = ditc_xcalloc((size_t)(ni * nj), sizeof *t);
    for (int64_t i = 0; i < ni; i++)
        for (int64_t j = 0; j < nj; j++) {
            int64_t y0 = i * stride, x0 = j * stride, th = H - y0 < tin ? H - y0 : tin,
                    tw = W - x0 < tin ? W - x0 : tin;
            int64_t s[4] = {1, C, th, tw};
            float *host = ditc_xmalloc((size_t)(C * th * tw) * sizeof(float));
            for (int64_t c = 0; c < C; c++)
                for (int64_t y = 0; y < th; y++)
                    memcpy(host + (c * th + y) * tw, src + (c * H + y0 + y) * W + x0, (size_t)tw * sizeof(float));
            ditc_tensor *x = ditc_vt_new(v->be, 4, s);
            v->be->copy_h2d(v->be, x->data, host, ditc_nbytes(x));
            free(host);
            ditc_tensor *o = fn(v, x);
            tile_buf *b = &t[i * nj + j];
            b->h = o->shape[2];
            b->w = o->shape[3];
            b->d = ditc_xmalloc(ditc_nbytes(o));
            v->be->copy_d2h(v->be, b->d, o->data, ditc_nbytes(o));
            ditc_vt_free(o);
            if (i > 0) blend_v(&t[(i - 1) * nj + j], b, Co, blend);
            if (j > 0) blend_h(&t[i * nj + j - 1], b, Co, blend);
        }
    for (int64_t i = 0; i < ni; i++)
        for (int64_t j = 0; j < nj; j++) {
            const tile_buf *b = &t[i * nj + j];
            int64_t y0 = i * limit, x0 = j * limit;
            for (int64_t c = 0; c < Co; c++)
                for (int64_t y = 0; y < limit && y < b->h && y0 + y < Ho; y++) {
                    int64_t n = b->w < limit ? b->w : limit;
                    if (x0 + n > Wo) n = Wo - x0;
                    if (n > 0)
                        memcpy(dst + (c * Ho + y0 + y) * Wo + x0, b->d + (c * b->h + y) * b->w,
                               (size_t)n * sizeof(float));
                }
        }
    for (int64_t k = 0; k < ni * nj; k++) free(t[k].d);
    free(t);
}

void ditc_vae_encode_tiled(ditc_vae *v, const float *img, int64_t H, int64_t W, float *moments,
                           ditc_tensor *(*encode_one)(ditc_vae *, ditc_tensor *)) {
    int64_t T = v->tile, f = ditc_vae_config_factor(&v->cfg), Tl = T / f, blend = Tl / 4;
    run_tiled(v, img, v->cfg.in_channels, H, W, T, T * 3 / 4, 1, f, blend, Tl - blend, 2 * v->cfg.latent_channels,
              encode_one, moments);
}

void ditc_vae_decode_tiled(ditc_vae *v, const float *z, int64_t h, int64_t w, float *img,
                           ditc_tensor *(*decode_one)(ditc_vae *, ditc_tensor *)) {
    int64_t T = v->tile, f = ditc_vae_config_factor(&v->cfg), Tl = T / f, blend = T / 4;
    run_tiled(v, z, v->cfg.latent_channels, h, w, Tl, Tl * 3 / 4, f, 1, blend, T - blend, v->cfg.out_channels,
              decode_one, img);
}

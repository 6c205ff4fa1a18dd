// vae_tile.h — tiled VAE passes (vae_tile.c), used by vae.c when --vae-tile is set and the input is larger.
#ifndef DITC_VAE_TILE_H
#define DITC_VAE_TILE_H

#include "vae_net.h"

// img (in_ch, H, W) host → moments (2·latent, H/f, W/f) host; encode_one maps (1, in_ch, th, tw) → moments.
void ditc_vae_encode_tiled(ditc_vae *v, const float *img, int64_t H, int64_t W, float *moments,
                           ditc_tensor *(*encode_one)(ditc_vae *, ditc_tensor *));
// z (latent, h, w) host → img (out_ch, h·f, w·f) host; decode_one maps (1, latent, th, tw) → image.
void ditc_vae_decode_tiled(ditc_vae *v, const float *z, int64_t h, int64_t w, float *img,
                           ditc_tensor *(*decode_one)(ditc_vae *, ditc_tensor *));

#endif

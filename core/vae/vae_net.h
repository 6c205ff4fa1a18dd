// vae_net.h — the AutoencoderKL network: its modules and weights (built by vae_load.c, run by vae.c and
// vae_tile.c).
#ifndef DITC_VAE_NET_H
#define DITC_VAE_NET_H

#include "backend.h"
#include "vae_config.h"

typedef struct ditc_vae ditc_vae;

typedef struct {
    ditc_tensor *w, *b;
} vae_wb; // a conv, linear or norm: weight + bias

typedef struct {
    int in, out;
    vae_wb norm1, conv1, norm2, conv2, shortcut; // shortcut.w NULL when in == out
} vae_resnet;

typedef struct {
    vae_wb norm, q, k, v, proj;
} vae_attn; // q/k/v/proj (C, C) or (C, C, 1, 1)

typedef struct {
    vae_resnet res[2];
    vae_attn attn; // attn.q.w NULL without mid attention
} vae_mid;

struct ditc_vae {
    ditc_vae_config cfg;
    ditc_backend *be;
    void *weights;        // one backend buffer holding every tensor (F32)
    ditc_tensor *tensors; // headers (views into weights)
    int n_tensors, cap_tensors;
    int64_t n_params;
    int tile;
    char desc[512];
    // encoder: conv_in; res[level·L + j] (L = layers_per_block); down[level] (levels − 1); mid; norm_out; conv_out
    vae_wb enc_conv_in, enc_norm_out, enc_conv_out, quant_conv;
    vae_resnet *enc_res;
    vae_wb *enc_down;
    vae_mid enc_mid;
    // decoder: post_quant_conv; conv_in; mid; res[level·(L + 1) + j]; up[level] (levels − 1); norm_out; conv_out
    vae_wb post_quant_conv, dec_conv_in, dec_norm_out, dec_conv_out;
    vae_mid dec_mid;
    vae_resnet *dec_res;
    vae_wb *dec_up;
};

#endif

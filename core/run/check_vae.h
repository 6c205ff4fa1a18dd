// check_vae.h — `ditc check --vae`: the VAE's numerics on given inputs, written to safetensors for the parity
// tools (tests/reference/vae_reference.py compare).
//
// Inputs: --image IMG (JPEG/PNG; centre-cropped to --image-size S when given, else used whole: sides must be
// multiples of 8) or --inputs IN.safetensors with x F32 [B, C, H, W] in [-1, 1] and optionally z F32
// [B, latent, h, w]. Output: mean, logvar [B, latent, H/8, W/8] (the posterior of x), recon (decode(mean)),
// and decoded (decode(z)) when z was given.
#ifndef DITC_CHECK_VAE_H
#define DITC_CHECK_VAE_H

#include "backend.h"
#include "common.h"

typedef struct {
    const char *vae, *image, *inputs, *out;
    int image_size; // 0: the image as it is
    int tile;       // --vae-tile
} ditc_check_vae_args;

int ditc_check_vae_run(ditc_backend *be, const ditc_check_vae_args *a, ditc_status *st);

#endif

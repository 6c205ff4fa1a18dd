// image.h — 8-bit RGB images: decoding (libjpeg-turbo, libpng) exactly as Pillow's
// Image.open(path).convert("RGB"), Pillow's fixed-point resampler (BOX, BICUBIC), and the ADM/DiT
// center_crop_arr preprocessing, bit for bit (shared/spec/data.md).
#ifndef DITC_IMAGE_H
#define DITC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct {
    int w, h;
    uint8_t *rgb; // (h, w, 3) interleaved, row-major
} ditc_image;

typedef enum { DITC_RESAMPLE_BOX = 0, DITC_RESAMPLE_BICUBIC = 1 } ditc_resample;

// Decodes a JPEG or PNG file (format from its magic bytes, not its name) to RGB the way Pillow's
// convert("RGB") does for every mode these formats produce (L, LA, P with or without transparency, RGBA,
// 16-bit, CMYK/YCCK JPEG, ...). Errors (missing, empty, truncated, corrupt, not an image, unsupported
// format) return non-zero with one message naming the file and the reason.
int ditc_image_load_rgb(const char *path, ditc_image *img, ditc_status *st);
// The same from memory (label names the source in messages).
int ditc_image_decode_rgb(const uint8_t *data, size_t n, const char *label, ditc_image *img, ditc_status *st);
void ditc_image_free(ditc_image *img);

// Pillow's Image.resize(size, resample) for 8-bit RGB (horizontal pass first, rounded to uint8 between
// passes, 22-bit fixed-point weights). dst is allocated.
void ditc_image_resize(const ditc_image *src, int w, int h, ditc_resample filter, ditc_image *dst);

// center_crop_arr(img, S): BOX halvings while min side >= 2S, BICUBIC to round(side * S / min side), centre
// crop S×S. Writes (3, S, S) uint8 CHW (no flip, no scaling).
void ditc_center_crop_arr(const ditc_image *img, int S, uint8_t *out_chw);
// ditc_image_load_rgb + ditc_center_crop_arr.
int ditc_image_load_crop(const char *path, int S, uint8_t *out_chw, ditc_status *st);

#endif

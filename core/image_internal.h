// image_internal.h — pieces of the image module shared between image_decode.c, image_resize.c and
// center_crop.c (not part of the public image.h API): windowed JPEG decoding and windowed Pillow resizing,
// which let center_crop_arr compute only the pixels that survive the final crop, bit for bit.
#ifndef DITC_IMAGE_INTERNAL_H
#define DITC_IMAGE_INTERNAL_H

#include "image.h"

// A rectangle [x0, x1) × [y0, y1) of an image, in pixels. x1 <= x0 means "the whole image".
typedef struct {
    int x0, y0, x1, y1;
} ditc_image_window;

// Reads a whole file into a malloc'd buffer (errors: "cannot open", "cannot read", naming the file).
int ditc_read_file(const char *path, uint8_t **data, size_t *n, ditc_status *st);

// JPEG size from its header without decoding; non-zero when it is not a decodable JPEG header.
int ditc_jpeg_peek_size(const uint8_t *data, size_t n, int *w, int *h);
// Decodes only the window of a JPEG: img becomes (y1-y0, x1-x0) with exactly the pixels the full decode has
// there (libjpeg-turbo's jpeg_crop_scanline / jpeg_skip_scanlines). Same errors as ditc_image_decode_rgb.
int ditc_jpeg_decode_window(const uint8_t *data, size_t n, const char *label, const ditc_image_window *win,
                            ditc_image *img, ditc_status *st);

// Along one axis of a Pillow resize in → out: the source range [*lo, *hi) that output indices [a, b) read.
// When in == out Pillow skips that pass and the range is [a, b).
void ditc_resize_source_range(int in, int out, ditc_resample filter, int a, int b, int *lo, int *hi);

// Windowed Pillow resize. src holds the window of a logical in_w × in_h image starting at (sx0, sy0) and must
// cover ditc_resize_source_range of the wanted output window; dst (allocated, ow × oh) receives the window
// [ox0, ox0+ow) × [oy0, oy0+oh) of resize(in → out_w × out_h), identical to cropping Pillow's full result.
void ditc_resize_window(const ditc_image *src, int sx0, int sy0, int in_w, int in_h, int out_w, int out_h,
                        int ox0, int oy0, int ow, int oh, ditc_resample filter, ditc_image *dst);

#endif

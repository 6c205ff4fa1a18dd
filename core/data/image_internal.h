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

// Per-thread reusable buffers of the crop pipeline (one per slot; grown on demand, kept between images unless
// larger than 64 MiB, which ditc_image_scratch_done frees). A slot's buffer is valid until its next request.
enum {
    DITC_SCRATCH_FILE,
    DITC_SCRATCH_DECODED,
    DITC_SCRATCH_STEP0,
    DITC_SCRATCH_STEP1, // center_crop.c
    DITC_SCRATCH_H,
    DITC_SCRATCH_T,
    DITC_SCRATCH_U, // image_resize.c
    DITC_SCRATCH_SLOTS
};
uint8_t *ditc_image_scratch(int slot, size_t bytes);
void ditc_image_scratch_done(int slot);
// Frees this thread's scratch buffers (optional: e.g. before a loader thread exits).
void ditc_image_scratch_free(void);

// Reads a whole file into a malloc'd buffer (errors: "cannot open", "cannot read", naming the file); with
// scratch_slot >= 0 into that scratch buffer instead (not to be freed).
int ditc_read_file(const char *path, int scratch_slot, uint8_t **data, size_t *n, ditc_status *st);

// Decodes the part of a JPEG that want(W, H, ctx, &window, st) asks for once the header is read (want NULL:
// the whole image; want returning non-zero, after setting st, stops there with that error). img then holds the region *got ⊇ window — whole iMCU columns around it and up to one iMCU row
// above it — whose pixels inside the window are exactly those of the full decode (libjpeg-turbo's
// jpeg_crop_scanline / jpeg_skip_scanlines; the margin absorbs the upsampler's edge effects). Pixels go into
// scratch buffer scratch_slot (>= 0; img->rgb is not to be freed) or a malloc'd buffer (-1; ditc_image_free).
// Same errors as ditc_image_decode_rgb.
typedef int (*ditc_jpeg_want_fn)(int W, int H, void *ctx, ditc_image_window *window, ditc_status *st);
int ditc_jpeg_decode_region(const uint8_t *data, size_t n, const char *label, ditc_jpeg_want_fn want, void *ctx,
                            int scratch_slot, ditc_image *img, ditc_image_window *got, ditc_status *st);

// Along one axis of a Pillow resize in → out: the source range [*lo, *hi) that output indices [a, b) read.
// When in == out Pillow skips that pass and the range is [a, b).
void ditc_resize_source_range(int in, int out, ditc_resample filter, int a, int b, int *lo, int *hi);

// Windowed Pillow resize. src holds the window of a logical in_w × in_h image starting at (sx0, sy0) and must
// cover ditc_resize_source_range of the wanted output window; dst (allocated, ow × oh) receives the window
// [ox0, ox0+ow) × [oy0, oy0+oh) of resize(in → out_w × out_h), identical to cropping Pillow's full result.
void ditc_resize_window(const ditc_image *src, int sx0, int sy0, int in_w, int in_h, int out_w, int out_h, int ox0,
                        int oy0, int ow, int oh, ditc_resample filter, ditc_image *dst);
// The same into caller memory (ow·oh·3 bytes, not a DITC_SCRATCH_H/T/U buffer).
void ditc_resize_window_into(const ditc_image *src, int sx0, int sy0, int in_w, int in_h, int out_w, int out_h, int ox0,
                             int oy0, int ow, int oh, ditc_resample filter, uint8_t *dst_rgb);

// Test hook: selects the vertical-pass row kernel for the whole process (0: generic vector code, 1: SSE2
// pmaddwd; the default depends on the build's ISA). Non-zero when that kernel is not built here.
int ditc_resize_use_kernel(int which);

#endif

// png_io.h — the one float → uint8 pixel conversion of ditc (sample_ddp.py's), PNG output of image grids in
// torchvision's save_image layout, and a small RGB reader (used by tests).
#ifndef DITC_PNG_IO_H
#define DITC_PNG_IO_H

#include "common.h"

// A sample value in [-1, 1] → a byte, exactly as facebookresearch/DiT's sample_ddp.py (the ADM .npz batches):
// torch.clamp(127.5 * x + 128.0, 0, 255).to(torch.uint8) — a float32 multiply, a float32 add (never fused: the
// build has -ffp-contract=off), the clamp, truncation; NaN → 0. The PNG grid and the .npz writer
// (core/run/sample_npz.c) both use it, so a sample's pixels are the same bytes in either.
static inline unsigned char ditc_pixel_u8(float v) {
    float t = 127.5f * v;
    t = t + 128.0f;
    if (!(t > 0.0f)) return 0; // also NaN
    return t >= 255.0f ? 255 : (unsigned char)t;
}

// One image (c, h, w) float, c in {1, 3} → (h, w, 3) bytes by ditc_pixel_u8 (one channel replicated to RGB).
void ditc_image_to_hwc_u8(const float *chw, int c, int h, int w, unsigned char *hwc);

// Writes imgs (n, c, h, w) float, c in {1, 3}, as an 8-bit RGB PNG in the layout of torchvision's
// save_image(imgs, path, nrow=nrow, normalize=True, value_range=(-1, 1)) (padding 2, pad value 0):
//   * n == 1: the image alone (h x w, no border), as make_grid returns a single image unpadded;
//   * n >= 2: xmaps = min(nrow, n) columns, ymaps = ceil(n / xmaps) rows, canvas
//     (ymaps*(h+2)+2) x (xmaps*(w+2)+2) filled with 0, image k at row k / xmaps, column k % xmaps, its top
//     left corner at (2 + row*(h+2), 2 + col*(w+2)); unused cells stay 0;
//   * single-channel images are replicated to RGB; each value becomes ditc_pixel_u8(v) (sample_ddp.py's
//     formula). save_image's own mapping, (clamp(v, -1, 1) + 1) / 2 · 255 + 0.5 truncated, is the same real
//     number but rounds differently in float32 for about 4 values in 10^6 (one level apart); ditc uses the
//     evaluation formula for both outputs so that the grid and the .npz agree byte for byte.
// The file is written atomically (temporary file in the same directory + rename). Returns 0, or non-zero
// with st naming the path.
int ditc_png_write_grid(const char *path, const float *imgs, int n, int c, int h, int w, int nrow, ditc_status *st);

// Writes 8-bit RGB pixels (width*height*3 bytes, row-major) as a PNG, atomically like the grid.
int ditc_png_write_rgb(const char *path, const unsigned char *rgb, int width, int height, ditc_status *st);

// Reads any PNG as 8-bit RGB (libpng's simplified API converts gray/palette/alpha/16-bit): *rgb is
// malloc'ed (w*h*3 bytes, row-major) and owned by the caller. Returns 0, or non-zero with st naming the path.
int ditc_png_read_rgb(const char *path, unsigned char **rgb, int *w, int *h, ditc_status *st);

#endif

// png_io.h — PNG output of image grids with torchvision's save_image semantics, and a small RGB reader
// (used by tests).
#ifndef DITC_PNG_IO_H
#define DITC_PNG_IO_H

#include "common.h"

// Writes imgs (n, c, h, w) float, c in {1, 3}, as an 8-bit RGB PNG exactly like torchvision's
// save_image(imgs, path, nrow=nrow, normalize=True, value_range=(-1, 1)) (padding 2, pad value 0):
//   * n == 1: the image alone (h x w, no border), as make_grid returns a single image unpadded;
//   * n >= 2: xmaps = min(nrow, n) columns, ymaps = ceil(n / xmaps) rows, canvas
//     (ymaps*(h+2)+2) x (xmaps*(w+2)+2) filled with 0, image k at row k / xmaps, column k % xmaps, its top
//     left corner at (2 + row*(h+2), 2 + col*(w+2)); unused cells stay 0;
//   * single-channel images are replicated to RGB; each value v (float32 math, in this order):
//     v = clamp(v, -1, 1); v = (v + 1) / 2; v = v * 255; v = v + 0.5; byte = (uint8)clamp(v, 0, 255)
//     (truncation); NaN -> 0.
// The file is written atomically (temporary file in the same directory + rename). Returns 0, or non-zero
// with st naming the path.
int ditc_png_write_grid(const char *path, const float *imgs, int n, int c, int h, int w, int nrow, ditc_status *st);

// Writes 8-bit RGB pixels (width*height*3 bytes, row-major) as a PNG, atomically like the grid.
int ditc_png_write_rgb(const char *path, const unsigned char *rgb, int width, int height, ditc_status *st);

// Reads any PNG as 8-bit RGB (libpng's simplified API converts gray/palette/alpha/16-bit): *rgb is
// malloc'ed (w*h*3 bytes, row-major) and owned by the caller. Returns 0, or non-zero with st naming the path.
int ditc_png_read_rgb(const char *path, unsigned char **rgb, int *w, int *h, ditc_status *st);

#endif

// png_io.c — torchvision-layout PNG grid writer and RGB reader on libpng's simplified API
// (png_image_*: no setjmp/longjmp in our code). See png_io.h for the exact grid and value semantics.
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "png_io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define PNG_GRID_PAD   2
#define PNG_MAX_PIXELS ((int64_t)1 << 30) // per image written or read: 3 GiB of RGB at most

void ditc_image_to_hwc_u8(const float *chw, int c, int h, int w, unsigned char *hwc) {
    const size_t plane = (size_t)h * w;
    for (int ch = 0; ch < 3; ch++) {
        const float *src = chw + (size_t)(c == 3 ? ch : 0) * plane;
        for (size_t p = 0; p < plane; p++) hwc[3 * p + (size_t)ch] = ditc_pixel_u8(src[p]);
    }
}

// Canvas geometry of the torchvision grid.
typedef struct {
    int cols, rows, pad;
    int64_t width, height;
} grid_geom;

static grid_geom grid_layout(int n, int h, int w, int nrow) {
    grid_geom g;
    if (n == 1) {
        g = (grid_geom){.cols = 1, .rows = 1, .pad = 0, .width = w, .height = h};
    } else {
        g.cols = nrow < n ? nrow : n;
        g.rows = (n + g.cols - 1) / g.cols;
        g.pad = PNG_GRID_PAD;
        g.width = (int64_t)g.cols * (w + g.pad) + g.pad;
        g.height = (int64_t)g.rows * (h + g.pad) + g.pad;
    }
    return g;
}

// Renders the grid into rgb (height x width x 3, zero-initialised = pad value 0 after the byte mapping).
static void render_grid(unsigned char *rgb, const grid_geom *g, const float *imgs, int n, int c, int h, int w) {
    const size_t plane = (size_t)h * w;
    for (int k = 0; k < n; k++) {
        const int64_t y0 = g->pad + (int64_t)(k / g->cols) * (h + g->pad);
        const int64_t x0 = g->pad + (int64_t)(k % g->cols) * (w + g->pad);
        const float *img = imgs + (size_t)k * c * plane;
        for (int y = 0; y < h; y++) {
            unsigned char *out = rgb + ((size_t)(y0 + y) * g->width + x0) * 3;
            for (int ch = 0; ch < 3; ch++) {
                const float *src = img + (size_t)(c == 3 ? ch : 0) * plane + (size_t)y * w;
                for (int x = 0; x < w; x++) out[3 * x + ch] = ditc_pixel_u8(src[x]);
            }
        }
    }
}

// Creates "<path>.tmp.<pid>.<k>" exclusively (mode 0666 less the umask, like a plain fopen); *tmp is
// malloc'ed. Returns the open stream, or NULL with st set.
static FILE *create_temp(const char *path, char **tmp, ditc_status *st) {
    static atomic_uint counter;
    size_t cap = strlen(path) + 64;
    *tmp = ditc_xmalloc(cap);
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(*tmp, cap, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1u));
        int fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0) break;
        FILE *f = fdopen(fd, "wb");
        if (f) return f;
        close(fd);
        unlink(*tmp);
        break;
    }
    ditc_fail(st, DITC_ERR_IO, "PNG %s: cannot create the temporary file %s: %s", path, *tmp, strerror(errno));
    free(*tmp);
    *tmp = NULL;
    return NULL;
}

// Encodes rgb to a temporary file next to `path`, then renames it over `path`.
int ditc_png_write_rgb(const char *path, const unsigned char *rgb, int width, int height, ditc_status *st) {
    char *tmp;
    FILE *f = create_temp(path, &tmp, st);
    if (!f) return st ? st->code : DITC_ERR_IO;
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)width;
    img.height = (png_uint_32)height;
    img.format = PNG_FORMAT_RGB;
    int ok = png_image_write_to_stdio(&img, f, 0, rgb, (png_int_32)width * 3, NULL);
    char why[sizeof img.message + 64];
    snprintf(why, sizeof why, "%s", ok ? "" : img.message);
    png_image_free(&img);
    if (ok && fflush(f) != 0) {
        ok = 0;
        snprintf(why, sizeof why, "%s", strerror(errno));
    }
    if (ok && fsync(fileno(f)) != 0) {
        ok = 0;
        snprintf(why, sizeof why, "%s", strerror(errno));
    }
    if (fclose(f) != 0 && ok) {
        ok = 0;
        snprintf(why, sizeof why, "%s", strerror(errno));
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        snprintf(why, sizeof why, "rename from %s failed: %s", tmp, strerror(errno));
    }
    if (!ok) unlink(tmp);
    free(tmp);
    return ok ? 0 : ditc_fail(st, DITC_ERR_IO, "PNG %s: write failed: %s", path, why);
}

int ditc_png_write_grid(const char *path, const float *imgs, int n, int c, int h, int w, int nrow, ditc_status *st) {
    DITC_CHECK(path != NULL && imgs != NULL, "png_write_grid with NULL arguments");
    ditc_status_ok(st);
    if (n < 1 || (c != 1 && c != 3) || h < 1 || w < 1 || nrow < 1)
        return ditc_fail(st, DITC_ERR_ARG,
                         "PNG %s: cannot write %d images of %dx%dx%d with nrow %d (need n >= 1, "
                         "c in {1, 3}, h, w, nrow >= 1)",
                         path, n, c, h, w, nrow);
    grid_geom g = grid_layout(n, h, w, nrow);
    if (g.width * 3 > INT32_MAX || g.width * g.height > PNG_MAX_PIXELS)
        return ditc_fail(st, DITC_ERR_ARG, "PNG %s: a grid of %d images of %dx%d with nrow %d is too large", path, n, h,
                         w, nrow);
    unsigned char *rgb = ditc_xcalloc((size_t)g.width * g.height, 3);
    render_grid(rgb, &g, imgs, n, c, h, w);
    int rc = ditc_png_write_rgb(path, rgb, (int)g.width, (int)g.height, st);
    free(rgb);
    return rc;
}

int ditc_png_read_rgb(const char *path, unsigned char **rgb, int *w, int *h, ditc_status *st) {
    DITC_CHECK(path != NULL && rgb != NULL && w != NULL && h != NULL, "png_read_rgb with NULL arguments");
    *rgb = NULL;
    ditc_status_ok(st);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) {
        int rc = ditc_fail(st, DITC_ERR_FORMAT, "PNG %s: cannot read: %s", path, img.message);
        png_image_free(&img);
        return rc;
    }
    if ((int64_t)img.width * 3 > INT32_MAX || (int64_t)img.width * img.height > PNG_MAX_PIXELS) {
        int rc = ditc_fail(st, DITC_ERR_FORMAT, "PNG %s: %ux%u is too large", path, img.width, img.height);
        png_image_free(&img);
        return rc;
    }
    img.format = PNG_FORMAT_RGB;
    unsigned char *buf = ditc_xmalloc((size_t)img.width * img.height * 3);
    if (!png_image_finish_read(&img, NULL, buf, (png_int_32)img.width * 3, NULL)) {
        int rc = ditc_fail(st, DITC_ERR_FORMAT, "PNG %s: cannot decode: %s", path, img.message);
        png_image_free(&img);
        free(buf);
        return rc;
    }
    *rgb = buf;
    *w = (int)img.width;
    *h = (int)img.height;
    png_image_free(&img);
    return 0;
}

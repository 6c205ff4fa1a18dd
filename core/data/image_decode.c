// image_decode.c — JPEG (libjpeg-turbo) and PNG (libpng) files to 8-bit RGB, pixel for pixel what Pillow 9.4's
// Image.open(path).convert("RGB") returns (shared/spec/data.md):
//  * JPEG: libjpeg defaults (islow IDCT, fancy upsampling); 1 component → gray replicated, 3 → libjpeg's RGB,
//    4 (CMYK or YCCK) → libjpeg's CMYK read with Adobe (inverted) polarity, then Pillow's cmyk2rgb.
//    Warnings are ignored as Pillow does, except running out of data before the last scanline ("image file is
//    truncated" in Pillow).
//  * PNG: raw samples (no libpng transforms; gamma/sRGB/iCCP/sBIT/tRNS/bKGD ignored) mapped as Pillow's modes:
//    1-bit gray → 0/255, 2/4-bit gray × 85/17, 16-bit gray is mode I and convert("RGB") clips it to 255,
//    16-bit channels keep their high byte, alpha is dropped, palette indices past PLTE map to (i, i, i).
//    Like Pillow: checksums of chunks before the image data are verified, IDAT checksums are not, anything
//    after the last image row (IEND, trailing chunks, even a truncated IDAT checksum) does not matter, and a
//    compressed stream that ends early but cleanly leaves zero rows (non-interlaced images).
// Errors come back as a ditc_status naming the file; libjpeg/libpng never print and never exit.
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jerror.h>
#include <jpeglib.h>

#include "image_internal.h"

#define MAX_PIXELS ((int64_t)1 << 28)

// ---- helpers -------------------------------------------------------------------------------------------

// Names a non-JPEG/PNG format from its first bytes (for the "unsupported format" message), or NULL.
static const char *sniff_other_format(const uint8_t *d, size_t n) {
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "GIF";
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return "WebP";
    if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4))) return "TIFF";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "BMP";
    if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7' &&
        (d[2] == ' ' || d[2] == '\n' || d[2] == '\r' || d[2] == '\t'))
        return "PNM (PPM/PGM/PBM)";
    if (n >= 12 && !memcmp(d, "\0\0\0\x0cjP  ", 8)) return "JPEG 2000";
    if (n >= 12 && !memcmp(d + 4, "ftyp", 4)) return "HEIF/AVIF";
    if (n >= 4 && !memcmp(d, "qoif", 4)) return "QOI";
    if (n >= 4 && !memcmp(d, "8BPS", 4)) return "PSD";
    if (n >= 4 && !memcmp(d, "\0\0\1\0", 4)) return "ICO";
    return NULL;
}

static void alloc_rgb(ditc_image *img, int w, int h) {
    img->w = w;
    img->h = h;
    img->rgb = ditc_xmalloc((size_t)w * (size_t)h * 3);
}

static int check_dims(const char *label, int64_t w, int64_t h, const char *fmt, ditc_status *st) {
    if (w <= 0 || h <= 0)
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: corrupt %s: image size %lldx%lld", label, fmt, (long long)w,
                         (long long)h);
    if (w * h > MAX_PIXELS)
        return ditc_fail(st, DITC_ERR_UNSUPPORTED,
                         "%s: %s of %lldx%lld pixels is too large (ditc decodes at most 2^28 pixels)", label, fmt,
                         (long long)w, (long long)h);
    return 0;
}

// ---- JPEG ----------------------------------------------------------------------------------------------

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    int eof; // libjpeg ran out of data and inserted a fake EOI
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

typedef struct {
    struct jpeg_decompress_struct ci;
    jpeg_err err;
    ditc_image *img;
    uint8_t *row;           // (output_width, 4) scanline for gray/CMYK
    ditc_jpeg_want_fn want; // NULL: the whole image
    void *want_ctx;
    int scratch_slot;      // >= 0: pixels in that scratch buffer; else malloc
    ditc_image_window got; // region img holds
} jpeg_ctx;

static void jpeg_on_error(j_common_ptr ci) {
    jpeg_err *e = (jpeg_err *)ci->err;
    (*ci->err->format_message)(ci, e->msg);
    longjmp(e->jb, 1);
}

// Warnings (level -1) are ignored as in Pillow except premature end of data; trace messages are dropped.
static void jpeg_on_message(j_common_ptr ci, int level) {
    jpeg_err *e = (jpeg_err *)ci->err;
    if (level < 0 && ci->err->msg_code == JWRN_JPEG_EOF && !e->eof) {
        e->eof = 1;
        (*ci->err->format_message)(ci, e->msg);
    }
}

static void jpeg_no_output(j_common_ptr ci) { (void)ci; }

// Pillow's "CMYK;I" unpack (inversion) followed by cmyk2rgb: out = clip(nk - nk·c/255) with nk = 255 - k.
static inline uint8_t cmyk_channel(int c, int nk) {
    int t = c * nk + 128;
    int v = nk - (((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

// One decoded scanline (w pixels of ncomp bytes) to RGB.
static void jpeg_row_to_rgb(const uint8_t *in, int ncomp, int w, uint8_t *out) {
    if (ncomp == 1) {
        for (int x = 0; x < w; x++) out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[x];
    } else {
        for (int x = 0; x < w; x++) {
            const uint8_t *p = in + 4 * x;
            int nk = p[3]; // 255 - (255 - k): the file's k is inverted (Adobe polarity)
            out[3 * x + 0] = cmyk_channel(255 - p[0], nk);
            out[3 * x + 1] = cmyk_channel(255 - p[1], nk);
            out[3 * x + 2] = cmyk_channel(255 - p[2], nk);
        }
    }
}

// Decodes scanlines [y0, y1) of the (possibly column-cropped) output into img rows 0.. (after skipping the
// rows above y0); 3-component rows go straight into img, 16 a call.
static void jpeg_read_rows(jpeg_ctx *c, int y0, int y1) {
    struct jpeg_decompress_struct *ci = &c->ci;
    const int ncomp = ci->output_components, w = (int)ci->output_width;
    if (y0 > 0) jpeg_skip_scanlines(ci, (JDIMENSION)y0);
    while ((int)ci->output_scanline < y1) {
        int y = (int)ci->output_scanline;
        uint8_t *dst = c->img->rgb + (size_t)(y - y0) * (size_t)w * 3;
        if (ncomp == 3) {
            JSAMPROW rows[16];
            int n = y1 - y < 16 ? y1 - y : 16;
            for (int i = 0; i < n; i++) rows[i] = dst + (size_t)i * (size_t)w * 3;
            jpeg_read_scanlines(ci, rows, (JDIMENSION)n);
        } else {
            JSAMPROW row = c->row;
            jpeg_read_scanlines(ci, &row, 1);
            jpeg_row_to_rgb(c->row, ncomp, w, dst);
        }
        if (c->err.eof) longjmp(c->err.jb, 1); // out of data before the last needed row: truncated
    }
}

// Stopping before the last scanline must not hide a truncated file (Pillow decodes every scanline and fails
// when the data runs out): accept when an EOI marker follows (entropy-coded data never contains FF D9),
// otherwise entropy-decode the remaining rows and fail if the data runs out.
static void jpeg_check_rest(jpeg_ctx *c) {
    struct jpeg_decompress_struct *ci = &c->ci;
    if (ci->output_scanline >= ci->output_height || ci->unread_marker == 0xD9) return;
    const uint8_t *p = ci->src->next_input_byte, *end = p + ci->src->bytes_in_buffer;
    while (p + 1 < end && (p = memchr(p, 0xFF, (size_t)(end - p - 1))) != NULL) {
        if (p[1] == 0xD9) return;
        p++;
    }
    // (skipping to the very end only moves the counter, so skip to the last row and decode that one)
    if (ci->output_height - ci->output_scanline > 1)
        jpeg_skip_scanlines(ci, ci->output_height - 1 - ci->output_scanline);
    if (!c->row) c->row = ditc_xmalloc((size_t)ci->output_width * 4);
    JSAMPROW row = c->row;
    jpeg_read_scanlines(ci, &row, 1);
    if (c->err.eof) longjmp(c->err.jb, 1);
}

// Everything that may longjmp; c is owned by the caller, so nothing here needs to be volatile.
static int jpeg_decode_inner(jpeg_ctx *c, const uint8_t *data, size_t n, const char *label, ditc_status *st) {
    struct jpeg_decompress_struct *ci = &c->ci;
    if (setjmp(c->err.jb)) return 1;
    jpeg_create_decompress(ci);
    jpeg_mem_src(ci, data, (unsigned long)n);
    jpeg_read_header(ci, TRUE);
    const int W = (int)ci->image_width, H = (int)ci->image_height;
    if (check_dims(label, W, H, "JPEG", st)) return 2;
    switch (ci->num_components) {
    case 1: ci->out_color_space = JCS_GRAYSCALE; break;
    case 3: ci->out_color_space = JCS_RGB; break;
    case 4: ci->out_color_space = JCS_CMYK; break;
    default:
        ditc_fail(st, DITC_ERR_UNSUPPORTED, "%s: unsupported JPEG with %d components (Pillow handles 1, 3, 4)", label,
                  ci->num_components);
        return 2;
    }
    ditc_image_window want = {0, 0, W, H};
    if (c->want && c->want(W, H, c->want_ctx, &want, st)) return 2;
    DITC_CHECK(want.x0 >= 0 && want.y0 >= 0 && want.x1 <= W && want.y1 <= H && want.x1 > want.x0 && want.y1 > want.y0,
               "JPEG window [%d,%d)x[%d,%d) of %dx%d", want.x0, want.x1, want.y0, want.y1, W, H);
    jpeg_start_decompress(ci);
    // Fancy upsampling treats the edges of a cropped/skipped region as image edges, so decode one iMCU more on
    // each side than wanted: the wanted pixels then equal those of the full decode.
    const int mx = ci->max_h_samp_factor * DCTSIZE, my = ci->max_v_samp_factor * DCTSIZE;
    int dx0 = want.x0 - mx > 0 ? want.x0 - mx : 0, dx1 = want.x1 + mx < W ? want.x1 + mx : W;
    int dy0 = want.y0 - my > 0 ? want.y0 - my : 0;
    JDIMENSION xo = 0;
    if (dx1 - dx0 < W) {
        JDIMENSION cw = (JDIMENSION)(dx1 - dx0);
        xo = (JDIMENSION)dx0;
        jpeg_crop_scanline(ci, &xo, &cw); // widens to iMCU column boundaries: xo <= dx0
    }
    c->got = (ditc_image_window){(int)xo, dy0, (int)xo + (int)ci->output_width, want.y1};
    int gw = c->got.x1 - c->got.x0, gh = c->got.y1 - c->got.y0;
    if (ci->output_components != 3) c->row = ditc_xmalloc((size_t)ci->output_width * 4); // gray/CMYK scanline
    if (c->scratch_slot >= 0)
        *c->img = (ditc_image){gw, gh, ditc_image_scratch(c->scratch_slot, (size_t)gw * (size_t)gh * 3)};
    else alloc_rgb(c->img, gw, gh);
    jpeg_read_rows(c, dy0, want.y1);
    jpeg_check_rest(c);
    return 0;
}

static int decode_jpeg(const uint8_t *data, size_t n, const char *label, ditc_jpeg_want_fn want, void *want_ctx,
                       int scratch_slot, ditc_image *img, ditc_image_window *got, ditc_status *st) {
    jpeg_ctx c;
    memset(&c, 0, sizeof c);
    c.img = img;
    c.want = want;
    c.want_ctx = want_ctx;
    c.scratch_slot = scratch_slot;
    c.ci.err = jpeg_std_error(&c.err.pub);
    c.err.pub.error_exit = jpeg_on_error;
    c.err.pub.emit_message = jpeg_on_message;
    c.err.pub.output_message = jpeg_no_output;
    int rc = jpeg_decode_inner(&c, data, n, label, st);
    jpeg_destroy_decompress(&c.ci); // also fine mid-decompression; never reads past the last scanline
    free(c.row);
    if (got) *got = c.got;
    if (rc == 0) return 0;
    if (scratch_slot >= 0) *img = (ditc_image){0, 0, NULL};
    else ditc_image_free(img);
    int code = c.err.pub.msg_code;
    if (rc == 1 && (code == JERR_BAD_PRECISION || code == JERR_NOT_COMPILED || code == JERR_ARITH_NOTIMPL))
        return ditc_fail(st, DITC_ERR_UNSUPPORTED, "%s: unsupported JPEG: %s", label, c.err.msg);
    if (rc == 1) return ditc_fail(st, DITC_ERR_FORMAT, "%s: truncated or corrupt JPEG: %s", label, c.err.msg);
    return st ? st->code : DITC_ERR_FORMAT;
}

int ditc_jpeg_decode_region(const uint8_t *data, size_t n, const char *label, ditc_jpeg_want_fn want, void *ctx,
                            int scratch_slot, ditc_image *img, ditc_image_window *got, ditc_status *st) {
    ditc_status_ok(st);
    img->w = img->h = 0;
    img->rgb = NULL;
    return decode_jpeg(data, n, label, want, ctx, scratch_slot, img, got, st);
}

// ---- PNG -----------------------------------------------------------------------------------------------

typedef struct {
    png_structp png;
    png_infop info;
    const char *label;
    ditc_status *st;
    ditc_image *img;
    int color_type, bit_depth, interlaced, w, h;
    size_t rowbytes;
    uint8_t *raw;         // interlaced: (h, rowbytes) raw samples assembled by libpng
    uint8_t pal[256 * 3]; // palette lookup, entries past PLTE = (i, i, i) as Pillow's ImagingPaletteNew
    int rows_done;        // rows of the final image written to img
    int saw_end;          // libpng reached IEND
    int failed;           // a check in a callback already set st
    char msg[256];        // libpng's error
    char warning[256];    // libpng's last warning (e.g. a zlib error it treats as benign)
} png_ctx;

static void png_on_error(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    if (strlen(msg) > 12 && msg[4] == ':' && !strncmp(msg, msg + 6, 6)) msg += 6; // "IDAT: IDAT: ..." → once
    snprintf(c->warning, sizeof c->warning, "%s", msg);
}

static inline int be16(const uint8_t *p) { return (p[0] << 8) | p[1]; }

// One raw PNG row (no transforms) to RGB as Pillow's rawmode unpack + convert("RGB").
static void png_row_to_rgb(const png_ctx *c, const uint8_t *in, uint8_t *out) {
    int w = c->w, bd = c->bit_depth;
    switch (c->color_type) {
    case PNG_COLOR_TYPE_GRAY:
        for (int x = 0; x < w; x++) {
            int v;
            if (bd == 16) {
                v = be16(in + 2 * x);
                v = v > 255 ? 255 : v;
            } // mode I → RGB clips
            else if (bd == 8)
                v = in[x];
            else {
                int per = 8 / bd, shift = 8 - bd * (x % per + 1);
                v = (in[x / per] >> shift) & ((1 << bd) - 1);
                v = bd == 1 ? v * 255 : bd == 2 ? v * 0x55 : v * 0x11;
            }
            out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = (uint8_t)v;
        }
        break;
    case PNG_COLOR_TYPE_PALETTE:
        for (int x = 0; x < w; x++) {
            int per = 8 / bd, shift = 8 - bd * (x % per + 1);
            int i = bd == 8 ? in[x] : (in[x / per] >> shift) & ((1 << bd) - 1);
            memcpy(out + 3 * x, c->pal + 3 * i, 3);
        }
        break;
    case PNG_COLOR_TYPE_RGB:
        if (bd == 8) memcpy(out, in, (size_t)w * 3);
        else
            for (int x = 0; x < 3 * w; x++) out[x] = in[2 * x];
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: {
        int step = bd == 8 ? 2 : 4;
        for (int x = 0; x < w; x++) out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[step * x];
        break;
    }
    case PNG_COLOR_TYPE_RGB_ALPHA: {
        int b = bd / 8; // bytes per sample; the high byte comes first
        for (int x = 0; x < w; x++)
            for (int k = 0; k < 3; k++) out[3 * x + k] = in[(4 * x + k) * b];
        break;
    }
    }
}

static void png_on_info(png_structp png, png_infop info) {
    png_ctx *c = png_get_progressive_ptr(png);
    png_uint_32 w, h;
    int interlace;
    png_get_IHDR(png, info, &w, &h, &c->bit_depth, &c->color_type, &interlace, NULL, NULL);
    if (check_dims(c->label, (int64_t)w, (int64_t)h, "PNG", c->st)) {
        c->failed = 1;
        png_error(png, "size");
    }
    c->w = (int)w;
    c->h = (int)h;
    c->interlaced = interlace != PNG_INTERLACE_NONE;
    for (int i = 0; i < 256; i++) c->pal[3 * i] = c->pal[3 * i + 1] = c->pal[3 * i + 2] = (uint8_t)i;
    png_colorp plte;
    int nplte = 0;
    if (c->color_type == PNG_COLOR_TYPE_PALETTE && png_get_PLTE(png, info, &plte, &nplte) == PNG_INFO_PLTE)
        for (int i = 0; i < nplte && i < 256; i++) {
            c->pal[3 * i] = plte[i].red, c->pal[3 * i + 1] = plte[i].green, c->pal[3 * i + 2] = plte[i].blue;
        }
    if (c->interlaced) png_set_interlace_handling(png);
    png_read_update_info(png, info);
    c->rowbytes = png_get_rowbytes(png, info);
    // Pillow never checks the IDAT checksums (and stops caring once the last row is decoded).
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
    alloc_rgb(c->img, c->w, c->h);
    if (c->interlaced) c->raw = ditc_xcalloc((size_t)c->h, c->rowbytes);
}

static void png_on_row(png_structp png, png_bytep row, png_uint_32 y, int pass) {
    png_ctx *c = png_get_progressive_ptr(png);
    if ((int)y >= c->h) return;
    if (!c->interlaced) {
        if (!row) return;
        png_row_to_rgb(c, row, c->img->rgb + (size_t)y * (size_t)c->w * 3);
        c->rows_done = (int)y + 1;
        return;
    }
    // With interlace handling libpng reports every image row in every pass (row NULL where the pass has no
    // pixels); the image is complete after row h-1 of pass 6.
    if (row) png_progressive_combine_row(png, c->raw + (size_t)y * c->rowbytes, row);
    if (pass == 6 && (int)y == c->h - 1) c->rows_done = c->h;
}

static void png_on_end(png_structp png, png_infop info) {
    (void)info;
    ((png_ctx *)png_get_progressive_ptr(png))->saw_end = 1;
}

// Keep libpng from parsing ancillary chunks ditc ignores (their checksums are still verified).
static void png_skip_ancillary(png_structp png) {
    static const png_byte names[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0sBIT\0sCAL\0"
                                    "sPLT\0sRGB\0tEXt\0tIME\0tRNS\0zTXt\0";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, names, (int)(sizeof names / 5));
}

static int png_decode_inner(png_ctx *c, const uint8_t *data, size_t n) {
    if (setjmp(png_jmpbuf(c->png))) return 1;
    png_set_progressive_read_fn(c->png, c, png_on_info, png_on_row, png_on_end);
    png_set_crc_action(c->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT); // as Pillow before the image data
    png_set_user_limits(c->png, 0x7fffffff, 0x7fffffff);                // check_dims decides
    png_set_chunk_malloc_max(c->png, 0);
    png_set_check_for_invalid_index(c->png, 0); // Pillow maps indices past PLTE to gray; not an error
    png_set_benign_errors(c->png, 1);
    png_skip_ancillary(c->png);
    png_process_data(c->png, c->info, (png_bytep)(uintptr_t)data, n);
    return 0;
}

// After libpng finished (or stopped): did every row of the final image arrive? Interlaced rows are converted
// only now, once all passes are in. Like Pillow, a non-interlaced image whose compressed stream ends early but
// cleanly (IEND reached, no error or warning) keeps its missing rows as zero samples.
static int png_all_rows(png_ctx *c, int err) {
    if (c->w == 0 || !c->img->rgb) return 0;
    if (c->rows_done < c->h && !c->interlaced && c->saw_end && !err && !c->warning[0]) {
        uint8_t *zero = ditc_xcalloc(1, c->rowbytes);
        for (int y = c->rows_done; y < c->h; y++) png_row_to_rgb(c, zero, c->img->rgb + (size_t)y * (size_t)c->w * 3);
        free(zero);
        c->rows_done = c->h;
    }
    if (c->rows_done < c->h) return 0;
    if (c->interlaced)
        for (int y = 0; y < c->h; y++)
            png_row_to_rgb(c, c->raw + (size_t)y * c->rowbytes, c->img->rgb + (size_t)y * (size_t)c->w * 3);
    return 1;
}

static int decode_png(const uint8_t *data, size_t n, const char *label, ditc_image *img, ditc_status *st) {
    png_ctx c;
    memset(&c, 0, sizeof c);
    c.label = label;
    c.st = st;
    c.img = img;
    c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_on_error, png_on_warning);
    DITC_ALLOC_CHECK(c.png, sizeof(png_struct *));
    c.info = png_create_info_struct(c.png);
    DITC_ALLOC_CHECK(c.info, sizeof(png_info *));
    int err = png_decode_inner(&c, data, n);
    int ok = !c.failed && png_all_rows(&c, err);
    png_destroy_read_struct(&c.png, &c.info, NULL);
    free(c.raw);
    if (ok) return 0; // an error after the last row (trailing chunks, IDAT checksum, IEND) does not matter
    ditc_image_free(img);
    if (c.failed) return st ? st->code : DITC_ERR_FORMAT;
    if (err) return ditc_fail(st, DITC_ERR_FORMAT, "%s: corrupt PNG: %s", label, c.msg);
    if (c.warning[0])
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: corrupt PNG: %s (image data incomplete)", label, c.warning);
    return ditc_fail(st, DITC_ERR_FORMAT, "%s: corrupt PNG: file is truncated (image data incomplete)", label);
}

// ---- public --------------------------------------------------------------------------------------------

int ditc_image_decode_rgb(const uint8_t *data, size_t n, const char *label, ditc_image *img, ditc_status *st) {
    ditc_status_ok(st);
    img->w = img->h = 0;
    img->rgb = NULL;
    if (n == 0) return ditc_fail(st, DITC_ERR_FORMAT, "%s: empty file", label);
    if (n >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return decode_jpeg(data, n, label, NULL, NULL, -1, img, NULL, st);
    if (n >= 8 && !memcmp(data, "\x89PNG\r\n\x1a\n", 8)) return decode_png(data, n, label, img, st);
    const char *other = sniff_other_format(data, n);
    if (other)
        return ditc_fail(st, DITC_ERR_UNSUPPORTED,
                         "%s: not a JPEG or PNG image (looks like %s; unsupported format; ditc decodes JPEG and PNG)",
                         label, other);
    return ditc_fail(st, DITC_ERR_UNSUPPORTED,
                     "%s: not a JPEG or PNG image (unsupported format; ditc decodes JPEG and PNG)", label);
}

// Reads fd to its end into buf (capacity *cap, realloc'd when it fills up unless fixed): the length, or -1.
static ssize_t read_all_fd(int fd, uint8_t **buf, size_t *cap, int fixed) {
    size_t len = 0;
    for (;;) {
        if (len == *cap) {
            if (fixed) return (ssize_t)len;
            *buf = ditc_xrealloc(*buf, *cap *= 2);
        }
        ssize_t r = read(fd, *buf + len, *cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return (ssize_t)len;
        len += (size_t)r;
    }
}

int ditc_read_file(const char *path, int scratch_slot, uint8_t **data, size_t *n, ditc_status *st) {
    *data = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return ditc_fail(st, DITC_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || S_ISDIR(sb.st_mode)) {
        int e = errno;
        if (e == 0 || S_ISDIR(sb.st_mode)) e = EISDIR;
        close(fd);
        return ditc_fail(st, DITC_ERR_IO, "%s: cannot open (%s)", path, strerror(e));
    }
    ssize_t len = -1;
    if (scratch_slot >= 0 && S_ISREG(sb.st_mode)) { // the usual case: one read into the reused buffer
        size_t cap = (size_t)sb.st_size + 1;
        uint8_t *buf = ditc_image_scratch(scratch_slot, cap);
        len = read_all_fd(fd, &buf, &cap, 1);
        if (len >= 0 && (size_t)len < cap) *data = buf;
        else if (len >= 0 && lseek(fd, 0, SEEK_SET) != 0) len = -1; // the file grew: read it again below
    }
    if (len >= 0 && !*data) {
        size_t cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 65536;
        uint8_t *buf = ditc_xmalloc(cap);
        len = read_all_fd(fd, &buf, &cap, 0);
        if (len >= 0 && scratch_slot >= 0) {
            *data = ditc_image_scratch(scratch_slot, (size_t)len);
            memcpy(*data, buf, (size_t)len);
            free(buf);
        } else if (len >= 0) {
            *data = buf;
        } else {
            free(buf);
        }
    }
    int e = errno;
    close(fd);
    if (len < 0) return ditc_fail(st, DITC_ERR_IO, "%s: cannot read (%s)", path, strerror(e));
    *n = (size_t)len;
    return 0;
}

int ditc_image_load_rgb(const char *path, ditc_image *img, ditc_status *st) {
    uint8_t *data;
    size_t n;
    img->w = img->h = 0;
    img->rgb = NULL;
    int rc = ditc_read_file(path, DITC_SCRATCH_FILE, &data, &n, st);
    if (rc) return rc;
    rc = ditc_image_decode_rgb(data, n, path, img, st);
    ditc_image_scratch_done(DITC_SCRATCH_FILE);
    return rc;
}

void ditc_image_free(ditc_image *img) {
    if (!img) return;
    free(img->rgb);
    img->rgb = NULL;
    img->w = img->h = 0;
}

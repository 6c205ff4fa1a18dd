// test_image_exact.c — ditc's image decoding, resizing and center_crop_arr against Pillow, byte for byte.
//   test_image_exact --prepare DIR   writes DIR/extra/*.jpg with libjpeg (YCCK, CMYK without Adobe marker, RGB
//                                    colour space, restart markers, 4:1:1 and 4:4:0 sampling) for the generator
//   test_image_exact DIR             checks DIR/manifest.txt + expected.bin from tests/reference/pillow_crop.py:
//     crop    ditc_image_load_crop (windowed JPEG decode + windowed resizes) and load_rgb + center_crop_arr
//     rgb     ditc_image_load_rgb == Image.open(p).convert("RGB")
//     resize  ditc_image_resize == Image.resize((w, h), BOX | BICUBIC)
//     bad     load fails (no crash) with a message naming the file and the error class
//   plus self-checks: random windows of JPEG decodes and of resizes equal the same pixels of the full result.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>

#include "image.h"
#include "image_internal.h"
#include "test_check.h"

// ---- --prepare: JPEG variants Pillow cannot write ----------------------------------------------------------

// Deterministic photo-like samples: (h, w, nc).
static uint8_t *synth(int w, int h, int nc, unsigned seed) {
    uint8_t *p = malloc((size_t)w * h * nc);
    unsigned s = seed;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < nc; c++) {
                s = s * 1664525u + 1013904223u;
                int v = (x * (3 + c) + y * (5 - c) + ((x / 9 + y / 7 + c) % 3) * 40) % 256 + (int)(s >> 28) - 8;
                p[((size_t)y * w + x) * nc + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    return p;
}

typedef struct {
    const char *name;
    int w, h, nc;
    J_COLOR_SPACE in_cs, jpeg_cs;
    int adobe;   // write the Adobe APP14 marker
    int h0, v0;  // sampling factors of component 0 (others 1×1); 0 = library default
    int restart; // restart interval in MCU rows (0 = none)
    int progressive;
} jpeg_variant;

static int write_variant(const char *dir, const jpeg_variant *v) {
    char path[8192];
    snprintf(path, sizeof path, "%s/extra/%s", dir, v->name);
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)v->w;
    ci.image_height = (JDIMENSION)v->h;
    ci.input_components = v->nc;
    ci.in_color_space = v->in_cs;
    jpeg_set_defaults(&ci);
    jpeg_set_colorspace(&ci, v->jpeg_cs);
    jpeg_set_quality(&ci, 88, TRUE);
    ci.write_Adobe_marker = v->adobe ? TRUE : FALSE;
    if (v->h0) {
        ci.comp_info[0].h_samp_factor = v->h0;
        ci.comp_info[0].v_samp_factor = v->v0;
        for (int c = 1; c < ci.num_components; c++) ci.comp_info[c].h_samp_factor = ci.comp_info[c].v_samp_factor = 1;
    }
    ci.restart_in_rows = v->restart;
    if (v->progressive) jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    uint8_t *px = synth(v->w, v->h, v->nc, (unsigned)v->w * 31u + (unsigned)v->h);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = px + (size_t)ci.next_scanline * v->w * v->nc;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(px);
    return fclose(f) != 0;
}

static int prepare(const char *dir) {
    static const jpeg_variant v[] = {
        {"ycck_121x83.jpg", 121, 83, 4, JCS_CMYK, JCS_YCCK, 1, 0, 0, 0, 0},
        {"ycck_prog_300x517.jpg", 300, 517, 4, JCS_CMYK, JCS_YCCK, 1, 2, 2, 0, 1},
        {"cmyk_noadobe_90x70.jpg", 90, 70, 4, JCS_CMYK, JCS_CMYK, 0, 0, 0, 0, 0},
        {"rgbspace_64x48.jpg", 64, 48, 3, JCS_RGB, JCS_RGB, 1, 0, 0, 0, 0},
        {"restart_420_333x251.jpg", 333, 251, 3, JCS_RGB, JCS_YCbCr, 0, 2, 2, 1, 0},
        {"s411_407x203.jpg", 407, 203, 3, JCS_RGB, JCS_YCbCr, 0, 4, 1, 0, 0},
        {"s440_203x407.jpg", 203, 407, 3, JCS_RGB, JCS_YCbCr, 0, 1, 2, 0, 0},
        {"s420_prog_517x300.jpg", 517, 300, 3, JCS_RGB, JCS_YCbCr, 0, 2, 2, 0, 1},
        {"gray_restart_301x155.jpg", 301, 155, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 0, 0, 0, 2, 0},
    };
    char path[8192];
    snprintf(path, sizeof path, "%s/extra", dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return 1;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (write_variant(dir, &v[i])) {
            fprintf(stderr, "cannot write %s/extra/%s\n", dir, v[i].name);
            return 1;
        }
    return 0;
}

// ---- comparisons --------------------------------------------------------------------------------------------

// dir + "/" + file in a static buffer (file names come from the manifest, %4095s).
static const char *join(const char *dir, const char *file) {
    static char buf[2][8192];
    static int k;
    k ^= 1;
    int n = snprintf(buf[k], sizeof buf[k], "%s/%s", dir, file);
    if (n < 0 || n >= (int)sizeof buf[k]) {
        fprintf(stderr, "path too long: %s/%s\n", dir, file);
        exit(2);
    }
    return buf[k];
}

static uint8_t *g_expected;
static size_t g_expected_n;

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(len > 0 ? (size_t)len : 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

// Compares n bytes of an (h, w, 3) HWC or (3, S, S) CHW array; prints the first difference. 1 = equal.
static int same(const char *what, const uint8_t *got, size_t off, size_t n, int chw, int w, int h) {
    if (off + n > g_expected_n) {
        printf("  %s: expected.bin too short\n", what);
        return 0;
    }
    const uint8_t *want = g_expected + off;
    size_t diff = 0, first = n;
    int maxd = 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            if (first == n) first = i;
            diff++;
            int d = abs((int)got[i] - (int)want[i]);
            maxd = d > maxd ? d : maxd;
        }
    if (!diff) return 1;
    int c, y, x;
    if (chw) c = (int)(first / ((size_t)w * h)), y = (int)(first / w % h), x = (int)(first % w);
    else c = (int)(first % 3), x = (int)(first / 3 % w), y = (int)(first / 3 / w);
    printf("  %s: %zu of %zu bytes differ (max |diff| %d); first at channel %d y %d x %d: ditc %d, Pillow %d\n", what,
           diff, n, maxd, c, y, x, got[first], want[first]);
    return 0;
}

static int check_crop(const char *dir, const char *file, int S, size_t off) {
    char what[4200];
    const char *path = join(dir, file);
    size_t n = (size_t)3 * S * S;
    uint8_t *out = malloc(n);
    ditc_status st;
    int ok = 1;
    snprintf(what, sizeof what, "%s crop S=%d (load_crop)", file, S);
    if (ditc_image_load_crop(path, S, out, &st)) {
        printf("  %s: %s\n", what, st.message);
        ok = 0;
    } else {
        ok &= same(what, out, off, n, 1, S, S);
    }
    ditc_image img;
    snprintf(what, sizeof what, "%s crop S=%d (load_rgb + center_crop_arr)", file, S);
    if (ditc_image_load_rgb(path, &img, &st)) {
        printf("  %s: %s\n", what, st.message);
        ok = 0;
    } else {
        memset(out, 0, n);
        ditc_center_crop_arr(&img, S, out);
        ok &= same(what, out, off, n, 1, S, S);
        ditc_image_free(&img);
    }
    free(out);
    return ok;
}

static int check_rgb(const char *dir, const char *file, int w, int h, size_t off) {
    const char *path = join(dir, file);
    ditc_image img;
    ditc_status st;
    if (ditc_image_load_rgb(path, &img, &st)) {
        printf("  %s: %s\n", file, st.message);
        return 0;
    }
    int ok = img.w == w && img.h == h;
    if (!ok) printf("  %s: size %dx%d, Pillow %dx%d\n", file, img.w, img.h, w, h);
    else ok = same(file, img.rgb, off, (size_t)w * h * 3, 0, w, h);
    ditc_image_free(&img);
    return ok;
}

static int check_resize(const char *dir, const char *file, int w, int h, const char *filt, size_t off) {
    char what[4200];
    const char *path = join(dir, file);
    snprintf(what, sizeof what, "%s resize %dx%d %s", file, w, h, filt);
    ditc_image img, r;
    ditc_status st;
    if (ditc_image_load_rgb(path, &img, &st)) {
        printf("  %s: %s\n", what, st.message);
        return 0;
    }
    ditc_image_resize(&img, w, h, strcmp(filt, "box") == 0 ? DITC_RESAMPLE_BOX : DITC_RESAMPLE_BICUBIC, &r);
    int ok = r.w == w && r.h == h && same(what, r.rgb, off, (size_t)w * h * 3, 0, w, h);
    ditc_image_free(&img);
    ditc_image_free(&r);
    return ok;
}

// The message must name the file and say what class of problem it is.
static int message_ok(const char *msg, const char *path, const char *cls) {
    if (!strstr(msg, path)) return 0;
    if (!strcmp(cls, "empty")) return strstr(msg, "empty file") != NULL;
    if (!strcmp(cls, "cannot_open")) return strstr(msg, "cannot open") != NULL;
    if (!strcmp(cls, "jpeg")) return strstr(msg, "truncated or corrupt JPEG") != NULL;
    if (!strcmp(cls, "png")) return strstr(msg, "corrupt PNG") != NULL;
    if (!strncmp(cls, "unsupported", 11))
        return strstr(msg, "not a JPEG or PNG") && (cls[11] != ':' || strstr(msg, cls + 12));
    return 0;
}

static void check_bad(const char *dir, const char *file, const char *cls) {
    const char *path = join(dir, file);
    ditc_image img;
    ditc_status st;
    int rc = ditc_image_load_rgb(path, &img, &st);
    int ok = rc != 0 && img.rgb == NULL && message_ok(st.message, path, cls);
    uint8_t out[3 * 32 * 32];
    ditc_status st2;
    int rc2 = ditc_image_load_crop(path, 32, out, &st2);
    ok &= rc2 != 0 && message_ok(st2.message, path, cls);
    check(ok, "bad file %s -> %s: \"%s\"", file, cls, rc ? st.message : "(loaded!)");
}

// ---- self-consistency of the windowed paths --------------------------------------------------------------

static unsigned g_rng = 12345u;
static int rnd(int n) {
    g_rng = g_rng * 1103515245u + 12345u;
    return (int)((g_rng >> 8) % (unsigned)n);
}

static int fixed_window(int W, int H, void *ctx, ditc_image_window *w, ditc_status *st) {
    (void)W, (void)H, (void)st;
    *w = *(const ditc_image_window *)ctx;
    return 0;
}

// Random windows of a JPEG decoded alone equal the same pixels of the full decode.
static int check_jpeg_windows(const char *path) {
    size_t n;
    uint8_t *data = read_all(path, &n);
    ditc_image full, reg;
    ditc_status st;
    int ok = data && ditc_image_decode_rgb(data, n, path, &full, &st) == 0;
    for (int t = 0; ok && t < 40; t++) {
        int x0 = rnd(full.w), y0 = rnd(full.h);
        int x1 = x0 + 1 + rnd(full.w - x0), y1 = y0 + 1 + rnd(full.h - y0);
        ditc_image_window w = {x0, y0, x1, y1}, got;
        if (ditc_jpeg_decode_region(data, n, path, fixed_window, &w, -1, &reg, &got, &st)) {
            printf("  %s window: %s\n", path, st.message);
            ok = 0;
            break;
        }
        if (got.x0 > x0 || got.y0 > y0 || got.x1 < x1 || got.y1 < y1 || reg.w != got.x1 - got.x0 ||
            reg.h != got.y1 - got.y0) {
            printf("  %s: region [%d,%d)x[%d,%d) does not cover the window\n", path, got.x0, got.x1, got.y0, got.y1);
            ok = 0;
        }
        for (int y = y0; y < y1 && ok; y++)
            if (memcmp(reg.rgb + ((size_t)(y - got.y0) * reg.w + (x0 - got.x0)) * 3,
                       full.rgb + ((size_t)y * full.w + x0) * 3, (size_t)(x1 - x0) * 3)) {
                printf("  %s: window [%d,%d)x[%d,%d) differs from the full decode at row %d\n", path, x0, x1, y0, y1,
                       y);
                ok = 0;
            }
        ditc_image_free(&reg);
    }
    if (data && full.rgb) ditc_image_free(&full);
    free(data);
    return ok;
}

// Random output windows of random resizes equal the same pixels of the full resize.
static int check_resize_windows(void) {
    ditc_image src = {53, 37, NULL};
    src.rgb = synth(src.w, src.h, 3, 7);
    int ok = 1;
    for (int t = 0; t < 300 && ok; t++) {
        int ow = 1 + rnd(t % 3 == 0 ? 30 : 140), oh = 1 + rnd(t % 4 == 0 ? 20 : 100);
        if (t % 5 == 0) ow = src.w; // one side unchanged
        if (t % 7 == 0) oh = src.h;
        ditc_resample f = t % 2 ? DITC_RESAMPLE_BOX : DITC_RESAMPLE_BICUBIC;
        if (t % 11 == 0) ow = src.w / 2, oh = src.h / 2, f = DITC_RESAMPLE_BOX;
        ditc_image full, part;
        ditc_image_resize(&src, ow, oh, f, &full);
        int x0 = rnd(ow), y0 = rnd(oh), ww = 1 + rnd(ow - x0), wh = 1 + rnd(oh - y0);
        int sx0, sx1, sy0, sy1;
        ditc_resize_source_range(src.w, ow, f, x0, x0 + ww, &sx0, &sx1);
        ditc_resize_source_range(src.h, oh, f, y0, y0 + wh, &sy0, &sy1);
        ditc_image sub = {sx1 - sx0, sy1 - sy0, malloc((size_t)(sx1 - sx0) * (sy1 - sy0) * 3)};
        for (int y = sy0; y < sy1; y++)
            memcpy(sub.rgb + (size_t)(y - sy0) * sub.w * 3, src.rgb + ((size_t)y * src.w + sx0) * 3, (size_t)sub.w * 3);
        ditc_resize_window(&sub, sx0, sy0, src.w, src.h, ow, oh, x0, y0, ww, wh, f, &part);
        for (int y = 0; y < wh && ok; y++)
            if (memcmp(part.rgb + (size_t)y * ww * 3, full.rgb + ((size_t)(y0 + y) * ow + x0) * 3, (size_t)ww * 3)) {
                printf("  resize 53x37 -> %dx%d %s window %dx%d+%d+%d differs at row %d\n", ow, oh,
                       f == DITC_RESAMPLE_BOX ? "box" : "bicubic", ww, wh, x0, y0, y);
                ok = 0;
            }
        ditc_image_free(&full);
        ditc_image_free(&part);
        free(sub.rgb);
    }
    free(src.rgb);
    return ok;
}

// ---- main ---------------------------------------------------------------------------------------------------

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--prepare")) return prepare(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: test_image_exact [--prepare] CORPUS_DIR (see tests/test_image_exact.sh)\n");
        return 2;
    }
    const char *dir = argv[1];
    g_expected = read_all(join(dir, "expected.bin"), &g_expected_n);
    FILE *mf = fopen(join(dir, "manifest.txt"), "r");
    if (!g_expected || !mf) {
        fprintf(stderr, "test_image_exact: cannot read %s/manifest.txt and expected.bin\n", dir);
        return 2;
    }
    char line[8192], file[4096], cls[256], prev[4096] = "";
    int n_crop = 0, n_rgb = 0, n_resize = 0, file_ok = 1, file_records = 0;
    int crop_fail = 0;
    typedef struct {
        char *file;
        int S;
        size_t off;
    } crop_rec;
    crop_rec *recs = NULL;
    int nrec = 0;
    while (fgets(line, sizeof line, mf)) {
        int S, w, h;
        size_t off;
        char filt[16];
        if (line[0] == '#' || line[0] == '\n') continue;
        char kind[16];
        if (sscanf(line, "%15s %4095s", kind, file) != 2) continue;
        if (strcmp(file, prev) && prev[0]) {
            check(file_ok, "%s: %d records byte-exact with Pillow", prev, file_records);
            file_ok = 1, file_records = 0;
        }
        snprintf(prev, sizeof prev, "%s", file);
        if (!strcmp(kind, "crop") && sscanf(line, "%*s %*s %d %zu", &S, &off) == 2) {
            int ok = check_crop(dir, file, S, off);
            file_ok &= ok, crop_fail += !ok, n_crop++, file_records++;
            recs = realloc(recs, sizeof(crop_rec) * (size_t)(nrec + 1));
            recs[nrec].file = strdup(file);
            recs[nrec].S = S, recs[nrec].off = off, nrec++;
        } else if (!strcmp(kind, "rgb") && sscanf(line, "%*s %*s %d %d %zu", &w, &h, &off) == 3) {
            file_ok &= check_rgb(dir, file, w, h, off), n_rgb++, file_records++;
        } else if (!strcmp(kind, "resize") && sscanf(line, "%*s %*s %d %d %15s %zu", &w, &h, filt, &off) == 4) {
            file_ok &= check_resize(dir, file, w, h, filt, off), n_resize++, file_records++;
        } else if (!strcmp(kind, "bad") && sscanf(line, "%*s %*s %255s", cls) == 1) {
            prev[0] = '\0';
            check_bad(dir, file, cls);
        } else {
            check(0, "manifest line not understood: %s", line);
        }
    }
    if (prev[0]) check(file_ok, "%s: %d records byte-exact with Pillow", prev, file_records);
    fclose(mf);
    check(n_crop > 0, "%d image x S center crops (%d differ), %d full RGB decodes, %d resizes compared", n_crop,
          crop_fail, n_rgb, n_resize);

    // Every crop again with each resampling row kernel built here (the default one is ISA-dependent).
    for (int kern = 0; kern < 2; kern++) {
        if (ditc_resize_use_kernel(kern)) continue;
        int bad = 0;
        for (int i = 0; i < nrec; i++) {
            size_t n = (size_t)3 * recs[i].S * recs[i].S;
            uint8_t *out = malloc(n);
            ditc_status st;
            char what[512];
            snprintf(what, sizeof what, "%s crop S=%d (kernel %d)", recs[i].file, recs[i].S, kern);
            bad += ditc_image_load_crop(join(dir, recs[i].file), recs[i].S, out, &st) ||
                   !same(what, out, recs[i].off, n, 1, recs[i].S, recs[i].S);
            free(out);
        }
        check(bad == 0, "all %d crops byte-exact with resampling kernel %d (%s)", nrec, kern,
              kern ? "SSE2 pmaddwd" : "generic vectors");
    }
    for (int i = 0; i < nrec; i++) free(recs[i].file);
    free(recs);

    // Windowed JPEG decoding on every sampling/progression variant, windowed resizing on random windows.
    static const char *jpegs[] = {"rgb420_500x375.jpg",
                                  "rgb422_301x203.jpg",
                                  "rgb444_203x301.jpg",
                                  "progressive_411x257.jpg",
                                  "gray_120x90.jpg",
                                  "cmyk_33x71.jpg",
                                  "extra/ycck_prog_300x517.jpg",
                                  "extra/s411_407x203.jpg",
                                  "extra/s440_203x407.jpg",
                                  "extra/restart_420_333x251.jpg",
                                  "extra/s420_prog_517x300.jpg"};
    for (size_t i = 0; i < sizeof jpegs / sizeof jpegs[0]; i++) {
        check(check_jpeg_windows(join(dir, jpegs[i])), "random windows of %s decode exactly as the full image",
              jpegs[i]);
    }
    check(check_resize_windows(), "300 random resize windows equal the full resize");
    free(g_expected);
    return check_summary("test_image_exact");
}

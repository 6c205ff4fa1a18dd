// center_crop.c — the ADM / DiT center_crop_arr (guided-diffusion image_datasets.py), bit for bit:
//   while min(W, H) >= 2S: resize to (W//2, H//2) with BOX
//   scale = S / min(W, H) (float64); resize to (round(W·scale), round(H·scale)) with BICUBIC (round: half even)
//   crop S×S at ((W' - S)//2, (H' - S)//2)
// Only the pixels that survive the crop are computed: the crop window is carried back through every resize
// (ditc_resize_source_range), each resize computes just its window (identical to the same pixels of the full
// resize), and a JPEG is decoded only over the source window it needs (whole iMCU columns, skipped rows).
#include <math.h>
#include <string.h>

#include "image_internal.h"

#define MAX_STEPS 40                  // halvings of a side < 2^31 plus the final bicubic
#define MAX_SIDE  ((double)(1 << 30)) // longest side after the bicubic step (logical; only S×S is computed)

typedef struct {
    int n;                                  // resize steps
    int w[MAX_STEPS + 1], h[MAX_STEPS + 1]; // image size before step k (index n: final size)
    ditc_resample f[MAX_STEPS];             // filter of step k
    ditc_image_window win[MAX_STEPS + 1];   // window of the level-k image that is needed
} crop_plan;

// Sizes and filters of the chain, then the windows from the final crop back to the source image. Non-zero
// when the bicubic step would make a side longer than MAX_SIDE (an absurd aspect ratio, e.g. 1×10^8 to 256).
static int crop_plan_make(int W, int H, int S, crop_plan *p) {
    int n = 0, w = W, h = H;
    p->w[0] = w, p->h[0] = h;
    while ((w < h ? w : h) >= 2 * S) {
        w /= 2, h /= 2;
        p->f[n++] = DITC_RESAMPLE_BOX;
        p->w[n] = w, p->h[n] = h;
    }
    double scale = (double)S / (double)(w < h ? w : h);
    if (nearbyint((double)w * scale) > MAX_SIDE || nearbyint((double)h * scale) > MAX_SIDE) return 1;
    p->f[n++] = DITC_RESAMPLE_BICUBIC;
    p->w[n] = (int)nearbyint((double)w * scale);
    p->h[n] = (int)nearbyint((double)h * scale);
    p->n = n;
    DITC_CHECK(p->w[n] >= S && p->h[n] >= S, "center crop %dx%d -> %dx%d < %d", W, H, p->w[n], p->h[n], S);
    int x0 = (p->w[n] - S) / 2, y0 = (p->h[n] - S) / 2;
    p->win[n] = (ditc_image_window){x0, y0, x0 + S, y0 + S};
    for (int k = n - 1; k >= 0; k--) {
        ditc_image_window *o = &p->win[k + 1], *s = &p->win[k];
        ditc_resize_source_range(p->w[k], p->w[k + 1], p->f[k], o->x0, o->x1, &s->x0, &s->x1);
        ditc_resize_source_range(p->h[k], p->h[k + 1], p->f[k], o->y0, o->y1, &s->y0, &s->y1);
    }
    return 0;
}

static int plan_error(const char *label, int W, int H, int S, ditc_status *st) {
    return ditc_fail(st, DITC_ERR_UNSUPPORTED,
                     "%s: a %dx%d image cannot be center-cropped to %d (the upscaled side would exceed 2^30 pixels)",
                     label, W, H, S);
}

// Runs the chain on src, which holds the region of the level-0 image starting at (sx0, sy0) and covering
// win[0]; writes (3, S, S) CHW. Intermediate images live in the STEP0/STEP1 scratch buffers.
static void crop_plan_run(const crop_plan *p, const ditc_image *src, int sx0, int sy0, int S, uint8_t *out_chw) {
    ditc_image cur = *src;
    for (int k = 0; k < p->n; k++) {
        const ditc_image_window *o = &p->win[k + 1];
        int ow = o->x1 - o->x0, oh = o->y1 - o->y0;
        uint8_t *buf = ditc_image_scratch(DITC_SCRATCH_STEP0 + (k & 1), (size_t)ow * (size_t)oh * 3);
        ditc_resize_window_into(&cur, sx0, sy0, p->w[k], p->h[k], p->w[k + 1], p->h[k + 1], o->x0, o->y0, ow, oh,
                                p->f[k], buf);
        cur = (ditc_image){ow, oh, buf};
        sx0 = o->x0, sy0 = o->y0;
    }
    DITC_CHECK(cur.w == S && cur.h == S, "crop produced %dx%d, not %d", cur.w, cur.h, S);
    const size_t plane = (size_t)S * (size_t)S;
    for (size_t i = 0; i < plane; i++) {
        out_chw[i] = cur.rgb[3 * i];
        out_chw[plane + i] = cur.rgb[3 * i + 1];
        out_chw[2 * plane + i] = cur.rgb[3 * i + 2];
    }
    ditc_image_scratch_done(DITC_SCRATCH_STEP0);
    ditc_image_scratch_done(DITC_SCRATCH_STEP1);
}

void ditc_center_crop_arr(const ditc_image *img, int S, uint8_t *out_chw) {
    DITC_CHECK(S > 0 && img->w > 0 && img->h > 0, "center crop of %dx%d to %d", img->w, img->h, S);
    crop_plan p;
    int too_long = crop_plan_make(img->w, img->h, S, &p);
    DITC_CHECK(!too_long, "center crop of %dx%d to %d: aspect ratio too extreme (load_crop reports it)", img->w, img->h,
               S);
    crop_plan_run(&p, img, 0, 0, S, out_chw); // resize_window reads only the part of img it needs
}

typedef struct {
    int S;
    const char *path;
    crop_plan plan;
} crop_want_ctx;

// Called by the JPEG decoder with the image size: plans the chain and asks for the source window it reads.
static int crop_want(int W, int H, void *ctx, ditc_image_window *window, ditc_status *st) {
    crop_want_ctx *c = ctx;
    if (crop_plan_make(W, H, c->S, &c->plan)) return plan_error(c->path, W, H, c->S, st);
    *window = c->plan.win[0];
    return 0;
}

int ditc_image_load_crop(const char *path, int S, uint8_t *out_chw, ditc_status *st) {
    if (S <= 0) return ditc_fail(st, DITC_ERR_ARG, "%s: crop size %d must be positive", path, S);
    uint8_t *data;
    size_t n;
    int rc = ditc_read_file(path, DITC_SCRATCH_FILE, &data, &n, st);
    if (rc) return rc;
    ditc_image img;
    if (n >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        // JPEG: decode only the source window the crop reads, into a reused buffer.
        crop_want_ctx c = {.S = S, .path = path};
        ditc_image_window got;
        rc = ditc_jpeg_decode_region(data, n, path, crop_want, &c, DITC_SCRATCH_DECODED, &img, &got, st);
        if (rc == 0) crop_plan_run(&c.plan, &img, got.x0, got.y0, S, out_chw);
        ditc_image_scratch_done(DITC_SCRATCH_DECODED);
    } else {
        rc = ditc_image_decode_rgb(data, n, path, &img, st);
        crop_plan p;
        if (rc == 0 && crop_plan_make(img.w, img.h, S, &p)) rc = plan_error(path, img.w, img.h, S, st);
        if (rc == 0) crop_plan_run(&p, &img, 0, 0, S, out_chw);
        ditc_image_free(&img);
    }
    ditc_image_scratch_done(DITC_SCRATCH_FILE);
    return rc;
}

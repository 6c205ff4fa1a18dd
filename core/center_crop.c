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

#define MAX_STEPS 40  // halvings of a side < 2^31 plus the final bicubic

typedef struct {
    int n;                                  // resize steps
    int w[MAX_STEPS + 1], h[MAX_STEPS + 1]; // image size before step k (index n: final size)
    ditc_resample f[MAX_STEPS];             // filter of step k
    ditc_image_window win[MAX_STEPS + 1];   // window of the level-k image that is needed
} crop_plan;

// Sizes and filters of the chain, then the windows from the final crop back to the source image.
static void crop_plan_make(int W, int H, int S, crop_plan *p) {
    int n = 0, w = W, h = H;
    p->w[0] = w, p->h[0] = h;
    while ((w < h ? w : h) >= 2 * S) {
        w /= 2, h /= 2;
        p->f[n++] = DITC_RESAMPLE_BOX;
        p->w[n] = w, p->h[n] = h;
    }
    double scale = (double)S / (double)(w < h ? w : h);
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
}

// Runs the chain on src, which holds window win[0] of the level-0 image; writes (3, S, S) CHW.
static void crop_plan_run(const crop_plan *p, const ditc_image *src, int S, uint8_t *out_chw) {
    ditc_image cur = *src, next;
    int owned = 0;
    for (int k = 0; k < p->n; k++) {
        const ditc_image_window *s = &p->win[k], *o = &p->win[k + 1];
        ditc_resize_window(&cur, s->x0, s->y0, p->w[k], p->h[k], p->w[k + 1], p->h[k + 1], o->x0, o->y0,
                           o->x1 - o->x0, o->y1 - o->y0, p->f[k], &next);
        if (owned) ditc_image_free(&cur);
        cur = next;
        owned = 1;
    }
    DITC_CHECK(cur.w == S && cur.h == S, "crop produced %dx%d, not %d", cur.w, cur.h, S);
    const size_t plane = (size_t)S * (size_t)S;
    for (size_t i = 0; i < plane; i++) {
        out_chw[i] = cur.rgb[3 * i];
        out_chw[plane + i] = cur.rgb[3 * i + 1];
        out_chw[2 * plane + i] = cur.rgb[3 * i + 2];
    }
    if (owned) ditc_image_free(&cur);
}

void ditc_center_crop_arr(const ditc_image *img, int S, uint8_t *out_chw) {
    DITC_CHECK(S > 0 && img->w > 0 && img->h > 0, "center crop of %dx%d to %d", img->w, img->h, S);
    crop_plan p;
    crop_plan_make(img->w, img->h, S, &p);
    // img is the whole level-0 image: view it as window (0, 0) — resize_window reads only what it needs.
    ditc_image_window full = {0, 0, img->w, img->h};
    p.win[0] = full;
    crop_plan_run(&p, img, S, out_chw);
}

int ditc_image_load_crop(const char *path, int S, uint8_t *out_chw, ditc_status *st) {
    if (S <= 0) return ditc_fail(st, DITC_ERR_ARG, "%s: crop size %d must be positive", path, S);
    uint8_t *data;
    size_t n;
    int rc = ditc_read_file(path, &data, &n, st);
    if (rc) return rc;
    ditc_image img;
    int W, H;
    if (ditc_jpeg_peek_size(data, n, &W, &H) == 0 && W > 0 && H > 0 && (int64_t)W * H <= ((int64_t)1 << 28)) {
        crop_plan p;
        crop_plan_make(W, H, S, &p);
        rc = ditc_jpeg_decode_window(data, n, path, &p.win[0], &img, st);
        if (rc == 0) crop_plan_run(&p, &img, S, out_chw);
    } else {
        rc = ditc_image_decode_rgb(data, n, path, &img, st);
        if (rc == 0) ditc_center_crop_arr(&img, S, out_chw);
    }
    ditc_image_free(&img);
    free(data);
    return rc;
}

// plot.c — a line chart as a PNG (plot.h): axes, grid, tick labels in a built-in 5x7 pixel font, one curve per
// series on a linear x axis and a log10 (or linear) y axis. No fonts or plotting libraries needed.
#include "plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "png_io.h"

// 5x7 glyphs, one byte per row (bit 4 = leftmost column).
static const struct {
    char c;
    unsigned char rows[7];
} k_font[] = {
    {'0', {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}}, {'1', {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}},
    {'2', {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}}, {'3', {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}},
    {'4', {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}}, {'5', {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}},
    {'6', {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}}, {'7', {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}}, {'9', {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c}}, {'-', {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00}},
    {'e', {0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e}}, {'a', {0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f}},
    {'i', {0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e}}, {'l', {0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}},
    {'n', {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}}, {'o', {0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e}},
    {'p', {0x00, 0x00, 0x1e, 0x11, 0x1e, 0x10, 0x10}}, {'r', {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}},
    {'s', {0x00, 0x00, 0x0e, 0x10, 0x0e, 0x01, 0x1e}}, {'t', {0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06}},
    {'m', {0x00, 0x00, 0x1a, 0x15, 0x15, 0x11, 0x11}}, {'g', {0x00, 0x00, 0x0f, 0x11, 0x0f, 0x01, 0x0e}},
    {'k', {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}}, {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
    {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}}, {',', {0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08}},
    {'/', {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10}}, {'c', {0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e}},
    {'v', {0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04}}, {'w', {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a}},
    {'y', {0x00, 0x00, 0x11, 0x11, 0x0f, 0x01, 0x0e}}, {'h', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}},
    {'u', {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d}}, {'d', {0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f}},
    {'b', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1e}}, {'f', {0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08}},
    {'x', {0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11}}, {'z', {0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f}},
    {'E', {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f}}, {'M', {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11}},
    {'A', {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}}, {':', {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00}},
};

typedef struct {
    unsigned char *rgb;
    int w, h;
} canvas;

static void put(canvas *c, int x, int y, const unsigned char col[3]) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    memcpy(c->rgb + ((size_t)y * (size_t)c->w + (size_t)x) * 3, col, 3);
}

// A line of the given thickness (Bresenham, a square pen).
static void line(canvas *c, int x0, int y0, int x1, int y1, int pen, const unsigned char col[3]) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        for (int a = 0; a < pen; a++)
            for (int b = 0; b < pen; b++) put(c, x0 + a - pen / 2, y0 + b - pen / 2, col);
        if (x0 == x1 && y0 == y1) return;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

// Text at (x, y) = top left, each font pixel scale x scale; returns the width drawn.
static int text(canvas *c, int x, int y, const char *s, int scale, const unsigned char col[3]) {
    int x0 = x;
    for (; *s; s++, x += 6 * scale) {
        for (size_t g = 0; g < sizeof k_font / sizeof *k_font; g++) {
            if (k_font[g].c != *s) continue;
            for (int r = 0; r < 7; r++)
                for (int b = 0; b < 5; b++)
                    if (k_font[g].rows[r] >> (4 - b) & 1)
                        for (int a = 0; a < scale * scale; a++)
                            put(c, x + b * scale + a % scale, y + r * scale + a / scale, col);
        }
    }
    return x - x0;
}

static int text_width(const char *s, int scale) { return (int)strlen(s) * 6 * scale - scale; }

// "Nice" tick step (1, 2 or 5 × 10^k) for about `want` ticks over span.
static double nice_step(double span, int want) {
    double raw = span / want, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void fmt_num(char *buf, size_t n, double v) {
    if (v != 0 && (fabs(v) >= 1e6 || fabs(v) < 1e-3)) snprintf(buf, n, "%.0e", v);
    else snprintf(buf, n, "%g", v);
}

int ditc_plot_png(const char *path, const ditc_plot *p, ditc_status *st) {
    enum { W = 800, H = 480, L = 78, R = 24, T = 40, B = 48 };
    static const unsigned char white[3] = {255, 255, 255}, black[3] = {0, 0, 0}, grid[3] = {225, 225, 225};
    static const unsigned char colors[4][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}};
    canvas c = {ditc_xmalloc((size_t)W * H * 3), W, H};
    memset(c.rgb, 255, (size_t)W * H * 3);
    (void)white;
    // data ranges (non-finite and, on a log axis, non-positive values are left out)
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            double x = p->series[s].x[i], y = p->series[s].y[i];
            if (!isfinite(x) || !isfinite(y) || (p->log_y && y <= 0)) continue;
            x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
        }
    if (!(x1 >= x0)) x0 = 0, x1 = 1, y0 = p->log_y ? 0.1 : 0, y1 = 1;
    if (x1 == x0) x1 = x0 + 1;
    double ly0 = p->log_y ? floor(log10(y0) * 4) / 4 : y0, ly1 = p->log_y ? ceil(log10(y1) * 4) / 4 : y1;
    if (ly1 <= ly0) ly1 = ly0 + (p->log_y ? 0.25 : 1);
    double xs = nice_step(x1 - x0, 6);
    x0 = floor(x0 / xs) * xs;
    x1 = ceil(x1 / xs) * xs;
#define PX(x) (L + (int)lround(((x)-x0) / (x1 - x0) * (W - L - R)))
#define PY(v) (H - B - (int)lround(((v)-ly0) / (ly1 - ly0) * (H - T - B)))
    char buf[32];
    for (double x = x0; x <= x1 + xs / 2; x += xs) { // x grid and labels
        line(&c, PX(x), T, PX(x), H - B, 1, grid);
        fmt_num(buf, sizeof buf, x);
        text(&c, PX(x) - text_width(buf, 1) / 2, H - B + 8, buf, 1, black);
    }
    if (p->log_y) { // y grid at 1, 2, 5 × 10^k
        for (int k = (int)floor(ly0); k <= (int)ceil(ly1); k++)
            for (int m = 0; m < 3; m++) {
                double v = (m == 0 ? 1 : m == 1 ? 2 : 5) * pow(10.0, k), lv = log10(v);
                if (lv < ly0 - 1e-9 || lv > ly1 + 1e-9) continue;
                line(&c, L, PY(lv), W - R, PY(lv), 1, grid);
                fmt_num(buf, sizeof buf, v);
                text(&c, L - 6 - text_width(buf, 1), PY(lv) - 3, buf, 1, black);
            }
    } else {
        double ys = nice_step(ly1 - ly0, 5);
        for (double v = ceil(ly0 / ys) * ys; v <= ly1 + ys / 2; v += ys) {
            line(&c, L, PY(v), W - R, PY(v), 1, grid);
            fmt_num(buf, sizeof buf, v);
            text(&c, L - 6 - text_width(buf, 1), PY(v) - 3, buf, 1, black);
        }
    }
    line(&c, L, T, L, H - B, 1, black); // axes
    line(&c, L, H - B, W - R, H - B, 1, black);
    for (int s = 0; s < p->n_series; s++) { // the curves, and a legend entry each
        const ditc_plot_series *sr = &p->series[s];
        const unsigned char *col = colors[s % 4];
        int have = 0, px = 0, py = 0;
        for (int i = 0; i < sr->n; i++) {
            double x = sr->x[i], y = sr->y[i];
            if (!isfinite(x) || !isfinite(y) || (p->log_y && y <= 0)) continue;
            int qx = PX(x), qy = PY(p->log_y ? log10(y) : y);
            if (have) line(&c, px, py, qx, qy, 2, col);
            else put(&c, qx, qy, col);
            px = qx, py = qy, have = 1;
        }
        if (sr->label) {
            int lx = W - R - 8 - text_width(sr->label, 1) - 24, ly = T + 10 + 14 * s;
            line(&c, lx, ly + 3, lx + 18, ly + 3, 2, col);
            text(&c, lx + 24, ly, sr->label, 1, black);
        }
    }
#undef PX
#undef PY
    if (p->title) text(&c, (W - text_width(p->title, 2)) / 2, 10, p->title, 2, black);
    if (p->x_label) text(&c, (W - text_width(p->x_label, 1)) / 2, H - 18, p->x_label, 1, black);
    if (p->y_label) text(&c, 8, T - 14, p->y_label, 1, black);
    int r = ditc_png_write_rgb(path, c.rgb, W, H, st);
    free(c.rgb);
    return r;
}

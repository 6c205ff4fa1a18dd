// plot.h — line charts as PNG files (the training loss curve, `ditc train --plot`): 800x480 RGB, axes with
// tick labels, a log10 or linear y axis, up to four series with a legend. Text uses a built-in 5x7 pixel
// font of digits, lowercase letters and a few symbols (other characters are left blank).
#ifndef DITC_PLOT_H
#define DITC_PLOT_H

#include "common.h"

typedef struct {
    const double *x, *y; // n points; non-finite ones (and y <= 0 on a log axis) are skipped
    int n;
    const char *label; // legend text, or NULL
} ditc_plot_series;

typedef struct {
    const char *title, *x_label, *y_label; // each may be NULL
    int log_y;
    const ditc_plot_series *series;
    int n_series;
} ditc_plot;

// Draws p and writes it atomically to path; 0, or non-zero with st naming the path.
int ditc_plot_png(const char *path, const ditc_plot *p, ditc_status *st);

#endif

// train_plot.c — `ditc train --plot`: <run>/loss.png, the loss column of metrics.csv against the step (log y),
// redrawn at each checkpoint and at the end, so the whole run (resumed parts included) is in the picture.
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "train_internal.h"

// The (step, loss) rows of metrics.csv; *n of them (malloc'd arrays, NULL when there is none).
static void read_losses(const char *csv, double **steps, double **losses, int *n) {
    *steps = *losses = NULL;
    *n = 0;
    FILE *f = fopen(csv, "r");
    if (!f) return;
    char line[1024];
    int cap = 0;
    while (fgets(line, sizeof line, f)) {
        char *end;
        double s = strtod(line, &end);
        if (end == line || *end != ',') continue; // the header
        char *p = strchr(end + 1, ',');           // skip epoch
        if (!p) continue;
        double l = strtod(p + 1, &end);
        if (end == p + 1) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            *steps = ditc_xrealloc(*steps, (size_t)cap * sizeof **steps);
            *losses = ditc_xrealloc(*losses, (size_t)cap * sizeof **losses);
        }
        (*steps)[*n] = s;
        (*losses)[(*n)++] = l;
    }
    fclose(f);
}

void ditc_train_plot(ditc_trainer *t) {
    ditc_train_log *l = &t->log;
    if (!t->a->plot || l->quiet) return;
    char csv[4096 + 32], png[4096 + 32];
    snprintf(csv, sizeof csv, "%s/metrics.csv", l->dir);
    snprintf(png, sizeof png, "%s/loss.png", l->dir);
    if (l->csv) fflush(l->csv);
    double *x, *y;
    int n;
    read_losses(csv, &x, &y, &n);
    ditc_plot_series s = {.x = x, .y = y, .n = n, .label = "mean loss per log interval"};
    ditc_plot p = {.title = "train loss",
                   .x_label = "step",
                   .y_label = "loss (log scale)",
                   .log_y = 1,
                   .series = &s,
                   .n_series = 1};
    ditc_status st = {0};
    if (ditc_plot_png(png, &p, &st)) ditc_train_logf(l, "warning: %s", st.message);
    else snprintf(l->plot_path, sizeof l->plot_path, "%s", png);
    free(x);
    free(y);
}

// train_guard.c — the loss-spike guard (llm.c's -sl/-sg idea): an update is skipped when the step's loss or
// gradient norm is not finite, or (--skip-update-zscore K) more than K standard deviations above its mean
// over the last accepted steps. Skipped steps leave the weights, the moments, the EMA and the optimizer's step
// untouched and do not enter the statistics. The statistics travel in state.json (exact hex floats), so a
// resumed run takes the same decisions: resume stays bit-exact.
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

// z-score of x against the first n values of w (mean and population standard deviation, summed in index
// order so the result depends only on the stored window); 0 when the spread is 0.
static double zscore(const double *w, int n, double x) {
    double sum = 0, sq = 0;
    for (int i = 0; i < n; i++) sum += w[i];
    double mean = sum / n;
    for (int i = 0; i < n; i++) sq += (w[i] - mean) * (w[i] - mean);
    double sd = sqrt(sq / n);
    return sd > 0 ? (x - mean) / sd : 0.0;
}

int ditc_train_guard_decide(ditc_train_guard *g, double zmax, double loss, double norm, char *why, size_t n) {
    int skip = 0;
    if (!isfinite(loss) || !isfinite(norm)) {
        snprintf(why, n, "loss %g, gradient norm %g: not finite", loss, norm);
        skip = 1;
    } else if (zmax > 0 && g->n >= DITC_GUARD_MIN) {
        double zl = zscore(g->loss, g->n, loss), zn = zscore(g->norm, g->n, norm);
        if (zl > zmax || zn > zmax) {
            snprintf(why, n, "loss %g (z %.1f), gradient norm %g (z %.1f): above --skip-update-zscore %g", loss, zl,
                     norm, zn, zmax);
            skip = 1;
        }
    }
    if (skip) {
        g->skipped++;
        g->consecutive++;
        return 1;
    }
    g->loss[g->head] = loss;
    g->norm[g->head] = norm;
    g->head = (g->head + 1) % DITC_GUARD_WINDOW;
    if (g->n < DITC_GUARD_WINDOW) g->n++;
    g->consecutive = 0;
    return 0;
}

// "v0,v1,..." of the first n values as C99 hex floats (exact).
static char *join_hex(const double *v, int n) {
    char *s = ditc_xmalloc((size_t)n * 32 + 1);
    size_t k = 0;
    s[0] = 0;
    for (int i = 0; i < n; i++) k += (size_t)snprintf(s + k, 32, "%s%a", i ? "," : "", v[i]);
    return s;
}

void ditc_train_guard_save(const ditc_train_guard *g, ditc_kv *kv) {
    ditc_kv_set_i64(kv, "guard.n", g->n);
    ditc_kv_set_i64(kv, "guard.head", g->head);
    ditc_kv_set_i64(kv, "guard.skipped", g->skipped);
    ditc_kv_set_i64(kv, "guard.consecutive", g->consecutive);
    char *l = join_hex(g->loss, g->n), *m = join_hex(g->norm, g->n);
    ditc_kv_set(kv, "guard.loss", l);
    ditc_kv_set(kv, "guard.norm", m);
    free(l);
    free(m);
}

static int parse_hex(const char *s, double *v, int n) {
    for (int i = 0; i < n; i++) {
        char *end;
        v[i] = strtod(s, &end);
        if (end == s || (*end != (i + 1 < n ? ',' : '\0'))) return -1;
        s = end + (i + 1 < n);
    }
    return 0;
}

int ditc_train_guard_load(ditc_train_guard *g, const ditc_kv *kv, const char *file, ditc_status *st) {
    memset(g, 0, sizeof *g);
    if (!ditc_kv_get(kv, "guard.n")) return 0; // a checkpoint from before the guard: empty statistics
    int64_t n, head;
    int r;
    if ((r = ditc_kv_get_i64(kv, "guard.n", &n, file, st)) ||
        (r = ditc_kv_get_i64(kv, "guard.head", &head, file, st)) ||
        (r = ditc_kv_get_i64(kv, "guard.skipped", &g->skipped, file, st)) ||
        (r = ditc_kv_get_i64(kv, "guard.consecutive", &g->consecutive, file, st)))
        return r;
    const char *l = ditc_kv_get(kv, "guard.loss"), *m = ditc_kv_get(kv, "guard.norm");
    if (n < 0 || n > DITC_GUARD_WINDOW || head < 0 || head >= DITC_GUARD_WINDOW || !l || !m ||
        parse_hex(l, g->loss, (int)n) || parse_hex(m, g->norm, (int)n))
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: malformed loss-spike guard statistics (guard.*)", file);
    g->n = (int)n;
    g->head = (int)head;
    return 0;
}

int ditc_train_guard_skips(ditc_trainer *t, float loss, double grad_norm) {
    char why[256];
    if (!ditc_train_guard_decide(&t->guard, t->a->skip_zscore, loss, grad_norm, why, sizeof why)) return 0;
    ditc_train_logf(&t->log, "step %lld: update skipped (%s); %lld in a row, %lld in all", (long long)t->step + 1, why,
                    (long long)t->guard.consecutive, (long long)t->guard.skipped);
    return 1;
}

int ditc_train_guard_check_stop(ditc_trainer *t, ditc_status *st) {
    if (t->guard.consecutive < t->a->skip_max) return 0;
    return ditc_fail(st, DITC_ERR_FORMAT,
                     "step %lld: %lld updates in a row were skipped (--skip-update-max %lld); stopping. The weights "
                     "are those of step %lld's update; the last checkpoint is %s (try a lower --lr, --max-grad-norm "
                     "or --warmup-steps)",
                     (long long)t->step, (long long)t->guard.consecutive, (long long)t->a->skip_max,
                     (long long)(t->step - t->guard.consecutive),
                     t->log.last_ckpt[0] ? t->log.last_ckpt : "(none written by this run)");
}

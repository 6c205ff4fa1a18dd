// fid.c — `ditc fid` (fid.h): inputs → statistics (mu, sigma) → Fréchet distance or saved statistics.
#include "fid.h"

#include <string.h>

#include "backend_open.h"
#include "fid_input.h"
#include "fid_stats.h"
#include "frechet.h"
#include "inception_net.h"
#include "npz_stats_write.h"
#include "vae_ops.h"

typedef struct {
    double *mu, *sigma;
    int d;
    int64_t n;
    float *feats; // all features (--save-features only)
} stats;

void ditc_fid_put_image(ditc_backend *be, ditc_inception *m, ditc_tensor *in, int64_t b, const ditc_image *img,
                        float *host) {
    int64_t hw = (int64_t)img->h * img->w, s[4] = {1, 3, img->h, img->w};
    for (int64_t p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++) host[c * hw + p] = (float)img->rgb[p * 3 + c] / 255.0f;
    ditc_tensor *t = ditc_vt_new(be, 4, s);
    be->copy_h2d(be, t->data, host, (size_t)(3 * hw) * sizeof(float));
    ditc_inception_put(m, in, b, t);
    ditc_vt_free(t);
}

// The statistics of what acc gathered into s (when rc is 0: mu and sigma need at least 2 samples), acc freed.
static int finish_stats(ditc_fid_acc *acc, int rc, stats *s) {
    if (!rc) {
        int D = acc->d;
        s->d = D, s->n = acc->n;
        s->mu = ditc_xmalloc((size_t)D * sizeof(double));
        s->sigma = ditc_xmalloc((size_t)D * (size_t)D * sizeof(double));
        if (acc->n >= 2) ditc_fid_acc_finish(acc, s->mu, s->sigma);
    }
    ditc_fid_acc_free(acc);
    return rc;
}

static int image_stats(ditc_fid_input *in, ditc_backend *be, ditc_inception *m, const ditc_fid_args *a, int keep,
                       stats *s, ditc_status *st) {
    int D = ditc_inception_dim(m);
    ditc_fid_acc acc;
    ditc_fid_acc_init(&acc, D);
    ditc_tensor *x = ditc_inception_input(m, a->batch);
    float *feats = ditc_xmalloc((size_t)a->batch * (size_t)D * sizeof(float)), *host = NULL;
    size_t host_cap = 0;
    if (keep) s->feats = ditc_xmalloc((size_t)ditc_fid_input_count(in) * (size_t)D * sizeof(float));
    int rc = 0;
    double t0 = ditc_now_s(), last = t0;
    for (;;) {
        const ditc_image *imgs;
        int n = ditc_fid_input_next_images(in, a->batch, a->threads, &imgs, st);
        if (n < 0) rc = st->code ? st->code : 1;
        if (n <= 0) break;
        for (int i = 0; i < n; i++) {
            size_t need = (size_t)imgs[i].w * (size_t)imgs[i].h * 3;
            if (need > host_cap) host = ditc_xrealloc(host, need * sizeof(float)), host_cap = need;
            ditc_fid_put_image(be, m, x, i, &imgs[i], host);
        }
        ditc_tensor xb = *x; // the first n samples
        int64_t sh[4] = {n, 3, DITC_INCEPTION_SIDE, DITC_INCEPTION_SIDE};
        ditc_tensor_set_shape(&xb, DITC_F32, 4, sh);
        ditc_inception_forward(m, &xb, feats);
        if (keep) memcpy(s->feats + acc.n * D, feats, (size_t)n * (size_t)D * sizeof(float));
        ditc_fid_acc_add(&acc, feats, n);
        double now = ditc_now_s();
        if (now - last >= 30.0) { // progress of long runs (50k images take hours on a CPU)
            fprintf(stderr, "ditc fid: %lld / %lld images, %.2f images/s\n", (long long)acc.n,
                    (long long)ditc_fid_input_count(in), (double)acc.n / (now - t0));
            last = now;
        }
    }
    ditc_vt_free(x);
    free(feats), free(host);
    return finish_stats(&acc, rc, s);
}

static int feature_stats(ditc_fid_input *in, int keep, stats *s, ditc_status *st) {
    int D = ditc_fid_input_dim(in);
    int64_t chunk = 1024, N = ditc_fid_input_count(in);
    ditc_fid_acc acc;
    ditc_fid_acc_init(&acc, D);
    float *buf = ditc_xmalloc((size_t)chunk * (size_t)D * sizeof(float));
    if (keep) s->feats = ditc_xmalloc((size_t)(N ? N : 1) * (size_t)D * sizeof(float));
    int rc = 0;
    for (;;) {
        int64_t n = ditc_fid_input_next_features(in, chunk, buf, st);
        if (n < 0) rc = st->code ? st->code : 1;
        if (n <= 0) break;
        if (keep) memcpy(s->feats + acc.n * D, buf, (size_t)(n * D) * sizeof(float));
        ditc_fid_acc_add(&acc, buf, n);
    }
    free(buf);
    return finish_stats(&acc, rc, s);
}

int ditc_fid_run(const ditc_fid_args *a, FILE *out, ditc_status *st) {
    if (a->save_stats || a->save_features) {
        if (a->n_inputs != 1)
            return ditc_fail(st, DITC_ERR_ARG, "%s takes exactly one input (got %d)",
                             a->save_stats ? "--save-stats" : "--save-features", a->n_inputs);
    } else if (a->n_inputs != 2) {
        return ditc_fail(st, DITC_ERR_ARG, "two inputs are needed (image folders, .npz batches or statistics), got %d",
                         a->n_inputs);
    }
    if (a->batch < 1) return ditc_fail(st, DITC_ERR_ARG, "--batch %d: must be at least 1", a->batch);
    ditc_fid_input *in[2] = {NULL, NULL};
    stats s[2];
    memset(s, 0, sizeof s);
    ditc_backend *be = NULL;
    ditc_inception *m = NULL;
    int rc = 0, need_model = 0;
    for (int i = 0; i < a->n_inputs && !rc; i++) {
        rc = ditc_fid_input_open(a->inputs[i], &in[i], st);
        if (!rc && ditc_fid_input_kind(in[i]) == DITC_FID_IMAGES) need_model = 1;
        if (!rc && a->save_features && ditc_fid_input_kind(in[i]) == DITC_FID_STATS)
            rc = ditc_fail(st, DITC_ERR_ARG, "--save-features: %s holds statistics, not images or features",
                           a->inputs[i]);
    }
    if (!rc && need_model) {
        if (!a->inception)
            rc = ditc_fail(st, DITC_ERR_ARG,
                           "--inception WEIGHTS.safetensors is required for image inputs "
                           "(pytorch-fid's pt_inception weights, see README)");
        else if (!(be = ditc_backend_open(a->device, NULL, a->threads, st))) rc = st->code ? st->code : 1;
        else if (!(m = ditc_inception_load(be, a->inception, st))) rc = st->code ? st->code : 1;
        if (!rc)
            fprintf(out, "inception: %s (%lld parameters, %d-d features)\n", a->inception,
                    (long long)ditc_inception_params(m), ditc_inception_dim(m));
    }
    for (int i = 0; i < a->n_inputs && !rc; i++) {
        double t0 = ditc_now_s();
        ditc_fid_kind k = ditc_fid_input_kind(in[i]);
        if (k == DITC_FID_STATS) {
            rc = ditc_fid_input_stats(in[i], &s[i].mu, &s[i].sigma, &s[i].d, st);
        } else {
            rc = k == DITC_FID_IMAGES ? image_stats(in[i], be, m, a, a->save_features != NULL, &s[i], st)
                                      : feature_stats(in[i], a->save_features != NULL, &s[i], st);
            if (!rc && s[i].n < 2)
                rc = ditc_fail(st, DITC_ERR_FORMAT, "%s: %lld sample(s): at least 2 are needed for a covariance",
                               a->inputs[i], (long long)s[i].n);
        }
        if (!rc) {
            fprintf(out, "%c: %s: %s", 'A' + i, a->inputs[i], ditc_fid_input_desc(in[i]));
            if (k != DITC_FID_STATS)
                fprintf(out, ", %lld samples, %.1f s (%.1f images/s)", (long long)s[i].n, ditc_now_s() - t0,
                        (double)s[i].n / (ditc_now_s() - t0 + 1e-9));
            fprintf(out, ", %d-d\n", s[i].d);
        }
    }
    if (!rc && a->save_stats) {
        ditc_npz_array_out arr[2] = {{"mu", "<f8", 1, {s[0].d}, s[0].mu},
                                     {"sigma", "<f8", 2, {s[0].d, s[0].d}, s[0].sigma}};
        rc = ditc_npz_write(a->save_stats, arr, 2, st);
        if (!rc) fprintf(out, "statistics (mu, sigma) of %s written to %s\n", a->inputs[0], a->save_stats);
    }
    if (!rc && a->save_features) {
        ditc_npz_array_out arr[1] = {{"features", "<f4", 2, {s[0].n, s[0].d}, s[0].feats}};
        rc = ditc_npz_write(a->save_features, arr, 1, st);
        if (!rc) fprintf(out, "features of %s written to %s\n", a->inputs[0], a->save_features);
    }
    if (!rc && a->n_inputs == 2 && !a->save_stats && !a->save_features) {
        if (s[0].d != s[1].d) {
            rc = ditc_fail(st, DITC_ERR_FORMAT, "%s has %d-d statistics but %s has %d-d ones", a->inputs[0], s[0].d,
                           a->inputs[1], s[1].d);
        } else {
            double fid;
            rc = ditc_frechet_distance(s[0].d, s[0].mu, s[0].sigma, s[1].mu, s[1].sigma, 1e-6, &fid, st);
            if (!rc) fprintf(out, "FID: %.15g\n", fid);
        }
    }
    for (int i = 0; i < 2; i++) {
        ditc_fid_input_close(in[i]);
        free(s[i].mu), free(s[i].sigma), free(s[i].feats);
    }
    ditc_inception_free(m);
    if (be) be->destroy(be);
    return rc;
}

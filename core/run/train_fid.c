// train_fid.c — `ditc train --fid-every K --fid-samples M --fid-ref STATS --inception W`: after every K-th step
// (and the last) FID-M of the EMA weights against reference statistics, as `ditc sample --npz` + `ditc fid` would
// compute it: M samples with labels uniform at random keyed by the sample index (DITC_RNG_SAMPLE_LABEL, seed =
// --global-seed), the noise keyed by the index, DDIM with --fid-steps steps and guidance 1.5 on the reference
// channels, sample_ddp.py's uint8 conversion, pytorch-fid's Inception features and Fréchet distance. Logged to
// log.txt, metrics.csv (the `fid` column of that step) and TensorBoard (eval/fid). Rank 0 computes it after every
// rank took part in gathering a ZeRO-2-sharded EMA.
#include <string.h>

#include "diffusion.h"
#include "fid.h"
#include "fid_input.h"
#include "fid_stats.h"
#include "frechet.h"
#include "png_io.h"
#include "rng.h"
#include "train_internal.h"
#include "vae_ops.h"

enum { FID_BATCH = 32 };

struct ditc_train_fid {
    ditc_inception *net;
    double *ref_mu, *ref_sigma;
    int d;
};

int ditc_train_fid_open(ditc_trainer *t, ditc_status *st) {
    const ditc_train_args *a = t->a;
    if (!a->fid_every) return 0;
    if (a->fid_every < 0 || a->fid_samples < 2 || a->fid_steps < 1 || a->fid_steps > 1000 || !a->fid_ref ||
        !a->inception)
        return ditc_fail(st, DITC_ERR_ARG,
                         "--fid-every K needs K > 0, --fid-samples M >= 2, --fid-steps 1..1000, --fid-ref STATS.npz "
                         "(e.g. from `ditc fid --save-stats`) and --inception WEIGHTS");
    int ch = t->model.cfg.in_channels;
    if (!t->vae && ch != 1 && ch != 3)
        return ditc_fail(st, DITC_ERR_ARG, "--fid-every: the model has %d channels (latents) and this run has no --vae",
                         ch);
    if (t->log.quiet) return 0; // rank 0 computes it
    ditc_train_fid *f = ditc_xcalloc(1, sizeof *f);
    t->fid = f;
    ditc_fid_input *in = NULL;
    if (!(f->net = ditc_inception_load(t->be, a->inception, st))) return st->code;
    int r = ditc_fid_input_open(a->fid_ref, &in, st);
    if (!r) r = ditc_fid_input_stats(in, &f->ref_mu, &f->ref_sigma, &f->d, st);
    ditc_fid_input_close(in);
    if (!r && f->d != ditc_inception_dim(f->net))
        r = ditc_fail(st, DITC_ERR_ARG, "--fid-ref %s: %d-d statistics, but --inception %s gives %d-d features",
                      a->fid_ref, f->d, a->inception, ditc_inception_dim(f->net));
    return r;
}

void ditc_train_fid_close(ditc_trainer *t) {
    ditc_train_fid *f = t->fid;
    if (!f) return;
    ditc_inception_free(f->net);
    free(f->ref_mu);
    free(f->ref_sigma);
    free(f);
    t->fid = NULL;
}

// Samples [i0, i0 + n) of the EMA model s as images (n, C, H, W) in [-1, 1]: labels keyed by the sample index.
static float *draw(ditc_trainer *t, ditc_dit *s, const ditc_diffusion *d, int64_t i0, int n, int *ch, int *side,
                   ditc_status *st) {
    int32_t labels[FID_BATCH];
    for (int j = 0; j < n; j++)
        labels[j] = (int32_t)ditc_rng_randint(t->a->global_seed, DITC_RNG_SAMPLE_LABEL, 0, (uint64_t)(i0 + j),
                                              (uint64_t)s->cfg.num_classes);
    return ditc_train_draw(t, s, d, n, labels, 1.5f, (uint64_t)i0, ch, side, st);
}

// FID of M samples of s against the reference statistics.
static int compute_fid(ditc_trainer *t, ditc_dit *s, double *fid, ditc_status *st) {
    ditc_train_fid *f = t->fid;
    const ditc_train_args *a = t->a;
    char spacing[32];
    snprintf(spacing, sizeof spacing, "ddim%lld", (long long)a->fid_steps);
    ditc_diffusion d = {0};
    int r = ditc_diffusion_init(&d, spacing, st);
    if (r) return r;
    ditc_fid_acc acc;
    ditc_fid_acc_init(&acc, f->d);
    ditc_tensor *x = ditc_inception_input(f->net, FID_BATCH);
    float *feats = ditc_xmalloc(sizeof(float) * (size_t)FID_BATCH * (size_t)f->d), *host = NULL;
    unsigned char *u8 = NULL;
    for (int64_t i0 = 0; !r && i0 < a->fid_samples; i0 += FID_BATCH) {
        int n = (int)(a->fid_samples - i0 < FID_BATCH ? a->fid_samples - i0 : FID_BATCH), ch, side;
        float *img = draw(t, s, &d, i0, n, &ch, &side, st);
        if (!img) {
            r = st->code;
            break;
        }
        size_t hw = (size_t)side * (size_t)side;
        u8 = ditc_xrealloc(u8, hw * 3);
        host = ditc_xrealloc(host, hw * 3 * sizeof(float));
        for (int j = 0; j < n; j++) { // sample_ddp.py's uint8 pixels, then pytorch-fid's ToTensor
            ditc_image_to_hwc_u8(img + (size_t)j * (size_t)ch * hw, ch, side, side, u8);
            ditc_image im = {.w = side, .h = side, .rgb = u8};
            ditc_fid_put_image(t->be, f->net, x, j, &im, host);
        }
        free(img);
        ditc_tensor xb = *x;
        int64_t sh[4] = {n, 3, DITC_INCEPTION_SIDE, DITC_INCEPTION_SIDE};
        ditc_tensor_set_shape(&xb, DITC_F32, 4, sh);
        ditc_inception_forward(f->net, &xb, feats);
        ditc_fid_acc_add(&acc, feats, n);
    }
    if (!r) {
        double *mu = ditc_xmalloc(sizeof(double) * (size_t)f->d);
        double *sigma = ditc_xmalloc(sizeof(double) * (size_t)f->d * (size_t)f->d);
        ditc_fid_acc_finish(&acc, mu, sigma);
        r = ditc_frechet_distance(f->d, mu, sigma, f->ref_mu, f->ref_sigma, 1e-6, fid, st);
        free(mu);
        free(sigma);
    }
    ditc_vt_free(x);
    free(feats);
    free(host);
    free(u8);
    ditc_fid_acc_free(&acc);
    ditc_diffusion_free(&d);
    return r;
}

int ditc_train_fid_if_due(ditc_trainer *t, ditc_status *st) {
    const ditc_train_args *a = t->a;
    if (!a->fid_every || (t->step % a->fid_every && t->step != t->total)) return 0;
    ditc_dit *s = ditc_train_ema_model(t); // every rank: a sharded EMA is gathered
    if (t->log.quiet) return 0;
    double t0 = ditc_now_s(), fid;
    int r = compute_fid(t, s, &fid, st);
    if (r) return r;
    t->log.fid = fid;
    t->log.fid_step = t->step;
    ditc_train_logf(&t->log, "(step=%07lld) FID-%lld: %.4f (EMA, DDIM %lld steps, cfg 1.5, vs %s; %.1f s)",
                    (long long)t->step, (long long)a->fid_samples, fid, (long long)a->fid_steps, a->fid_ref,
                    ditc_now_s() - t0);
    if (t->log.tb) {
        ditc_tfevents_scalar_value v = {"eval/fid", (float)fid};
        ditc_tfevents_scalars(t->log.tb, t->step, ditc_tfevents_wall_time(), &v, 1, NULL);
    }
    return 0;
}

// train_step.c — the stages of one training step (train_internal.h). The gradient pass and SophiaG's Hessian
// pass are one micro-batch loop over the same model input: only the loss differs.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "rng.h"
#include "sophia.h"
#include "sophia_gnb.h"
#include "train_internal.h"

int ditc_train_next_batch(ditc_trainer *t, const ditc_batch **bt, ditc_status *st) {
    double waited;
    t->log.t_step = ditc_now_s();
    int r = ditc_loader_next(t->loader, bt, &waited, st);
    if (r) return r;
    t->log.wait_log += waited;
    t->log.wait_total += waited;
    t->epoch = (*bt)->epoch;
    t->step_in_epoch = (*bt)->step_in_epoch + 1; // the position after this step (a checkpoint resumes there)
    return 0;
}

// The model input of latent shards: for sample b (moments x + b·per, global batch position pos[b]) the
// orientation flip = random_flip && uniform(seed, DITC_RNG_FLIP, step, pos[b]) < 0.5 (the loader's draw for
// images), then the posterior sample ditc_vae_sample_latents keyed (seed, DITC_RNG_POSTERIOR, step, pos[b]·n) —
// so training on latents equals encoding the (flipped) images on the fly. out (B, latent, side, side).
static void latents_batch(const ditc_latents_info *li, const float *x, int64_t B, int64_t per, const int64_t *pos,
                          uint64_t seed, uint32_t step, int random_flip, float *out) {
    ditc_vae_config vc;
    ditc_vae_config_default(&vc);
    vc.scaling_factor = li->scaling_factor;
    vc.shift_factor = li->shift_factor;
    int64_t n = (int64_t)li->latent_channels * li->side * li->side;
    for (int64_t b = 0; b < B; b++) {
        uint64_t p = (uint64_t)pos[b];
        int flip = random_flip && ditc_rng_uniform(seed, DITC_RNG_FLIP, step, p) < 0.5f;
        const float *m = x + b * per + (flip ? 2 * n : 0);
        ditc_vae_sample_latents(&vc, m, m + n, n, seed, DITC_RNG_POSTERIOR, step, p * (uint64_t)n, out + b * n);
    }
}

int ditc_train_model_input(ditc_trainer *t, const ditc_batch *bt, const float **x0, ditc_status *st) {
    const ditc_train_args *a = t->a;
    *x0 = bt->x;
    if (t->vae) { // (B, 3, S, S) flipped images → (B, latent, S/8, S/8) posterior samples keyed by position
        int side = t->ds->side;
        int r = ditc_vae_encode_latents(t->vae, bt->x, t->B, side, side, bt->pos, a->global_seed, (uint32_t)t->step,
                                        t->input, st);
        if (r) return r;
        *x0 = t->input;
    } else if (t->is_latents) { // (B, 2·latent | 4·latent, h, w) moments → (B, latent, h, w) samples
        latents_batch(&t->lat, bt->x, t->B, bt->per, bt->pos, a->global_seed, (uint32_t)t->step, a->random_flip,
                      t->input);
        *x0 = t->input;
    }
    return 0;
}

// dst (n, C, H, W) = the normal stream `purpose` of each sample at its global batch position.
static void fill_keyed(ditc_backend *be, ditc_tensor *dst, const int64_t *pos, uint64_t seed, uint32_t purpose,
                       int64_t step) {
    int64_t n = dst->shape[0], per = dst->shape[1] * dst->shape[2] * dst->shape[3];
    for (int64_t b = 0; b < n; b++) {
        ditc_tensor v = *dst;
        ditc_tensor_set_shape(&v, DITC_F32, 3, dst->shape + 1);
        v.data = (float *)dst->data + b * per;
        be->rng_fill(be, &v, DITC_RNG_DIST_NORMAL, seed, purpose, (uint32_t)step, (uint64_t)pos[b] * (uint64_t)per);
    }
}

// Test hook (tests/test_resume_pt.sh): DITC_TEST_DUMP_BATCH=DIR writes each gradient micro-batch's model
// input x, timesteps t, labels y (after dropout) and noise to DIR/step_SSSSSSS_M.safetensors (S the step it
// computes, 1-based as logged; M the micro-batch's first sample), for a reference to consume the same batches.
static void dump_batch(const ditc_trainer *t, const ditc_batch *bt, const float *x, ditc_tensor *noise, int64_t m0) {
    const char *dir = t->dump_batch;
    int64_t n = noise->shape[0], per = t->per;
    float *nz = ditc_xmalloc((size_t)(n * per) * sizeof(float));
    int32_t *ti = ditc_xmalloc((size_t)n * sizeof(int32_t));
    ditc_to_host(noise, nz);
    for (int64_t b = 0; b < n; b++) ti[b] = (int32_t)bt->t[m0 + b];
    ditc_st_writer *w = ditc_st_writer_new();
    ditc_st_writer_add(w, "x", DITC_F32, 4, noise->shape, x);
    ditc_st_writer_add(w, "noise", DITC_F32, 4, noise->shape, nz);
    ditc_st_writer_add(w, "t", DITC_I32, 1, noise->shape, ti);
    ditc_st_writer_add(w, "y", DITC_I32, 1, noise->shape, bt->y + m0);
    char path[4096 + 64];
    snprintf(path, sizeof path, "%s/step_%07lld_%lld.safetensors", dir, (long long)t->step + 1, (long long)m0);
    ditc_status st = {0};
    if (ditc_st_writer_save(w, path, &st)) fprintf(stderr, "DITC_TEST_DUMP_BATCH: %s\n", st.message);
    ditc_st_writer_free(w);
    free(nz);
    free(ti);
}

// The loss a backward pass differentiates: the hybrid diffusion loss (the gradient pass) or SophiaG's GNB loss
// (the Hessian pass, with targets ε̂ = ε_pred + z/√2, core/diffusion/sophia_gnb.h).
typedef enum { TRAIN_LOSS_DIFFUSION, TRAIN_LOSS_GNB } train_loss;

// Micro-batch [m0, m0 + mb) of the local batch: x0 a view of the model input, the noise of the step keyed by
// each sample's global batch position (the same draw in both passes, so the same x_t), the loss scaled by mb/B
// (the gradients accumulated over the micro-batches — the first overwrites, the next add — are those of the
// local-batch mean), added to the loss slot of t->scalars on the backend (no read-back here), and its backward — with the bucketed
// reduction over ranks armed when `reduce` (the pass's last micro-batch).
static void train_microbatch(ditc_trainer *t, const ditc_batch *bt, const float *x0, int64_t m0, train_loss kind,
                             int reduce) {
    ditc_ctx *c = &t->ctx;
    const ditc_dit_config *cfg = &t->model.cfg;
    uint64_t seed = t->a->global_seed;
    int64_t shape[4] = {t->mb, cfg->in_channels, cfg->input_size, cfg->input_size};
    ditc_ctx_reset(c);
    ditc_tensor *x = ditc_from_host(c, DITC_F32, 4, shape, x0 + m0 * t->per);
    ditc_tensor *noise = ditc_new(c, DITC_F32, 4, shape);
    fill_keyed(t->be, noise, bt->pos + m0, seed, DITC_RNG_NOISE, t->step);
    if (t->dump_batch && kind == TRAIN_LOSS_DIFFUSION && t->comm->rank == 0)
        dump_batch(t, bt, x0 + m0 * t->per, noise, m0);
    ditc_tensor *loss;
    if (kind == TRAIN_LOSS_GNB) {
        ditc_tensor *z = ditc_new(c, DITC_F32, 4, shape);
        fill_keyed(t->be, z, bt->pos + m0, seed, DITC_RNG_HESSIAN, t->step);
        loss = ditc_sophia_gnb_loss(c, &t->diff, &t->model, x, bt->t + m0, bt->y + m0, noise, z);
    } else {
        ditc_tensor *per_sample =
            ditc_diffusion_training_loss(c, &t->diff, &t->model, x, bt->t + m0, bt->y + m0, noise, NULL, NULL, NULL);
        loss = ditc_mean(c, per_sample, 0);
    }
    if (t->mb < t->B) loss = ditc_scale(c, loss, (float)t->mb / (float)t->B);
    t->be->axpy(t->be, &t->scalars.loss, 1.0f, loss, m0 > 0); // Σ in micro-batch order
    if (reduce) ditc_grad_reducer_arm(&t->reducer, c);
    ditc_backward(c, loss);
}

// The gradient of the local-batch mean of `kind` in the flat gradient buffer; that mean in t->scalars' loss slot
// (not read here). With `overlap` (and a reducer: several ranks, --grad-bucket-mb > 0) the last micro-batch's
// backward also starts the reduction over ranks, bucket by bucket (train_average_grad completes it).
static void train_backward_pass(ditc_trainer *t, const ditc_batch *bt, const float *x0, train_loss kind, int overlap) {
    ditc_params_zero_grad(&t->model.params);
    ditc_params_bf16_begin(&t->model.params); // bf16: the weights rounded once for all micro-batches (or by AdamW)
    int reduce = overlap && t->reducer.b != NULL;
    for (int64_t m0 = 0; m0 < t->B; m0 += t->mb) train_microbatch(t, bt, x0, m0, kind, reduce && m0 + t->mb >= t->B);
    ditc_params_bf16_end(&t->model.params);
    ditc_params_settle_grad(&t->model.params);
}

// The mean over ranks of the flat gradient buffer: all of it, or this rank's shard (ZeRO-2). The buckets the
// backward started are waited for; otherwise one collective over the whole buffer.
static void train_average_grad(ditc_trainer *t) {
    ditc_comm *comm = t->comm;
    if (comm->world < 2) return;
    float *grad = t->model.params.grad;
    size_t nflat = (size_t)t->model.params.numel;
    t->reducer.trace_step = t->step + 1;
    if (!ditc_grad_reducer_finish(&t->reducer, &t->ctx)) { // no buckets in flight: one collective now
        if (t->a->zero) comm->reduce_scatter_sum(comm, t->be, grad, nflat, DITC_F32);
        else comm->allreduce_sum(comm, t->be, grad, nflat, DITC_F32);
    }
    t->be->scale_buffer(t->be, grad + t->shard_b, t->shard_e - t->shard_b, 1.0f / (float)comm->world);
}

// A test hook's step list ("5,9"): 1 if step `step` (1-based, as logged) is in it.
static int step_listed(const char *list, int64_t step) {
    for (const char *p = list; p && *p;) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p) return 0;
        if (v == step) return 1;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

void ditc_train_gradient(ditc_trainer *t, const ditc_batch *bt, const float *x0) {
    // the test hooks change the gradient after backward: their steps reduce it after backward too
    t->loss_nan = step_listed(t->inject_nan, t->step + 1) && t->comm->rank == 0; // (test hooks: train_internal.h)
    t->loss_spike = step_listed(t->inject_spike, t->step + 1);                   // (every rank)
    train_backward_pass(t, bt, x0, TRAIN_LOSS_DIFFUSION, !step_listed(t->inject_nan, t->step + 1) && !t->loss_spike);
    if (t->loss_nan) {
        float nan = NAN;
        t->be->copy_h2d(t->be, t->model.params.grad, &nan, sizeof nan);
    }
    if (t->loss_spike) // the gradient and loss x 1000
        t->be->scale_buffer(t->be, t->model.params.grad, (size_t)t->model.params.numel, 1000.0f);
}

// The loss as the test hooks of this step make it (NaN on rank 0, then x 1000).
static float hooked_loss(const ditc_trainer *t, float loss) {
    if (t->loss_nan) loss = NAN;
    if (t->loss_spike) loss *= 1000.0f;
    return loss;
}

void ditc_train_reduce(ditc_trainer *t, float *loss, double *grad_norm) {
    ditc_comm *comm = t->comm;
    double sumsq;
    if (comm->world < 2) { // the step's one wait: the loss and Σ g² together
        ditc_optimizer_grad_sumsq_to(&t->opt, ditc_step_scalars_sumsq(&t->scalars));
        ditc_step_scalars_read(&t->scalars, loss, &sumsq);
        t->log.busy_log += ditc_now_s() - t->log.t_step;
        t->stop_signal = ditc_train_signal_pending();
        *loss = hooked_loss(t, *loss);
        *grad_norm = sqrt(sumsq);
        return;
    }
    // several ranks: the loss first (this rank's own work of the step ends with it: data + gradient), then the
    // gradient's mean over the ranks, then its norm
    float local = hooked_loss(t, ditc_step_scalars_read_loss(&t->scalars));
    t->log.busy_log += ditc_now_s() - t->log.t_step;
    int sig = ditc_train_signal_pending();
    train_average_grad(t);
    // the logged loss is the mean over ranks; the signal number (if any) is shared with the same call
    float v[2] = {local, (float)sig};
    comm->allreduce_sum(comm, NULL, v, 2, DITC_F32);
    int any = v[1] > 0.5f;
    t->stop_signal = any ? (sig ? sig : -1) : 0; // -1: another rank's signal (a sum is only a flag)
    *loss = v[0] / (float)comm->world;
    ditc_optimizer_grad_sumsq_to(&t->opt, ditc_step_scalars_sumsq(&t->scalars));
    sumsq = ditc_step_scalars_read_sumsq(&t->scalars);
    if (t->a->zero) comm->allreduce_sum(comm, NULL, &sumsq, 1, DITC_F64);
    *grad_norm = sqrt(sumsq);
}

void ditc_train_update(ditc_trainer *t, double norm, double *lr) {
    *lr = ditc_optimizer_current_lr(&t->opt);
    ditc_optimizer_apply(&t->opt, norm);
    if (t->a->zero && t->comm->world > 1)
        t->comm->allgather(t->comm, t->be, t->model.params.data, (size_t)t->model.params.numel, DITC_F32);
}

int ditc_train_hessian_if_due(ditc_trainer *t, const ditc_batch *bt, const float *x0) {
    if (!ditc_sophia_hessian_due(&t->opt)) return 0;
    train_backward_pass(t, bt, x0, TRAIN_LOSS_GNB, 1);
    train_average_grad(t);
    ditc_sophia_update_hessian(&t->opt);
    return 1;
}

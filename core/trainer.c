// trainer.c — the training loop (see trainer.h).
#include "trainer.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "dataset.h"
#include "diffusion.h"
#include "latents.h"
#include "loader.h"
#include "vae.h"
#include "philox.h"
#include "rng.h"
#include "sampler.h"
#include "train_optim.h"

void ditc_train_args_defaults(ditc_train_args *a) {
    memset(a, 0, sizeof *a);
    a->results_dir = "results";
    a->model = "DiT-XL/2";
    a->dataset = "auto";
    a->epochs = 1400;
    a->global_batch = 256;
    a->max_steps = -1;
    a->log_every = 100;
    a->ckpt_every = 50000;
    a->synthetic_size = 4096;
    a->num_workers = 4;
    a->random_flip = 1;
    a->lr = NAN; // the optimizer's default
    a->ema_decay = 0.9999;
    a->optimizer = "adamw";
    a->beta1 = a->beta2 = NAN;
    a->rho = 0.01;
    a->hessian_every = 10;
}

// ---- run directory and logs ------------------------------------------------------------------
typedef struct {
    char dir[4096];
    FILE *log, *csv;
    int tty;
    int quiet;   // ranks other than 0 neither log nor write
} run_output;

static int mkdir_p(const char *path, ditc_status *st) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) && errno != EEXIST) return ditc_fail(st, DITC_ERR_IO, "%s: cannot create: %s", buf, strerror(errno));
            *p = '/';
        }
    if (mkdir(buf, 0755) && errno != EEXIST) return ditc_fail(st, DITC_ERR_IO, "%s: cannot create: %s", buf, strerror(errno));
    return 0;
}

// <results>/NNN-<model> with NNN = number of entries already there (the reference's experiment index).
static int new_run_dir(run_output *o, const char *results, const char *model, ditc_status *st) {
    if (mkdir_p(results, st)) return st->code;
    DIR *d = opendir(results);
    if (!d) return ditc_fail(st, DITC_ERR_IO, "--results-dir %s: cannot read: %s", results, strerror(errno));
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) count += e->d_name[0] != '.';
    closedir(d);
    char name[64];
    snprintf(name, sizeof name, "%s", model);
    for (char *p = name; *p; p++) if (*p == '/') *p = '-';
    snprintf(o->dir, sizeof o->dir, "%s/%03d-%s", results, count, name);
    return mkdir_p(o->dir, st);
}

static int open_logs(run_output *o, int append, ditc_status *st) {
    char p[4096 + 32];
    snprintf(p, sizeof p, "%s/log.txt", o->dir);
    o->log = fopen(p, append ? "a" : "w");
    if (!o->log) return ditc_fail(st, DITC_ERR_IO, "%s: cannot write: %s", p, strerror(errno));
    snprintf(p, sizeof p, "%s/metrics.csv", o->dir);
    struct stat sb;
    int fresh = !append || stat(p, &sb) != 0 || sb.st_size == 0;
    o->csv = fopen(p, append ? "a" : "w");
    if (!o->csv) return ditc_fail(st, DITC_ERR_IO, "%s: cannot write: %s", p, strerror(errno));
    if (fresh) fprintf(o->csv, "step,epoch,loss,steps_per_sec,images_per_sec,lr,grad_norm,elapsed_s,eta_s,data_wait_pct\n");
    o->tty = isatty(fileno(stderr));
    return 0;
}

// One log line to stdout and log.txt ("[YYYY-mm-dd HH:MM:SS] message", like the reference's logger).
static void logf_run(run_output *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_run(run_output *o, const char *fmt, ...) {
    if (o->quiet) return;
    char msg[1024], stamp[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    time_t t = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime(&t));
    if (o->tty) fprintf(stderr, "\r\033[K");
    printf("[%s] %s\n", stamp, msg);
    fflush(stdout);
    if (o->log) { fprintf(o->log, "[%s] %s\n", stamp, msg); fflush(o->log); }
}

static void fmt_hms(char *buf, size_t n, double s) {
    long v = s > 0 && s < 3.6e8 ? (long)s : 0; // < 100000 hours
    snprintf(buf, n, "%02ld:%02ld:%02ld", v / 3600, v / 60 % 60, v % 60);
}

// With --skip-bad-images: log how many undecodable files were skipped so far (once per new count).
static void report_bad_images(run_output *o, const ditc_dataset *ds, int64_t *reported) {
    char first[512];
    int64_t n = ditc_dataset_bad_count(ds, first, sizeof first);
    if (n > *reported) {
        logf_run(o, "skipped %lld bad image file%s so far (--skip-bad-images); first: %s", (long long)n, n > 1 ? "s" : "",
                 first);
        *reported = n;
    }
}

// ---- checkpoint + state --------------------------------------------------------------------------
// Full-layout buffers of the training state for checkpoint I/O: the optimizer's own when it owns the whole
// layout, else temporaries that hold the gathered shards (ZeRO).
static void ckpt_buffers_open(ditc_ckpt_buffers *b, ditc_dit *m, ditc_adamw *o) {
    b->params = m->params.data;
    b->opt_step = o->step;
    b->optimizer = ditc_train_optim_name(o);
    if (o->begin == 0 && o->end == m->params.numel) {
        b->ema = o->ema;
        b->m = o->m;
        b->v = o->v;
        return;
    }
    b->m = ditc_params_alloc_like(&m->params, DITC_F32);
    b->v = ditc_params_alloc_like(&m->params, DITC_F32);
    b->ema = o->ema ? ditc_params_alloc_like(&m->params, DITC_F32) : NULL;
}

static void ckpt_buffers_close(ditc_ckpt_buffers *b, ditc_dit *m, ditc_adamw *o) {
    ditc_backend *be = m->params.be;
    if (b->m == o->m) return;
    be->free(be, b->m);
    be->free(be, b->v);
    if (b->ema) be->free(be, b->ema);
}

// shard → full (every rank's range, all-gathered) or full → shard.
static void ckpt_buffers_sync(ditc_ckpt_buffers *b, ditc_adamw *o, ditc_comm *comm, int to_full) {
    if (b->m == o->m) return;
    ditc_backend *be = o->p->be;
    size_t n = (size_t)(o->end - o->begin) * sizeof(float);
    float *full[3] = {b->m, b->v, b->ema}, *shard[3] = {o->m, o->v, o->ema};
    for (int k = 0; k < 3; k++) {
        if (!full[k]) continue;
        if (to_full) {
            be->copy_d2d(be, full[k] + o->begin, shard[k], n);
            comm->allgather(comm, be, full[k], (size_t)o->p->numel, DITC_F32);
        } else {
            be->copy_d2d(be, shard[k], full[k] + o->begin, n);
        }
    }
}

static int save_checkpoint(const run_output *o, ditc_dit *m, ditc_adamw *opt, ditc_comm *comm,
                           const ditc_train_args *a, int64_t step, int64_t epoch, int64_t step_in_epoch, char *where,
                           size_t n, ditc_status *st) {
    ditc_ckpt_buffers bufs;
    ckpt_buffers_open(&bufs, m, opt);
    ckpt_buffers_sync(&bufs, opt, comm, 1); // every rank takes part in the gathers
    if (o->quiet) { // only rank 0 writes
        ckpt_buffers_close(&bufs, m, opt);
        return 0;
    }
    char cdir[4096 + 32];
    snprintf(cdir, sizeof cdir, "%s/checkpoints", o->dir);
    if (mkdir_p(cdir, st)) return st->code;
    snprintf(where, n, "%s/%07lld", cdir, (long long)step);
    ditc_kv kv = {0};
    ditc_kv_set(&kv, "format", "ditc-train-state-1");
    ditc_kv_set_i64(&kv, "step", step);
    ditc_kv_set_i64(&kv, "epoch", epoch);
    ditc_kv_set_i64(&kv, "step_in_epoch", step_in_epoch);
    ditc_kv_set_i64(&kv, "global_seed", (int64_t)a->global_seed);
    ditc_kv_set(&kv, "rng", "philox4x32-10 keyed (seed, purpose, step, global batch position)");
    ditc_kv_set_i64(&kv, "argc", a->argc);
    for (int i = 0; i < a->argc; i++) {
        char key[32];
        snprintf(key, sizeof key, "arg.%d", i);
        ditc_kv_set(&kv, key, a->argv[i]);
    }
    int r = ditc_checkpoint_write(where, m, &bufs, &kv, st);
    ditc_kv_free(&kv);
    ckpt_buffers_close(&bufs, m, opt);
    return r;
}

// ---- the loop ----------------------------------------------------------------------------------
static int open_dataset(ditc_dataset **ds, const ditc_train_args *a, int patch, ditc_status *st) {
    int synthetic = !strcmp(a->dataset, "synthetic") || (a->data_path && !strcmp(a->data_path, "synthetic"));
    if (synthetic) {
        int side = a->image_size ? a->image_size : 32;
        *ds = ditc_dataset_synthetic(a->synthetic_size, 4, side, a->num_classes ? a->num_classes : 10, a->global_seed);
        return 0;
    }
    if (!a->data_path)
        return ditc_fail(st, DITC_ERR_ARG, "--data-path is required (an ImageFolder, CIFAR-10 or IDX directory, "
                                           "shards from `ditc extract`, or 'synthetic')");
    if (ditc_dataset_open(ds, a->dataset, a->data_path, a->image_size, a->skip_bad_images, st)) return st->code;
    const char *kind = !strcmp(a->dataset, "auto") ? ditc_dataset_detect(a->data_path, NULL) : a->dataset;
    if (kind && !strcmp(kind, "idx") && !a->image_size && (*ds)->side % patch) { // pad up to the next multiple
        int side = ((*ds)->side + patch - 1) / patch * patch;
        ditc_dataset_free(*ds);
        return ditc_dataset_open_idx(ds, a->data_path, side, st);
    }
    return 0;
}

// channels/side: the model input (the data's, or the VAE latent's with --vae).
static int build_config(ditc_dit_config *cfg, const ditc_train_args *a, const ditc_dataset *ds, int channels, int side,
                        ditc_status *st) {
    memset(cfg, 0, sizeof *cfg);
    if (ditc_dit_config_from_name(cfg, a->model, st)) return st->code;
    if (a->depth) cfg->depth = a->depth;
    if (a->hidden_size) cfg->hidden = a->hidden_size;
    if (a->num_heads) cfg->heads = a->num_heads;
    if (a->patch_size) cfg->patch = a->patch_size;
    if (a->depth || a->hidden_size || a->num_heads || a->patch_size) snprintf(cfg->name, sizeof cfg->name, "custom");
    cfg->in_channels = channels;
    cfg->input_size = side;
    cfg->num_classes = a->num_classes ? a->num_classes : ds->num_classes;
    cfg->class_dropout = 0.1f;
    if (cfg->num_classes < ds->num_classes)
        return ditc_fail(st, DITC_ERR_ARG, "--num-classes %d: the data has labels up to %d", cfg->num_classes, ds->num_classes - 1);
    return ditc_dit_config_validate(cfg, st);
}

int ditc_train(ditc_backend *be, ditc_comm *comm, const ditc_train_args *a, ditc_status *st) {
    ditc_dataset *ds = NULL;
    ditc_dit m = {0};
    ditc_adamw opt = {0};
    ditc_sampler smp = {0};
    ditc_diffusion diff = {0};
    ditc_ctx c = {0};
    run_output out = {0};
    ditc_loader *loader = NULL;
    ditc_kv state = {0};
    ditc_vae *vae = NULL;
    ditc_latents_info lat;
    float *latents = NULL;
    int r = 0, world = comm->world, rank = comm->rank;
    ditc_dit_config cfg;
    int patch_hint = a->patch_size;
    if (!patch_hint) {
        ditc_dit_config tmp;
        patch_hint = ditc_dit_config_from_name(&tmp, a->model, NULL) ? 1 : tmp.patch;
    }
    if (a->global_batch < 1) return ditc_fail(st, DITC_ERR_ARG, "--global-batch-size %lld: must be positive", (long long)a->global_batch);
    if (a->global_batch % world)
        return ditc_fail(st, DITC_ERR_ARG, "--global-batch-size %lld is not divisible by the world size %d",
                         (long long)a->global_batch, world);
    if (a->log_every < 1 || a->ckpt_every < 1) return ditc_fail(st, DITC_ERR_ARG, "--log-every and --ckpt-every must be positive");
    if (a->epochs < 1) return ditc_fail(st, DITC_ERR_ARG, "--epochs %lld: must be positive", (long long)a->epochs);
    if ((r = ditc_train_optim_check(a, st))) return r;
    if (a->zero != 0 && a->zero != 2) return ditc_fail(st, DITC_ERR_ARG, "--zero %d: expected 0 (data parallel) or 2 (ZeRO-2)", a->zero);
    out.quiet = rank != 0;
    if ((r = open_dataset(&ds, a, patch_hint, st))) goto done;
    int in_ch = ds->channels, in_side = ds->side, is_latents = ditc_dataset_latents_info(ds, &lat);
    if (is_latents) { // pre-encoded moments: a fresh posterior sample every step
        if (a->vae) {
            r = ditc_fail(st, DITC_ERR_ARG, "--vae: %s already holds latents (extracted with --vae); leave --vae out",
                          a->data_path);
            goto done;
        }
        if (a->random_flip && !lat.flips) {
            r = ditc_fail(st, DITC_ERR_ARG, "--data-path %s: the latents have no flipped orientation (extract with "
                          "--flips) — or train with --no-flip", a->data_path);
            goto done;
        }
        in_ch = lat.latent_channels;
        in_side = lat.side;
    }
    if (a->vae) { // images are encoded on the fly: the model sees latents
        if ((r = ditc_vae_load(&vae, be, a->vae, "--vae", st)) || (r = ditc_vae_set_tile(vae, a->vae_tile, st))) goto done;
        const ditc_vae_config *vc = ditc_vae_get_config(vae);
        int f = ditc_vae_factor(vae);
        if (ds->channels != vc->in_channels || ds->side % f) {
            r = ditc_fail(st, DITC_ERR_ARG, "--vae: the data has %dx%dx%d samples; the VAE needs %d channels and a side "
                          "that is a multiple of %d", ds->channels, ds->side, ds->side, vc->in_channels, f);
            goto done;
        }
        in_ch = vc->latent_channels;
        in_side = ds->side / f;
    }
    if ((r = build_config(&cfg, a, ds, in_ch, in_side, st))) goto done;
    if ((r = ditc_sampler_init(&smp, ds->n, a->global_batch, a->global_seed, st))) goto done;

    ditc_dit_create(&m, &cfg, be);
    m.checkpoint_blocks = a->grad_checkpointing;
    ditc_dit_init(&m, a->global_seed);
    size_t shard_b = 0, shard_e = (size_t)m.params.numel;
    if (a->zero) ditc_shard_range((size_t)m.params.numel, world, rank, &shard_b, &shard_e);
    int64_t hess_elems = a->global_batch * cfg.in_channels * cfg.input_size * cfg.input_size; // SophiaG's bs
    if ((r = ditc_train_optim_init(&opt, &m.params, a, (int64_t)shard_b, (int64_t)shard_e, hess_elems, st))) goto done;
    ditc_adamw_ema_copy(&opt);
    int64_t step = 0, epoch = 0, step_in_epoch = 0;
    if (a->resume_dir) {
        ditc_ckpt_buffers bufs;
        ckpt_buffers_open(&bufs, &m, &opt);
        r = ditc_checkpoint_read(a->resume_dir, &m, &bufs, &state, st);
        if (!r) {
            ckpt_buffers_sync(&bufs, &opt, comm, 0);
            opt.step = bufs.opt_step;
        }
        ckpt_buffers_close(&bufs, &m, &opt);
        if (r) goto done;
        char sp[4096 + 16];
        snprintf(sp, sizeof sp, "%s/state.json", a->resume_dir);
        if ((r = ditc_kv_get_i64(&state, "step", &step, sp, st)) || (r = ditc_kv_get_i64(&state, "epoch", &epoch, sp, st)) ||
            (r = ditc_kv_get_i64(&state, "step_in_epoch", &step_in_epoch, sp, st)))
            goto done;
        // the run directory is the parent of checkpoints/
        snprintf(out.dir, sizeof out.dir, "%s", a->resume_dir);
        for (int k = 0; k < 2; k++) { char *sl = strrchr(out.dir, '/'); if (sl) *sl = 0; }
        if (!out.dir[0]) snprintf(out.dir, sizeof out.dir, ".");
    } else if (!out.quiet && (r = new_run_dir(&out, a->results_dir, cfg.name[0] ? cfg.name : a->model, st))) {
        goto done;
    }
    if (!out.quiet && (r = open_logs(&out, a->resume_dir != NULL, st))) goto done;
    ditc_diffusion_init(&diff, "", NULL);
    ditc_ctx_init(&c, be);

    int64_t spe = ditc_sampler_steps_per_epoch(&smp), B = a->global_batch / world;
    int64_t total = a->epochs * spe;
    if (a->max_steps >= 0 && a->max_steps < total) total = a->max_steps;
    int64_t per = (int64_t)cfg.in_channels * cfg.input_size * cfg.input_size;
    int64_t mb = a->micro_batch > 0 ? a->micro_batch : B;
    if (mb > B || B % mb) {
        r = ditc_fail(st, DITC_ERR_ARG, "--micro-batch-size %lld must divide the per-process batch %lld (global %lld / %d processes)",
                      (long long)a->micro_batch, (long long)B, (long long)a->global_batch, world);
        goto done;
    }
    if (step < total) {
        ditc_loader_opts lo = {.ds = ds, .global_batch = a->global_batch, .rank = rank, .world = world,
                               .seed = a->global_seed, .num_classes = cfg.num_classes, .label_dropout = 0.1f,
                               .random_flip = a->random_flip && !is_latents, .num_timesteps = DITC_DIFF_TRAIN_STEPS,
                               .workers = a->num_workers, .start_step = step, .start_epoch = epoch,
                               .start_step_in_epoch = step_in_epoch, .end_step = total};
        if ((r = ditc_loader_new(&loader, &lo, st))) goto done;
    }
    logf_run(&out, "%s run %s: %s", a->resume_dir ? "resuming" : "starting", out.dir, ds->desc);
    if (vae) {
        logf_run(&out, "%s; images encoded on the fly (posterior sample x %g)", ditc_vae_desc(vae),
                 ditc_vae_get_config(vae)->scaling_factor);
    }
    if (vae || is_latents) latents = ditc_xmalloc((size_t)(B * per) * sizeof(float));
    logf_run(&out, "model %s (%s%s): depth %d, hidden %d, heads %d, patch %d, %dx%dx%d input, %d classes, %lld parameters",
             cfg.name, cfg.arch == DITC_ARCH_LDIT ? "Large-DiT" : "DiT",
             cfg.arch == DITC_ARCH_LDIT && cfg.qk_norm ? ", QK-norm" : "", cfg.depth, cfg.hidden, cfg.heads, cfg.patch, cfg.in_channels, cfg.input_size, cfg.input_size,
             cfg.num_classes, (long long)m.params.numel_real);
    logf_run(&out, "global batch %lld, %lld steps per epoch, training to step %lld%s", (long long)a->global_batch,
             (long long)spe, (long long)total, a->resume_dir ? "" : "");
    if (a->resume_dir) logf_run(&out, "resumed from %s at step %lld (epoch %lld)", a->resume_dir, (long long)step, (long long)epoch);
    logf_run(&out, "%d process%s (%s communicator)%s; optimizer state per rank %.1f MiB (%s moments + EMA of %lld of %lld elements)",
             world, world > 1 ? "es" : "", comm->name, a->zero ? ", ZeRO-2: gradients reduce-scattered, state sharded" : "",
             (double)ditc_adamw_state_bytes(&opt) / 1048576.0, opt.kind == DITC_OPT_SOPHIAG ? "SophiaG" : "AdamW",
             (long long)(shard_e - shard_b),
             (long long)m.params.numel);
    if (opt.kind == DITC_OPT_SOPHIAG)
        logf_run(&out, "SophiaG: lr %g, betas (%g, %g), rho %g, weight decay %g, Hessian (GNB) every %lld steps, bs %lld",
                 opt.lr, opt.beta1, opt.beta2, opt.rho, opt.weight_decay, (long long)opt.hessian_every, (long long)hess_elems);

    double t_start = ditc_now_s(), t_log = t_start, loss_sum = 0, last_norm = 0, wait_log = 0, wait_total = 0;
    int64_t log_steps = 0, start_step = step, bad_reported = 0;
    char where[4096 + 64] = "";
    int64_t shape[4] = {B, cfg.in_channels, cfg.input_size, cfg.input_size};
    while (step < total) {
        ditc_ctx_reset(&c);
        const ditc_batch *bt;
        double waited;
        if ((r = ditc_loader_next(loader, &bt, &waited, st))) goto done;
        wait_log += waited;
        wait_total += waited;
        const float *xb = bt->x;
        if (vae) { // (B, 3, S, S) flipped images → (B, latent, S/8, S/8) posterior samples keyed by position
            if ((r = ditc_vae_encode_latents(vae, bt->x, B, ds->side, ds->side, bt->pos, a->global_seed, (uint32_t)step,
                                             latents, st)))
                goto done;
            xb = latents;
        } else if (is_latents) {
            ditc_latents_batch(&lat, bt->x, B, bt->per, bt->pos, a->global_seed, (uint32_t)step, a->random_flip, latents);
            xb = latents;
        }
        epoch = bt->epoch;
        step_in_epoch = bt->step_in_epoch + 1; // the position after this step (a checkpoint resumes there)
        // Micro-batches of mb samples: each loss is scaled by mb/B, so the gradients accumulated over them
        // (the first overwrites, the next add) are the gradient of the local-batch mean.
        ditc_params_zero_grad(&m.params);
        float lv = 0.0f;
        for (int64_t m0 = 0; m0 < B; m0 += mb) {
            if (m0) ditc_ctx_reset(&c);
            int64_t mshape[4] = {mb, shape[1], shape[2], shape[3]};
            ditc_tensor *x0 = ditc_from_host(&c, DITC_F32, 4, mshape, xb + m0 * per);
            ditc_tensor *noise = ditc_new(&c, DITC_F32, 4, mshape);
            for (int64_t b = 0; b < mb; b++) { // each sample's noise keyed by its global batch position
                ditc_tensor v = *noise;
                ditc_tensor_set_shape(&v, DITC_F32, 3, shape + 1);
                v.data = (float *)noise->data + b * per;
                be->rng_fill(be, &v, DITC_RNG_DIST_NORMAL, a->global_seed, DITC_RNG_NOISE, (uint32_t)step,
                             (uint64_t)bt->pos[m0 + b] * (uint64_t)per);
            }
            ditc_tensor *loss = ditc_mean(&c, ditc_diffusion_training_loss(&c, &diff, &m, x0, bt->t + m0, bt->y + m0,
                                                                           noise, NULL, NULL, NULL), 0);
            if (mb < B) loss = ditc_scale(&c, loss, (float)mb / (float)B);
            float part;
            ditc_to_host(loss, &part);
            lv += part;
            ditc_backward(&c, loss);
        }
        ditc_params_settle_grad(&m.params);
        float *grad = m.params.grad;
        size_t nflat = (size_t)m.params.numel;
        if (world > 1) { // average the gradients over ranks: all of them, or this rank's shard (ZeRO-2)
            if (a->zero) comm->reduce_scatter_sum(comm, be, grad, nflat, DITC_F32);
            else comm->allreduce_sum(comm, be, grad, nflat, DITC_F32);
            be->scale_buffer(be, grad + shard_b, shard_e - shard_b, 1.0f / (float)world);
            comm->allreduce_sum(comm, NULL, &lv, 1, DITC_F32); // the logged loss is the mean over ranks
            lv /= (float)world;
        }
        double lr_used = ditc_adamw_current_lr(&opt), sumsq = ditc_adamw_grad_sumsq(&opt);
        if (a->zero && world > 1) comm->allreduce_sum(comm, NULL, &sumsq, 1, DITC_F64);
        last_norm = sqrt(sumsq);
        ditc_adamw_apply(&opt, last_norm);
        if (a->zero && world > 1) comm->allgather(comm, be, m.params.data, nflat, DITC_F32);
        ditc_train_hessian_pass(&c, &diff, &m, &opt, comm, bt, mb, a->global_seed, step, a->zero); // SophiaG, every k
        step++;
        loss_sum += lv;
        log_steps++;
        if (!isfinite(lv)) { r = ditc_fail(st, DITC_ERR_FORMAT, "step %lld: the loss is %g; stopping (try a lower --lr or --max-grad-norm)", (long long)step, lv); goto done; }
        double now = ditc_now_s(), eta = (double)(total - step) * (now - t_start) / (double)(step - start_step);
        if (out.tty && !out.quiet) {
            char e[32];
            fmt_hms(e, sizeof e, eta);
            fprintf(stderr, "\r\033[K[step %lld/%lld] loss %.4f | %.1f img/s | ETA %s", (long long)step, (long long)total,
                    lv, (double)((step - start_step) * a->global_batch) / (now - t_start), e);
            fflush(stderr);
        }
        if (step % a->log_every == 0) {
            double sps = (double)log_steps / (now - t_log), avg = loss_sum / (double)log_steps;
            double wait_pct = 100.0 * wait_log / (now - t_log);
            logf_run(&out, "(step=%07lld) Train Loss: %.4f, Train Steps/Sec: %.2f, Data Wait: %.1f%%", (long long)step,
                     avg, sps, wait_pct);
            report_bad_images(&out, ds, &bad_reported);
            if (out.csv) {
                fprintf(out.csv, "%lld,%lld,%.9g,%.4f,%.2f,%.6g,%.6g,%.1f,%.0f,%.2f\n", (long long)step, (long long)epoch,
                        avg, sps, sps * (double)a->global_batch, lr_used, last_norm, now - t_start, eta, wait_pct);
                fflush(out.csv);
            }
            loss_sum = 0;
            wait_log = 0;
            log_steps = 0;
            t_log = now;
        }
        if (step % a->ckpt_every == 0 || step == total) {
            if ((r = save_checkpoint(&out, &m, &opt, comm, a, step, epoch, step_in_epoch, where, sizeof where, st))) goto done;
            logf_run(&out, "saved checkpoint to %s", where);
        }
    }
    if (out.tty) fprintf(stderr, "\r\033[K");
    report_bad_images(&out, ds, &bad_reported);
    double elapsed = ditc_now_s() - t_start;
    logf_run(&out, "done: %lld steps in %.1f s (waiting for data %.1f%% of it); run directory %s; last checkpoint %s",
             (long long)(step - start_step), elapsed, elapsed > 0 ? 100.0 * wait_total / elapsed : 0.0, out.dir,
             where[0] ? where : "(none)");
done:
    if (out.log) fclose(out.log);
    if (out.csv) fclose(out.csv);
    ditc_loader_free(loader);
    if (c.be) ditc_ctx_free(&c);
    ditc_diffusion_free(&diff);
    if (opt.p) ditc_adamw_free(&opt);
    if (m.params.be) ditc_dit_free(&m);
    if (smp.perm || smp.n) ditc_sampler_free(&smp);
    if (ds) ditc_dataset_free(ds);
    ditc_vae_free(vae);
    free(latents);
    ditc_kv_free(&state);
    return r;
}

int ditc_resolve_resume(const char *resume, const char *results_dir, char *out, size_t n, ditc_status *st) {
    struct stat sb;
    char p[4096 + 32];
    if (!strcmp(resume, "latest")) { // newest run directory (highest NNN) that has a checkpoint
        DIR *d = opendir(results_dir);
        if (!d) return ditc_fail(st, DITC_ERR_IO, "--resume latest: cannot read --results-dir %s: %s", results_dir, strerror(errno));
        char best[256] = "";
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof best) continue;
            snprintf(p, sizeof p, "%s/%s/checkpoints", results_dir, e->d_name);
            if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode) && strcmp(e->d_name, best) > 0) snprintf(best, sizeof best, "%s", e->d_name);
        }
        closedir(d);
        if (!best[0]) return ditc_fail(st, DITC_ERR_IO, "--resume latest: no run with checkpoints in %s", results_dir);
        snprintf(p, sizeof p, "%s/%s", results_dir, best);
        return ditc_checkpoint_latest(p, out, n, st);
    }
    snprintf(p, sizeof p, "%s/state.json", resume);
    if (stat(p, &sb) == 0) { snprintf(out, n, "%s", resume); return 0; }
    if (stat(resume, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "--resume %s: %s", resume, strerror(errno));
    return ditc_checkpoint_latest(resume, out, n, st);
}

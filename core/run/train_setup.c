// train_setup.c — a training run from its flags: checks (one message naming the flag), the data, the model
// input (the data's samples, or VAE latents), the model and optimizer, a new run directory or the resumed
// checkpoint, the loader; and the teardown.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

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
    a->ckpt_signals = "TERM,INT,USR1,PIPE";
    a->skip_max = 5;
    a->lr_schedule = "constant";
    a->sample_steps = 50;
    a->fid_samples = 1000;
    a->fid_steps = 50;
    a->min_lr_ratio = 0.1;
    a->grad_bucket_mb = 25; // PyTorch DDP's bucket_cap_mb
}

// The flags checked before anything is opened.
static int check_flags(const ditc_train_args *a, int world, ditc_status *st) {
    if (a->global_batch < 1)
        return ditc_fail(st, DITC_ERR_ARG, "--global-batch-size %lld: must be positive", (long long)a->global_batch);
    if (a->global_batch % world)
        return ditc_fail(st, DITC_ERR_ARG, "--global-batch-size %lld is not divisible by the world size %d",
                         (long long)a->global_batch, world);
    if (a->log_every < 1 || a->ckpt_every < 1)
        return ditc_fail(st, DITC_ERR_ARG, "--log-every and --ckpt-every must be positive");
    if (a->epochs < 1) return ditc_fail(st, DITC_ERR_ARG, "--epochs %lld: must be positive", (long long)a->epochs);
    if (ditc_train_optim_check(a, st) || ditc_train_init_check(a, st)) return st->code;
    if (strcmp(a->lr_schedule, "constant") && strcmp(a->lr_schedule, "cosine"))
        return ditc_fail(st, DITC_ERR_ARG, "--lr-schedule %s: expected constant or cosine", a->lr_schedule);
    if (!(a->min_lr_ratio >= 0 && a->min_lr_ratio <= 1))
        return ditc_fail(st, DITC_ERR_ARG, "--min-lr-ratio %g: must be in [0, 1]", a->min_lr_ratio);
    if (a->keep_last < 0 || a->keep_every < 0)
        return ditc_fail(st, DITC_ERR_ARG, "--keep-last and --keep-every must be 0 (off) or positive");
    if (!(a->skip_zscore >= 0) || a->skip_max < 1)
        return ditc_fail(st, DITC_ERR_ARG,
                         "--skip-update-zscore must be 0 (off) or positive, --skip-update-max at least 1");
    if (!(a->grad_bucket_mb >= 0))
        return ditc_fail(st, DITC_ERR_ARG, "--grad-bucket-mb %g: must be 0 (one reduction after backward) or positive",
                         a->grad_bucket_mb);
    if (a->zero != 0 && a->zero != 2)
        return ditc_fail(st, DITC_ERR_ARG, "--zero %d: expected 0 (data parallel) or 2 (ZeRO-2)", a->zero);
    return 0;
}

static int open_dataset(ditc_dataset **ds, const ditc_train_args *a, ditc_status *st) {
    int synthetic = !strcmp(a->dataset, "synthetic") || (a->data_path && !strcmp(a->data_path, "synthetic"));
    if (synthetic) {
        int side = a->image_size ? a->image_size : 32;
        *ds = ditc_dataset_synthetic(a->synthetic_size, 4, side, a->num_classes ? a->num_classes : 10, a->global_seed);
        return 0;
    }
    if (!a->data_path)
        return ditc_fail(st, DITC_ERR_ARG,
                         "--data-path is required (an ImageFolder, CIFAR-10 or IDX directory, "
                         "shards from `ditc extract`, or 'synthetic')");
    if (ditc_dataset_open(ds, a->dataset, a->data_path, a->image_size, a->skip_bad_images, st)) return st->code;
    int patch = a->patch_size;
    if (!patch) {
        ditc_dit_config tmp;
        patch = ditc_dit_config_from_name(&tmp, a->model, NULL) ? 1 : tmp.patch;
    }
    const char *kind = !strcmp(a->dataset, "auto") ? ditc_dataset_detect(a->data_path, NULL) : a->dataset;
    if (kind && !strcmp(kind, "idx") && !a->image_size && (*ds)->side % patch) { // pad up to the next multiple
        int side = ((*ds)->side + patch - 1) / patch * patch;
        ditc_dataset_free(*ds);
        return ditc_dataset_open_idx(ds, a->data_path, side, st);
    }
    return 0;
}

// The model input's channels and side: the data's, the latent shards', or the VAE latents' (--vae, loaded here).
static int model_input_shape(ditc_trainer *t, int *channels, int *side, ditc_status *st) {
    const ditc_train_args *a = t->a;
    const ditc_dataset *ds = t->ds;
    *channels = ds->channels;
    *side = ds->side;
    t->is_latents = ditc_dataset_latents_info(ds, &t->lat);
    if (t->is_latents) { // pre-encoded moments: a fresh posterior sample every step
        if (a->vae)
            return ditc_fail(st, DITC_ERR_ARG,
                             "--vae: %s already holds latents (extracted with --vae); leave --vae out", a->data_path);
        if (a->random_flip && !t->lat.flips)
            return ditc_fail(st, DITC_ERR_ARG,
                             "--data-path %s: the latents have no flipped orientation (extract with "
                             "--flips) — or train with --no-flip",
                             a->data_path);
        *channels = t->lat.latent_channels;
        *side = t->lat.side;
    }
    if (a->vae) { // images are encoded on the fly: the model sees latents
        if (ditc_vae_load(&t->vae, t->be, a->vae, "--vae", st) || ditc_vae_set_tile(t->vae, a->vae_tile, st))
            return st->code;
        const ditc_vae_config *vc = ditc_vae_get_config(t->vae);
        int f = ditc_vae_factor(t->vae);
        if (ds->channels != vc->in_channels || ds->side % f)
            return ditc_fail(st, DITC_ERR_ARG,
                             "--vae: the data has %dx%dx%d samples; the VAE needs %d channels and a "
                             "side that is a multiple of %d",
                             ds->channels, ds->side, ds->side, vc->in_channels, f);
        *channels = vc->latent_channels;
        *side = ds->side / f;
    }
    return 0;
}

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
        return ditc_fail(st, DITC_ERR_ARG, "--num-classes %d: the data has labels up to %d", cfg->num_classes,
                         ds->num_classes - 1);
    return ditc_dit_config_validate(cfg, st);
}

// The model (initialised from the seed), and the optimizer over this rank's shard with the EMA = the weights.
static int create_model(ditc_trainer *t, const ditc_dit_config *cfg, ditc_status *st) {
    const ditc_train_args *a = t->a;
    ditc_dit_create(&t->model, cfg, t->be);
    t->model.checkpoint_blocks = a->grad_checkpointing;
    ditc_dit_init(&t->model, a->global_seed);
    t->shard_b = 0;
    t->shard_e = (size_t)t->model.params.numel;
    if (a->zero)
        ditc_shard_range((size_t)t->model.params.numel, t->comm->world, t->comm->rank, &t->shard_b, &t->shard_e);
    t->hess_elems = a->global_batch * cfg->in_channels * cfg->input_size * cfg->input_size;
    if (ditc_train_optim_init(&t->opt, &t->model.params, a, (int64_t)t->shard_b, (int64_t)t->shard_e, t->hess_elems,
                              st))
        return st->code;
    ditc_optimizer_ema_copy(&t->opt);
    return 0;
}

// Batch sizes and the last step; the loader from the (resumed) position.
static int open_loader(ditc_trainer *t, ditc_status *st) {
    const ditc_train_args *a = t->a;
    const ditc_dit_config *cfg = &t->model.cfg;
    int world = t->comm->world;
    t->steps_per_epoch = ditc_data_order_steps_per_epoch(&t->order);
    t->B = a->global_batch / world;
    t->total = a->epochs * t->steps_per_epoch;
    if (a->max_steps >= 0 && a->max_steps < t->total) t->total = a->max_steps;
    t->per = (int64_t)cfg->in_channels * cfg->input_size * cfg->input_size;
    t->mb = a->micro_batch > 0 ? a->micro_batch : t->B;
    if (t->mb > t->B || t->B % t->mb)
        return ditc_fail(st, DITC_ERR_ARG,
                         "--micro-batch-size %lld must divide the per-process batch %lld (global %lld / %d processes)",
                         (long long)a->micro_batch, (long long)t->B, (long long)a->global_batch, world);
    if (t->step >= t->total) return 0;
    ditc_loader_opts lo = {.ds = t->ds,
                           .global_batch = a->global_batch,
                           .rank = t->comm->rank,
                           .world = world,
                           .seed = a->global_seed,
                           .num_classes = cfg->num_classes,
                           .label_dropout = 0.1f,
                           .random_flip = a->random_flip && !t->is_latents,
                           .num_timesteps = DITC_DIFF_TRAIN_STEPS,
                           .workers = a->num_workers,
                           .start_step = t->step,
                           .start_epoch = t->epoch,
                           .start_step_in_epoch = t->step_in_epoch,
                           .end_step = t->total};
    return ditc_loader_new(&t->loader, &lo, st);
}

int ditc_trainer_open(ditc_trainer *t, ditc_backend *be, ditc_comm *comm, const ditc_train_args *a, ditc_status *st) {
    *t = (ditc_trainer){.a = a, .be = be, .comm = comm, .log.quiet = comm->rank != 0};
    int r, channels, side;
    ditc_dit_config cfg;
    if ((r = check_flags(a, comm->world, st)) || (r = ditc_train_signals_install(&t->signals, a->ckpt_signals, st)))
        return r;
    t->inject_nan = getenv("DITC_TEST_INJECT_NAN");
    t->inject_spike = getenv("DITC_TEST_INJECT_SPIKE");
    t->dump_batch = getenv("DITC_TEST_DUMP_BATCH");
    if ((r = open_dataset(&t->ds, a, st)) || (r = model_input_shape(t, &channels, &side, st)) ||
        (r = build_config(&cfg, a, t->ds, channels, side, st)) ||
        (r = ditc_data_order_init(&t->order, t->ds->n, a->global_batch, a->global_seed, st)) ||
        (r = create_model(t, &cfg, st)) || (r = ditc_train_check_sampling(t, st)) || (r = ditc_train_fid_open(t, st)))
        return r;
    if (a->resume_dir) r = ditc_train_resume(t, st);
    else if (!t->log.quiet) r = ditc_train_log_new_run(&t->log, a->results_dir, cfg.name[0] ? cfg.name : a->model, st);
    if (r || (!t->log.quiet && (r = ditc_train_log_open(&t->log, a->resume_dir != NULL, a->no_tensorboard, st))))
        return r;
    if ((r = ditc_train_init_weights(t, st))) { // (e.g. a bad --init-from: no run directory is left behind)
        if (!a->resume_dir && !t->log.quiet) ditc_train_log_discard(&t->log);
        return r;
    }
    ditc_diffusion_init(&t->diff, "", NULL);
    ditc_ctx_init(&t->ctx, be);
    ditc_step_scalars_init(&t->scalars, be);
    if ((r = open_loader(t, st))) return r;
    if (!strcmp(a->lr_schedule, "cosine")) t->opt.decay_steps = t->total; // the decay ends with the run
    if (comm->world > 1 && a->grad_bucket_mb > 0)
        ditc_grad_reducer_init(&t->reducer, comm, be, &t->model.params, a->zero, a->grad_bucket_mb);
    if (t->vae || t->is_latents) t->input = ditc_xmalloc((size_t)(t->B * t->per) * sizeof(float));
    return 0;
}

void ditc_trainer_close(ditc_trainer *t) {
    ditc_train_signals_restore(&t->signals);
    ditc_train_fid_close(t);
    ditc_train_log_close(&t->log);
    ditc_loader_free(t->loader);
    if (t->reducer.b) ditc_grad_reducer_free(&t->reducer);
    if (t->ctx.be) ditc_ctx_free(&t->ctx);
    if (t->scalars.block) ditc_step_scalars_free(&t->scalars);
    ditc_diffusion_free(&t->diff);
    if (t->opt.p) ditc_optimizer_free(&t->opt);
    if (t->model.params.be) ditc_dit_free(&t->model);
    if (t->sampler.params.be) ditc_dit_free(&t->sampler);
    if (t->order.perm || t->order.n) ditc_data_order_free(&t->order);
    if (t->ds) ditc_dataset_free(t->ds);
    ditc_vae_free(t->vae);
    free(t->input);
    ditc_kv_free(&t->state);
}

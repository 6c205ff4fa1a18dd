// bench.c — the training-step benchmark (see bench.h).
#include "bench.h"

#include "backend_open.h"
#include "cuda_backend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion.h"
#include "optimizer.h"
#include "profile.h"
#include "profile_backend.h"
#include "rng.h"
#include "step_scalars.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double ditc_bench_sgemm(ditc_backend *be, int64_t n, int reps) {
    size_t bytes = (size_t)(n * n) * sizeof(float);
    float *a = be->alloc(be, bytes), *b = be->alloc(be, bytes), *c = be->alloc(be, bytes);
    DITC_ALLOC_CHECK(a && b && c ? a : NULL, 3 * bytes);
    be->fill(be, a, DITC_F32, (size_t)(n * n), 0.5f);
    be->fill(be, b, DITC_F32, (size_t)(n * n), 0.25f);
    ditc_gemm g = {.m = n,
                   .n = n,
                   .k = n,
                   .batch = 1,
                   .alpha = 1.0f,
                   .beta = 0.0f,
                   .a = a,
                   .lda = n,
                   .a_dtype = DITC_F32,
                   .b = b,
                   .ldb = n,
                   .b_dtype = DITC_F32,
                   .c = c,
                   .ldc = n,
                   .c_dtype = DITC_F32};
    double *rate = ditc_xmalloc(sizeof(double) * (size_t)reps);
    be->gemm(be, &g);
    be->synchronize(be);
    for (int r = 0; r < reps; r++) {
        double t0 = ditc_now_s();
        be->gemm(be, &g);
        be->synchronize(be);
        rate[r] = 2.0 * (double)n * (double)n * (double)n / (ditc_now_s() - t0) * 1e-9;
    }
    double med = median(rate, reps);
    free(rate);
    be->free(be, a);
    be->free(be, b);
    be->free(be, c);
    return med;
}

double ditc_gpu_dense_peak_tflops(const char *name, int cc_major, int cc_minor, ditc_precision prec) {
    // Dense (no sparsity) peaks from the vendor data sheets: {bf16 tensor, tf32 tensor, fp32 SIMT} TFLOP/s.
    static const struct {
        const char *key;
        int major;
        double bf16, tf32, fp32;
    } tab[] = {
        {"H200", 9, 989.4, 494.7, 66.9}, {"H100 PCIe", 9, 756.0, 378.0, 51.2}, {"H100 NVL", 9, 835.0, 417.5, 60.0},
        {"H100", 9, 989.4, 494.7, 66.9}, {"GH200", 9, 989.4, 494.7, 66.9},     {"A100", 8, 312.0, 156.0, 19.5},
        {"A800", 8, 312.0, 156.0, 19.5}, {"A10", 8, 125.0, 62.5, 31.2},        {"L40S", 8, 362.1, 183.0, 91.6},
    };
    (void)cc_minor;
    for (size_t i = 0; i < sizeof tab / sizeof *tab; i++) {
        if (!name || !strstr(name, tab[i].key) || cc_major != tab[i].major) continue;
        return prec == DITC_PREC_BF16 ? tab[i].bf16 : prec == DITC_PREC_TF32 ? tab[i].tf32 : tab[i].fp32;
    }
    return 0.0;
}

// The model of the flags: a named config with overrides, checked (errors name the flag).
static int bench_config(ditc_dit_config *cfg, const ditc_bench_args *a, ditc_status *st) {
    if (ditc_dit_config_from_name(cfg, a->model, st)) return st->code;
    if (a->depth) cfg->depth = a->depth;
    if (a->hidden) cfg->hidden = a->hidden;
    if (a->heads) cfg->heads = a->heads;
    if (a->patch) cfg->patch = a->patch;
    if (a->depth || a->hidden || a->heads || a->patch) snprintf(cfg->name, sizeof cfg->name, "custom");
    cfg->in_channels = a->channels;
    cfg->input_size = a->side;
    cfg->num_classes = a->num_classes;
    return ditc_dit_config_validate(cfg, st);
}

// On a GPU: MFU against the card's dense peak for the precision (flops: the model's GFLOP/s) and device memory.
static void print_device(ditc_backend *be, double flops) {
    char dev[256];
    int ccmaj = 0, ccmin = 0, sms = 0;
    if (ditc_cuda_device_info(be, dev, sizeof dev, &ccmaj, &ccmin, &sms) == 0) {
        double tf = ditc_gpu_dense_peak_tflops(dev, ccmaj, ccmin, be->precision);
        size_t peak_mem = 0, fr = 0, tot = 0;
        ditc_cuda_memory_stats(be, &peak_mem, &fr, &tot);
        if (tf > 0)
            printf("  MFU %.1f%% of the %s dense %s peak (%.1f TFLOP/s; model %.1f TFLOP/s)\n",
                   100.0 * flops * 1e-3 / tf, dev, ditc_precision_name(be->precision), tf, flops * 1e-3);
        else
            printf("  MFU: unknown dense peak for %s (sm_%d%d); model %.1f TFLOP/s\n", dev, ccmaj, ccmin, flops * 1e-3);
        printf("  peak device memory %.1f MiB (memory-pool high-water mark); device %.1f of %.1f GiB in use\n",
               (double)peak_mem / 1048576.0, (double)(tot - fr) / 1073741824.0, (double)tot / 1073741824.0);
    }
}

// What a benchmark step needs: the model, its context and diffusion, the fixed latents x (B, C, S, S), and host
// buffers for the step's timesteps and labels.
typedef struct {
    ditc_ctx *c;
    ditc_diffusion *d;
    ditc_dit *m;
    const float *x;
    int *t;
    int32_t *y;
    int64_t shape[4];
} bench_step;

// Step s up to its loss: timesteps and labels drawn for s, a fresh arena, the latents uploaded, noise keyed by s,
// gradients zeroed, the weights' bf16 copy begun (ditc_params_bf16_end after the backward).
static ditc_tensor *step_forward(const bench_step *k, int s) {
    ditc_backend *be = k->c->be;
    int64_t B = k->shape[0];
    for (int64_t b = 0; b < B; b++) {
        k->t[b] = (int)ditc_rng_randint(1, DITC_RNG_TIMESTEP, (uint32_t)s, (uint64_t)b, DITC_DIFF_TRAIN_STEPS);
        k->y[b] = (int32_t)ditc_rng_randint(1, DITC_RNG_LABEL_DROP, (uint32_t)s, (uint64_t)b,
                                            (uint64_t)k->m->cfg.num_classes);
    }
    ditc_ctx_reset(k->c);
    ditc_tensor *x0 = ditc_from_host(k->c, DITC_F32, 4, k->shape, k->x), *noise = ditc_new(k->c, DITC_F32, 4, k->shape);
    be->rng_fill(be, noise, DITC_RNG_DIST_NORMAL, 1, DITC_RNG_NOISE, (uint32_t)s, 0);
    ditc_params_zero_grad(&k->m->params);
    ditc_params_bf16_begin(&k->m->params); // bf16: the weights' copy (written by the AdamW step after the first)
    return ditc_mean(k->c, ditc_diffusion_training_loss(k->c, k->d, k->m, x0, k->t, k->y, noise, NULL, NULL, NULL), 0);
}

// A step's phases in seconds from its four timer marks m4 (start, after the forward, after the backward, after
// the update; each waits until its mark is reached).
static void bench_phases(ditc_backend *dev, const int *m4, double *fwd, double *bwd, double *opt) {
    *fwd = dev->timer_elapsed_ms(dev, m4[0], m4[1]) * 1e-3;
    *bwd = dev->timer_elapsed_ms(dev, m4[1], m4[2]) * 1e-3;
    *opt = dev->timer_elapsed_ms(dev, m4[2], m4[3]) * 1e-3;
}

int ditc_bench_run(ditc_backend *dev, const ditc_bench_args *a, ditc_status *st) {
    ditc_dit_config cfg;
    if (bench_config(&cfg, a, st)) return st->code;
    if (a->batch < 1 || a->steps < 1 || a->warmup < 0)
        return ditc_fail(st, DITC_ERR_ARG, "--batch and --steps must be positive, --warmup not negative");
    // --profile: the step runs on a view of the device that times every backend call (dev keeps the device queries)
    ditc_backend *be = a->profile ? ditc_profile_backend_new(dev) : dev;
    if (!be) return ditc_fail(st, DITC_ERR_UNSUPPORTED, "--profile: the %s backend has no timer entries", dev->name);
    ditc_dit m;
    ditc_dit_create(&m, &cfg, be);
    m.checkpoint_blocks = a->grad_checkpointing;
    ditc_dit_init(&m, 0);
    ditc_optimizer opt;
    ditc_optimizer_init(&opt, &m.params, 1e-4, 1);
    ditc_optimizer_ema_copy(&opt);
    ditc_diffusion d;
    ditc_diffusion_init(&d, "", NULL);
    ditc_ctx c;
    ditc_ctx_init(&c, be);
    int64_t B = a->batch, per = (int64_t)cfg.in_channels * cfg.input_size * cfg.input_size;
    float *x = ditc_xmalloc(sizeof(float) * (size_t)(B * per));
    int32_t *y = ditc_xmalloc(sizeof(int32_t) * (size_t)B);
    int *t = ditc_xmalloc(sizeof(int) * (size_t)B);
    ditc_rng_fill_normal(x, (size_t)(B * per), 1, DITC_RNG_TEST, 0, 0);
    bench_step k = {.c = &c,
                    .d = &d,
                    .m = &m,
                    .x = x,
                    .t = t,
                    .y = y,
                    .shape = {B, cfg.in_channels, cfg.input_size, cfg.input_size}};
    int total = a->warmup + a->steps;
    double *times = ditc_xmalloc(sizeof(double) * (size_t)total * 4), loss_last = 0;
    double *t_fwd = times + total, *t_bwd = times + 2 * total, *t_opt = times + 3 * total;
    ditc_profile_init();
    int prof = ditc_prof.enabled;
    // The step waits as a training step does, once: the loss and Σ g² read back together before the update
    // (step_scalars.h). A step's wall time runs from its start to the next step's, so on a device it ends with
    // the backward pass and the norm, and the update runs into the next step as in training. The phases are
    // timed between timer marks in queue order (CUDA events), read after the last step; with --profile each
    // step's marks are read at its end (a wait more per step).
    int marks = dev->timer_mark != NULL, defer = marks && be == dev;
    int *mk = ditc_xmalloc(sizeof(int) * 4 * (size_t)total);
    ditc_step_scalars sc;
    ditc_step_scalars_init(&sc, be);
    if (be != dev) ditc_profile_backend_collect(be, 0); // (the set-up's calls: not a step's)
    if (defer) dev->timer_reset(dev);
    for (int s = 0; s < total; s++) {
        if (s == a->warmup) ditc_profile_init(); // count the timed steps only
        ditc_prof.enabled = prof;
        ditc_profile_mark(be);
        if (marks && !defer) dev->timer_reset(dev);
        int *m4 = mk + 4 * s;
        m4[0] = marks ? dev->timer_mark(dev) : 0;
        double t0 = ditc_now_s();
        ditc_tensor *loss = step_forward(&k, s);
        float lv;
        double sumsq;
        if (!marks) ditc_to_host(loss, &lv), be->synchronize(be);
        m4[1] = marks ? dev->timer_mark(dev) : 0;
        double t1 = ditc_now_s();
        ditc_backward(&c, loss);
        ditc_params_bf16_end(&m.params);
        if (!marks) be->synchronize(be);
        m4[2] = marks ? dev->timer_mark(dev) : 0;
        double t2 = ditc_now_s();
        be->axpy(be, &sc.loss, 1.0f, loss, 0);
        ditc_params_settle_grad(&m.params);
        ditc_optimizer_grad_sumsq_to(&opt, ditc_step_scalars_sumsq(&sc));
        ditc_step_scalars_read(&sc, &lv, &sumsq); // the step's wait
        ditc_optimizer_apply(&opt, sqrt(sumsq));
        m4[3] = marks ? dev->timer_mark(dev) : 0;
        double t3 = ditc_now_s();
        times[s] = t3 - t0;
        if (!marks) {
            t_fwd[s] = t1 - t0;
            t_bwd[s] = t2 - t1;
            t_opt[s] = t3 - t2;
        } else if (!defer) {
            bench_phases(dev, m4, t_fwd + s, t_bwd + s, t_opt + s);
            ditc_profile_backend_collect(be, s >= a->warmup); // (after the marks above are read)
        }
        if (getenv("DITC_BENCH_VERBOSE") && !defer)
            fprintf(stderr, "  step %d: %.1f ms (forward %.1f, backward %.1f, optimizer %.1f)\n", s, times[s] * 1e3,
                    t_fwd[s] * 1e3, t_bwd[s] * 1e3, t_opt[s] * 1e3);
        loss_last = lv;
    }
    for (int s = 0; defer && s < total; s++) bench_phases(dev, mk + 4 * s, t_fwd + s, t_bwd + s, t_opt + s);
    dev->synchronize(dev); // (the last update done before the figures below)
    ditc_step_scalars_free(&sc);
    free(mk);
    double med = median(times + a->warmup, a->steps);
    double gflop = 6.0 * ditc_dit_forward_macs(&cfg) * (double)B * 1e-9; // fwd 2·MACs + bwd 4·MACs
    double peak = ditc_bench_sgemm(dev, a->gemm_size, 5);
    printf("ditc %s batch=%d latent=%dx%dx%d params=%lld threads=%s: median %.1f ms/step (of %d after %d warm-up), "
           "%.2f images/s, %.2f steps/s\n",
           cfg.name, a->batch, cfg.in_channels, cfg.input_size, cfg.input_size, (long long)m.params.numel_real,
           getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "default", med * 1e3, a->steps, a->warmup,
           (double)B / med, 1.0 / med);
    printf("  %.1f GFLOP/step (6 x %.3f GMAC forward/image) -> %.1f GFLOP/s = %.0f%% of sgemm %dx%d (%.1f GFLOP/s)\n",
           gflop, ditc_dit_forward_macs(&cfg) * 1e-9, gflop / med, 100.0 * gflop / med / peak, a->gemm_size,
           a->gemm_size, peak);
    printf("  phases (median ms%s): data+forward+loss %.1f, backward %.1f, AdamW+EMA %.1f\n",
           marks ? ", between timer marks in queue order" : "", median(t_fwd + a->warmup, a->steps) * 1e3,
           median(t_bwd + a->warmup, a->steps) * 1e3, median(t_opt + a->warmup, a->steps) * 1e3);
    ditc_profile_print(a->steps);
    if (be != dev) ditc_profile_backend_print(be, a->steps, med * 1e3, stdout);
    print_device(dev, gflop / med);
    char copy[64] = ""; // the bf16 weight copy of the passes (params.h)
    if (m.params.bf16)
        snprintf(copy, sizeof copy, " + bf16 weight copy %.1f MiB", (double)m.params.numel * 2.0 / 1048576.0);
    printf("  activation arena peak %.2f MiB; parameters+grads+AdamW+EMA %.1f MiB%s; last loss %.4f\n",
           (double)ditc_ctx_arena_peak(&c) / 1048576.0, 5.0 * (double)m.params.numel * 4.0 / 1048576.0, copy,
           loss_last);
    // On a device: the same steps with no host wait at all (no loss or gradient-norm read per step; one read after
    // the last): what the per-step waits of training (the loss-spike guard and the log read both) cost
    if (!dev->host_memory && be == dev && !prof) {
        double p0 = ditc_now_s();
        ditc_tensor *loss = NULL;
        for (int s = total; s < total + a->steps; s++) {
            loss = step_forward(&k, s);
            ditc_backward(&c, loss);
            ditc_params_bf16_end(&m.params);
            ditc_params_settle_grad(&m.params);
            ditc_optimizer_apply(&opt, 0.0); // (no clipping: the norm is not read)
        }
        float lv;
        ditc_to_host(loss, &lv);
        double wall = (ditc_now_s() - p0) / a->steps;
        printf("  without host waits (no loss or gradient-norm read per step, one after %d steps): %.1f ms/step wall, "
               "%+.1f%% against the median above\n",
               a->steps, wall * 1e3, 100.0 * (wall - med) / med);
    }
    free(times);
    free(x);
    free(y);
    free(t);
    ditc_ctx_free(&c);
    ditc_diffusion_free(&d);
    ditc_optimizer_free(&opt);
    ditc_dit_free(&m);
    if (be != dev) be->destroy(be);
    return 0;
}

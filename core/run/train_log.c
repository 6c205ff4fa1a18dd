// train_log.c — what a training run shows and leaves behind: the run directory, log.txt (the reference's
// "[time] message" lines), metrics.csv, the progress line on a terminal (steps, loss, images/s, ETA).
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "train_internal.h"

// <results>/NNN-<model> with NNN = number of entries already there (the reference's experiment index).
int ditc_train_log_new_run(ditc_train_log *l, const char *results, const char *model, ditc_status *st) {
    if (ditc_mkdir_p(results, "--results-dir", st)) return st->code;
    DIR *d = opendir(results);
    if (!d) return ditc_fail(st, DITC_ERR_IO, "--results-dir %s: cannot read: %s", results, strerror(errno));
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) count += e->d_name[0] != '.';
    closedir(d);
    char name[64];
    snprintf(name, sizeof name, "%s", model);
    for (char *p = name; *p; p++)
        if (*p == '/') *p = '-';
    snprintf(l->dir, sizeof l->dir, "%s/%03d-%s", results, count, name);
    return ditc_mkdir_p(l->dir, NULL, st);
}

int ditc_train_log_open(ditc_train_log *l, int append, int no_tensorboard, ditc_status *st) {
    char p[4096 + 32];
    snprintf(p, sizeof p, "%s/log.txt", l->dir);
    l->log = fopen(p, append ? "a" : "w");
    if (!l->log) return ditc_fail(st, DITC_ERR_IO, "%s: cannot write: %s", p, strerror(errno));
    snprintf(p, sizeof p, "%s/metrics.csv", l->dir);
    struct stat sb;
    int fresh = !append || stat(p, &sb) != 0 || sb.st_size == 0;
    l->csv = fopen(p, append ? "a" : "w");
    if (!l->csv) return ditc_fail(st, DITC_ERR_IO, "%s: cannot write: %s", p, strerror(errno));
    if (fresh)
        fprintf(l->csv, "step,epoch,loss,steps_per_sec,images_per_sec,lr,grad_norm,elapsed_s,eta_s,data_wait_pct,"
                        "skipped_updates,slowest_rank_step_s,fid\n");
    l->tty = isatty(fileno(stderr));
    if (!no_tensorboard && !(l->tb = ditc_tfevents_open(l->dir, st))) return st->code;
    return 0;
}

void ditc_train_log_close(ditc_train_log *l) {
    if (l->log) fclose(l->log);
    if (l->csv) fclose(l->csv);
    ditc_tfevents_close(l->tb, NULL);
    l->tb = NULL;
    l->log = l->csv = NULL;
}

void ditc_train_log_discard(ditc_train_log *l) {
    ditc_train_log_close(l);
    (void)ditc_checkpoint_remove_files(l->dir); // (its files, then the directory)
}

void ditc_train_logf(ditc_train_log *l, const char *fmt, ...) {
    if (l->quiet) return;
    char msg[1024], stamp[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime(&now));
    if (l->tty) fprintf(stderr, "\r\033[K");
    printf("[%s] %s\n", stamp, msg);
    fflush(stdout);
    if (l->log) {
        fprintf(l->log, "[%s] %s\n", stamp, msg);
        fflush(l->log);
    }
}

static void fmt_hms(char *buf, size_t n, double s) {
    long v = s > 0 && s < 3.6e8 ? (long)s : 0; // < 100000 hours
    snprintf(buf, n, "%02ld:%02ld:%02ld", v / 3600, v / 60 % 60, v % 60);
}

// With --skip-bad-images: how many undecodable files were skipped so far (once per new count).
static void report_bad_images(ditc_train_log *l, const ditc_dataset *ds) {
    char first[512];
    int64_t n = ditc_dataset_bad_count(ds, first, sizeof first);
    if (n > l->bad_reported) {
        ditc_train_logf(l, "skipped %lld bad image file%s so far (--skip-bad-images); first: %s", (long long)n,
                        n > 1 ? "s" : "", first);
        l->bad_reported = n;
    }
}

void ditc_train_log_start(ditc_trainer *t) {
    ditc_train_log *l = &t->log;
    const ditc_train_args *a = t->a;
    const ditc_dit_config *cfg = &t->model.cfg;
    const ditc_optimizer *o = &t->opt;
    int sophia = o->kind == DITC_OPT_SOPHIAG, world = t->comm->world;
    ditc_train_logf(l, "%s run %s: %s", a->resume_dir ? "resuming" : "starting", l->dir, t->ds->desc);
    if (t->vae)
        ditc_train_logf(l, "%s; images encoded on the fly (posterior sample x %g)", ditc_vae_desc(t->vae),
                        ditc_vae_get_config(t->vae)->scaling_factor);
    ditc_train_logf(
        l, "model %s (%s%s): depth %d, hidden %d, heads %d, patch %d, %dx%dx%d input, %d classes, %lld parameters",
        cfg->name, cfg->arch == DITC_ARCH_LDIT ? "Large-DiT" : "DiT",
        cfg->arch == DITC_ARCH_LDIT && cfg->qk_norm ? ", QK-norm" : "", cfg->depth, cfg->hidden, cfg->heads, cfg->patch,
        cfg->in_channels, cfg->input_size, cfg->input_size, cfg->num_classes, (long long)t->model.params.numel_real);
    ditc_train_logf(l, "global batch %lld, %lld steps per epoch, training to step %lld", (long long)a->global_batch,
                    (long long)t->steps_per_epoch, (long long)t->total);
    if (a->resume_dir)
        ditc_train_logf(l, "resumed from %s at step %lld (epoch %lld)", a->resume_dir, (long long)t->step,
                        (long long)t->epoch);
    ditc_train_logf(l,
                    "%d process%s (%s communicator)%s; optimizer state per rank %.1f MiB (%s moments + EMA of %lld of "
                    "%lld elements)",
                    world, world > 1 ? "es" : "", t->comm->name,
                    a->zero ? ", ZeRO-2: gradients reduce-scattered, state sharded" : "",
                    (double)ditc_optimizer_state_bytes(o) / 1048576.0, sophia ? "SophiaG" : "AdamW",
                    (long long)(t->shard_e - t->shard_b), (long long)t->model.params.numel);
    if (t->reducer.b)
        ditc_train_logf(l, "gradient %s in %d buckets of ~%g MiB, started during the backward pass as each is final",
                        a->zero ? "reduce-scatter" : "all-reduce", t->reducer.n, a->grad_bucket_mb);
    else if (world > 1)
        ditc_train_logf(l, "gradient %s after the backward pass (--grad-bucket-mb 0)",
                        a->zero ? "reduce-scatter" : "all-reduce");
    if (sophia)
        ditc_train_logf(
            l, "SophiaG: lr %g, betas (%g, %g), rho %g, weight decay %g, Hessian (GNB) every %lld steps, bs %lld",
            o->lr, o->beta1, o->beta2, o->rho, o->weight_decay, (long long)o->hessian_every, (long long)t->hess_elems);
    if (l->tb) ditc_train_logf(l, "TensorBoard events: %s", ditc_tfevents_path(l->tb));
    if (a->keep_last)
        ditc_train_logf(l, "keeping the newest %lld checkpoints%s", (long long)a->keep_last,
                        a->keep_every ? " and those of every multiple of --keep-every" : "");
    if (a->skip_zscore > 0)
        ditc_train_logf(l, "loss-spike guard: updates more than %g standard deviations above the last %d are skipped",
                        a->skip_zscore, DITC_GUARD_WINDOW);
    l->t_start = l->t_log = l->t_ckpt = ditc_now_s();
    t->start_step = t->step;
}

// Under MPI, at a log line: the largest mean step time (data + gradient, without waiting for the other ranks)
// of any rank over the interval; every rank takes part.
static double slowest_rank_step(ditc_trainer *t) {
    ditc_comm *comm = t->comm;
    double mine = t->log.log_steps ? t->log.busy_log / (double)t->log.log_steps : 0.0;
    if (comm->world < 2) return mine;
    double *all = ditc_xcalloc((size_t)comm->world, sizeof *all);
    all[comm->rank] = mine;
    comm->allreduce_sum(comm, NULL, all, (size_t)comm->world, DITC_F64);
    double worst = 0;
    for (int r = 0; r < comm->world; r++)
        if (all[r] > worst) worst = all[r];
    free(all);
    return worst;
}

// The terminal's progress line: step, loss, images/s, elapsed, ETA, age of the last checkpoint, and under MPI
// the slowest rank's step time of the last log interval.
static void progress_line(ditc_trainer *t, float loss, double now, double eta) {
    ditc_train_log *l = &t->log;
    int64_t done = t->step - t->start_step;
    char e[32], el[32], ck[48] = "", slow[48] = "";
    fmt_hms(e, sizeof e, eta);
    fmt_hms(el, sizeof el, now - l->t_start);
    if (l->last_ckpt[0]) {
        char age[32];
        fmt_hms(age, sizeof age, now - l->t_ckpt);
        snprintf(ck, sizeof ck, " | ckpt %s ago", age);
    }
    if (t->comm->world > 1 && l->slowest_step > 0)
        snprintf(slow, sizeof slow, " | slowest rank %.3f s/step", l->slowest_step);
    fprintf(stderr, "\r\033[K[step %lld/%lld] loss %.4f | %.1f img/s | %s elapsed | ETA %s%s%s", (long long)t->step,
            (long long)t->total, loss, (double)(done * t->a->global_batch) / (now - l->t_start), el, e, ck, slow);
    fflush(stderr);
}

void ditc_train_log_step(ditc_trainer *t, float loss, double lr, double grad_norm) {
    ditc_train_log *l = &t->log;
    const ditc_train_args *a = t->a;
    int64_t step = t->step, done = step - t->start_step;
    if (isfinite(loss)) l->loss_sum += loss; // a skipped non-finite loss does not poison the interval's mean
    l->log_steps++;
    double now = ditc_now_s(), eta = (double)(t->total - step) * (now - l->t_start) / (double)done;
    if (l->tty && !l->quiet) progress_line(t, loss, now, eta);
    if (step % a->log_every) return;
    l->slowest_step = slowest_rank_step(t);
    double sps = (double)l->log_steps / (now - l->t_log), avg = l->loss_sum / (double)l->log_steps;
    double wait_pct = 100.0 * l->wait_log / (now - l->t_log);
    char slow[64] = "";
    if (t->comm->world > 1) snprintf(slow, sizeof slow, ", Slowest Rank Step: %.3f s", l->slowest_step);
    ditc_train_logf(l, "(step=%07lld) Train Loss: %.4f, Train Steps/Sec: %.2f, Data Wait: %.1f%%%s", (long long)step,
                    avg, sps, wait_pct, slow);
    report_bad_images(l, t->ds);
    if (l->csv) {
        char fid[32] = ""; // the FID of this step, when one was computed
        if (l->fid_step == step && step > 0) snprintf(fid, sizeof fid, "%.6g", l->fid);
        fprintf(l->csv, "%lld,%lld,%.9g,%.4f,%.2f,%.6g,%.6g,%.1f,%.0f,%.2f,%lld,%.4f,%s\n", (long long)step,
                (long long)t->epoch, avg, sps, sps * (double)a->global_batch, lr, grad_norm, now - l->t_start, eta,
                wait_pct, (long long)t->guard.skipped, l->slowest_step, fid);
        fflush(l->csv);
    }
    if (l->tb) {
        ditc_tfevents_scalar_value v[] = {{"train/loss", (float)avg},
                                          {"train/lr", (float)lr},
                                          {"train/grad_norm", (float)grad_norm},
                                          {"train/skipped_updates", (float)t->guard.skipped},
                                          {"perf/images_per_sec", (float)(sps * (double)a->global_batch)},
                                          {"perf/steps_per_sec", (float)sps},
                                          {"perf/data_wait_pct", (float)wait_pct},
                                          {"perf/slowest_rank_step_s", (float)l->slowest_step}};
        ditc_status tst = {0};
        if (ditc_tfevents_scalars(l->tb, step, ditc_tfevents_wall_time(), v, (int)(sizeof v / sizeof *v), &tst) &&
            !l->tb_failed) {
            l->tb_failed = 1;
            ditc_train_logf(l, "warning: TensorBoard events not written (%s); training goes on", tst.message);
        }
    }
    l->loss_sum = l->wait_log = l->busy_log = 0;
    l->log_steps = 0;
    l->t_log = now;
}

void ditc_train_log_done(ditc_trainer *t) {
    ditc_train_log *l = &t->log;
    if (l->tty) fprintf(stderr, "\r\033[K");
    report_bad_images(l, t->ds);
    double elapsed = ditc_now_s() - l->t_start;
    ditc_train_logf(l,
                    "done: %lld steps in %.1f s (waiting for data %.1f%% of it); run directory %s; last checkpoint %s",
                    (long long)(t->step - t->start_step), elapsed, elapsed > 0 ? 100.0 * l->wait_total / elapsed : 0.0,
                    l->dir, l->last_ckpt[0] ? l->last_ckpt : "(none)");
    if (l->plot_path[0]) ditc_train_logf(l, "loss curve: %s", l->plot_path);
}

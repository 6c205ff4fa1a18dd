// train_state.c — training checkpoints of a run (checkpoint.h for the files) and resuming from one. With
// ZeRO-2 each rank owns a shard of the optimizer state: the shards are gathered into full-layout buffers
// before a write and scattered back after a read, so checkpoints do not depend on the world size.
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"
#include "train_internal.h"

// Full-layout buffers of the training state: the optimizer's own when it owns the whole layout, else
// temporaries that hold the gathered shards (ZeRO).
static void buffers_open(ditc_ckpt_buffers *b, ditc_dit *m, ditc_optimizer *o) {
    b->params = m->params.data;
    b->opt_step = o->step;
    b->optimizer = ditc_optimizer_name(o);
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

static void buffers_close(ditc_ckpt_buffers *b, ditc_dit *m, ditc_optimizer *o) {
    ditc_backend *be = m->params.be;
    if (b->m == o->m) return;
    be->free(be, b->m);
    be->free(be, b->v);
    if (b->ema) be->free(be, b->ema);
}

// shard → full (every rank's range, all-gathered) or full → shard.
static void buffers_sync(ditc_ckpt_buffers *b, ditc_optimizer *o, ditc_comm *comm, int to_full) {
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

// state.json: the position in the data, the seed and the run's arguments.
static void state_kv(const ditc_trainer *t, ditc_kv *kv) {
    const ditc_train_args *a = t->a;
    ditc_kv_set(kv, "format", "ditc-train-state-1");
    ditc_kv_set_i64(kv, "step", t->step);
    ditc_kv_set_i64(kv, "epoch", t->epoch);
    ditc_kv_set_i64(kv, "step_in_epoch", t->step_in_epoch);
    ditc_kv_set_i64(kv, "global_seed", (int64_t)a->global_seed);
    ditc_kv_set(kv, "rng", "philox4x32-10 keyed (seed, purpose, step, global batch position)");
    ditc_kv_set_i64(kv, "argc", a->argc);
    for (int i = 0; i < a->argc; i++) {
        char key[32];
        snprintf(key, sizeof key, "arg.%d", i);
        ditc_kv_set(kv, key, a->argv[i]);
    }
    ditc_train_guard_save(&t->guard, kv);
}

// <run>/checkpoints/NNNNNNN: every rank takes part in the gathers, rank 0 writes.
static int save_checkpoint(ditc_trainer *t, ditc_status *st) {
    ditc_ckpt_buffers bufs;
    buffers_open(&bufs, &t->model, &t->opt);
    buffers_sync(&bufs, &t->opt, t->comm, 1);
    int r = 0;
    if (!t->log.quiet) {
        char cdir[4096 + 32];
        snprintf(cdir, sizeof cdir, "%s/checkpoints", t->log.dir);
        r = ditc_mkdir_p(cdir, NULL, st);
        char path[sizeof t->log.last_ckpt];
        snprintf(path, sizeof path, "%s/%07lld", cdir, (long long)t->step);
        ditc_kv kv = {0};
        state_kv(t, &kv);
        if (!r) r = ditc_checkpoint_write(path, &t->model, &bufs, &kv, st);
        if (!r) memcpy(t->log.last_ckpt, path, sizeof path);
        ditc_kv_free(&kv);
    }
    buffers_close(&bufs, &t->model, &t->opt);
    return r;
}

static void note_retired(void *ctx, const char *path) {
    ditc_train_logf((ditc_train_log *)ctx, "removed checkpoint %s (--keep-last)", path);
}

int ditc_train_checkpoint_if_due(ditc_trainer *t, ditc_status *st) {
    if (t->step % t->a->ckpt_every && t->step != t->total && !t->stop_signal) return 0;
    int r = save_checkpoint(t, st);
    if (r) {
        char msg[sizeof st->message];
        snprintf(msg, sizeof msg, "%s", st->message);
        return ditc_fail(st, DITC_ERR_IO,
                         "the checkpoint of step %lld was not written: %s; the last complete one is %s",
                         (long long)t->step, msg, t->log.last_ckpt[0] ? t->log.last_ckpt : "(none)");
    }
    t->log.t_ckpt = ditc_now_s();
    ditc_train_logf(&t->log, "saved checkpoint to %s", t->log.last_ckpt);
    if (t->log.tb) ditc_tfevents_flush(t->log.tb, NULL); // the curves up to the checkpoint are on disk too
    ditc_train_plot(t);
    if (!t->log.quiet) {
        char cdir[4096 + 32];
        snprintf(cdir, sizeof cdir, "%s/checkpoints", t->log.dir);
        ditc_checkpoint_rotate(cdir, t->step, t->a->keep_last, t->a->keep_every, note_retired, &t->log);
    }
    return 0;
}

int ditc_train_stopped(ditc_trainer *t, ditc_status *st) {
    // no rank exits before rank 0 has written: a launcher (mpirun) kills the job when the first rank exits
    // with a non-zero status
    t->comm->barrier(t->comm);
    int sig = t->stop_signal;
    char who[64];
    if (sig > 0) snprintf(who, sizeof who, "SIG%s", ditc_train_signal_name(sig));
    else snprintf(who, sizeof who, "a stop signal to another rank");
    ditc_fail(st, DITC_ERR_IO, "stopped by %s after step %lld of %lld; checkpoint %s; continue with --resume latest",
              who, (long long)t->step, (long long)t->total, t->log.quiet ? "written by rank 0" : t->log.last_ckpt);
    ditc_train_logf(&t->log, "%s", st->message);
    return DITC_TRAIN_STOPPED;
}

int ditc_train_resume(ditc_trainer *t, ditc_status *st) {
    const char *dir = t->a->resume_dir;
    ditc_ckpt_buffers bufs;
    buffers_open(&bufs, &t->model, &t->opt);
    int r = ditc_checkpoint_read(dir, &t->model, &bufs, &t->state, st);
    if (!r) {
        buffers_sync(&bufs, &t->opt, t->comm, 0);
        t->opt.step = bufs.opt_step;
    }
    buffers_close(&bufs, &t->model, &t->opt);
    if (r) return r;
    char sp[4096 + 16];
    snprintf(sp, sizeof sp, "%s/state.json", dir);
    if ((r = ditc_kv_get_i64(&t->state, "step", &t->step, sp, st)) ||
        (r = ditc_kv_get_i64(&t->state, "epoch", &t->epoch, sp, st)) ||
        (r = ditc_kv_get_i64(&t->state, "step_in_epoch", &t->step_in_epoch, sp, st)) ||
        (r = ditc_train_guard_load(&t->guard, &t->state, sp, st)))
        return r;
    snprintf(t->log.last_ckpt, sizeof t->log.last_ckpt, "%s", dir);
    // the run directory is the parent of checkpoints/
    snprintf(t->log.dir, sizeof t->log.dir, "%s", dir);
    for (int k = 0; k < 2; k++) {
        char *sl = strrchr(t->log.dir, '/');
        if (sl) *sl = 0;
    }
    if (!t->log.dir[0]) snprintf(t->log.dir, sizeof t->log.dir, ".");
    if (!t->log.quiet) { // finish what a killed run may have left: leftovers, and a rotation it did not complete
        char cdir[4096 + 32];
        snprintf(cdir, sizeof cdir, "%s/checkpoints", t->log.dir);
        ditc_checkpoint_rotate(cdir, t->step, t->a->keep_last, t->a->keep_every, note_retired, &t->log);
    }
    return 0;
}

// The newest complete checkpoint of the runs under results_dir (run directories by name, newest first).
static int latest_of_runs(const char *results_dir, char *out, size_t n, int *none, ditc_status *st) {
    *none = 0;
    DIR *d = opendir(results_dir);
    if (!d) {
        *none = errno == ENOENT;
        return ditc_fail(st, DITC_ERR_IO, "--resume latest: cannot read --results-dir %s: %s", results_dir,
                         strerror(errno));
    }
    char **runs = NULL;
    int count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        char p[4096 + 300];
        snprintf(p, sizeof p, "%s/%s/checkpoints", results_dir, e->d_name);
        if (e->d_name[0] == '.' || stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
        if (count == cap) runs = ditc_xrealloc(runs, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *runs);
        runs[count++] = ditc_xstrdup(e->d_name);
    }
    closedir(d);
    int found = 0;
    while (count > 0 && !found) { // the newest name left (NNN-model: the experiment index orders them)
        int best = 0;
        for (int i = 1; i < count; i++)
            if (strcmp(runs[i], runs[best]) > 0) best = i;
        char p[4096 + 300];
        snprintf(p, sizeof p, "%s/%s", results_dir, runs[best]);
        ditc_status quiet = {0};
        found = ditc_checkpoint_latest(p, out, n, &quiet) == 0;
        free(runs[best]);
        runs[best] = runs[--count];
    }
    for (int i = 0; i < count; i++) free(runs[i]);
    free(runs);
    if (found) return 0;
    *none = 1;
    return ditc_fail(st, DITC_ERR_IO, "--resume latest: no run with a complete checkpoint in %s", results_dir);
}

int ditc_resolve_resume(const char *resume, const char *results_dir, char *out, size_t n, ditc_status *st) {
    struct stat sb;
    char p[4096 + 32];
    int none;
    if (!strcmp(resume, "latest")) return latest_of_runs(results_dir, out, n, &none, st);
    if (!strcmp(resume, "auto")) { // latest, or a fresh run when there is nothing to resume yet
        int r = latest_of_runs(results_dir, out, n, &none, st);
        if (r && none) {
            out[0] = 0;
            ditc_status_ok(st);
            return 0;
        }
        return r;
    }
    snprintf(p, sizeof p, "%s/state.json", resume);
    if (stat(p, &sb) == 0) {
        char why[1024];
        if (!ditc_checkpoint_complete(resume, why, sizeof why))
            return ditc_fail(st, DITC_ERR_FORMAT, "--resume %s: not a complete checkpoint (%s)", resume, why);
        snprintf(out, n, "%s", resume);
        return 0;
    }
    if (stat(resume, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "--resume %s: %s", resume, strerror(errno));
    return ditc_checkpoint_latest(resume, out, n, st);
}

// sample_npz.c — the sampling-to-.npz pipeline (see sample_npz.h): layout, progress file, batches split over
// ranks, resume, final headers.
#define _DEFAULT_SOURCE 1 // realpath
#include "sample_npz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fs.h"
#include "npz_write.h"
#include "png_io.h"
#include "rng.h"

#define PROG_HEADER 8192        // the progress file: "ditc npz progress 1\n" + settings, zero padded
#define PROG_REC    32          // then one record per batch
#define REC_MAGIC   0x4250444eu // "NDPB"

typedef struct {
    uint32_t magic, batch, count, crc; // crc: CRC32 of the batch's pixel bytes
    uint64_t bytes;
    uint32_t zero, self; // self: CRC32 of the first 28 bytes
} prog_rec;

static void rec_encode(const prog_rec *r, unsigned char *b) {
    uint32_t w[8] = {r->magic, r->batch, r->count, r->crc, (uint32_t)r->bytes, (uint32_t)(r->bytes >> 32), 0, 0};
    for (int i = 0; i < 7; i++)
        for (int k = 0; k < 4; k++) b[4 * i + k] = (unsigned char)(w[i] >> (8 * k));
    uint32_t self = (uint32_t)crc32(0L, b, 28);
    for (int k = 0; k < 4; k++) b[28 + k] = (unsigned char)(self >> (8 * k));
}

// 1 if b holds a valid record for batch k.
static int rec_decode(const unsigned char *b, uint32_t k, prog_rec *r) {
    uint32_t w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
               (uint32_t)b[4 * i + 3] << 24;
    *r = (prog_rec){.magic = w[0],
                    .batch = w[1],
                    .count = w[2],
                    .crc = w[3],
                    .bytes = (uint64_t)w[4] | (uint64_t)w[5] << 32,
                    .zero = w[6],
                    .self = w[7]};
    return r->magic == REC_MAGIC && r->batch == k && r->zero == 0 && r->self == (uint32_t)crc32(0L, b, 28);
}

typedef struct {
    const ditc_sample_args *a;
    ditc_comm *comm;
    ditc_sampler *s;
    int K, C, side, tty;
    int64_t N, B, nbatch;
    uint64_t img_bytes; // H·W·3
    ditc_npz_layout L;
    char *partial, *progress;
    char header[PROG_HEADER];
    int fd, pfd;
    // progress display (rank 0)
    double t0, last_line;
    int64_t mine_total, mine_done, mine_before, cur_n;
    int lines;
} npz_run;

static int32_t label_of(const npz_run *r, int64_t i) {
    if (r->a->balanced) return (int32_t)(i % r->K);
    return (int32_t)ditc_rng_randint(r->a->seed, DITC_RNG_SAMPLE_LABEL, 0, (uint64_t)i, (uint64_t)r->K);
}

// The settings a resumed run must share with the one that wrote the progress file.
static int make_header(npz_run *r, ditc_status *st) {
    const ditc_sample_args *a = r->a;
    const char *w = ditc_sampler_weights_path(r->s);
    char wabs[PATH_MAX], vabs[PATH_MAX];
    struct stat sb;
    if (!realpath(w, wabs)) snprintf(wabs, sizeof wabs, "%s", w);
    if (!a->vae || !realpath(a->vae, vabs)) snprintf(vabs, sizeof vabs, "%s", a->vae ? a->vae : "none");
    long long wbytes = stat(w, &sb) == 0 ? (long long)sb.st_size : -1;
    memset(r->header, 0, sizeof r->header);
    int n = snprintf(r->header, sizeof r->header,
                     "ditc npz progress 1\nnum_samples=%lld\nbatch=%lld\nimage=%dx%dx3\nclasses=%d\nseed=%llu\n"
                     "sampler=%s\nsteps=%d\ncfg_scale=%.17g\ncfg_channels=%s\nbalanced=%d\nweights=%s\n"
                     "weights_bytes=%lld\nvae=%s\nzip64=%d\nfile_bytes=%llu\n",
                     (long long)r->N, (long long)r->B, r->side, r->side, r->K, (unsigned long long)a->seed,
                     a->ddim ? "ddim" : "ddpm", a->num_steps, a->cfg_scale, a->cfg_all_channels ? "all" : "3",
                     a->balanced, wabs, wbytes, vabs, r->L.zip64, (unsigned long long)r->L.file_size);
    if (n >= (int)sizeof r->header) return ditc_fail(st, DITC_ERR_ARG, "--npz: paths too long for %s", r->progress);
    return 0;
}

// Rank 0: a fresh progress file and a preallocated partial file, or (same settings) the existing ones;
// *finished = 1 when a previous run got as far as renaming the file into place.
static int setup(npz_run *r, int *finished, ditc_status *st) {
    const char *out = r->a->npz;
    struct stat sb;
    int pfd = open(r->progress, O_RDONLY);
    if (pfd >= 0) {
        char old[PROG_HEADER];
        int bad = ditc_pread_all(pfd, old, sizeof old, 0);
        close(pfd);
        if (bad || memcmp(old, r->header, sizeof old))
            return ditc_fail(st, DITC_ERR_ARG,
                             "--npz %s: %s was written by a run with other settings (or is damaged); rerun with "
                             "the same flags, or remove it and %s to start over",
                             out, r->progress, r->partial);
        if (stat(r->partial, &sb) != 0 && stat(out, &sb) == 0 && (uint64_t)sb.st_size == r->L.file_size) {
            *finished = 1; // renamed into place: only the progress file was left
            return 0;
        }
        printf("resuming %s from %s\n", out, r->progress);
    } else {
        if (errno != ENOENT) return ditc_fail(st, DITC_ERR_IO, "--npz %s: %s: %s", out, r->progress, strerror(errno));
        unsigned char *buf = ditc_xcalloc(1, PROG_HEADER + (size_t)r->nbatch * PROG_REC);
        memcpy(buf, r->header, PROG_HEADER);
        ditc_status ws = {0};
        int rc = ditc_write_file_atomic(r->progress, buf, PROG_HEADER + (size_t)r->nbatch * PROG_REC, &ws);
        free(buf);
        if (rc) return ditc_fail(st, DITC_ERR_IO, "--npz %s: %s", out, ws.message);
        unlink(r->partial); // stale data of another run: start from an empty file
    }
    int fd = open(r->partial, O_RDWR | O_CREAT, 0666);
    if (fd < 0) return ditc_fail(st, DITC_ERR_IO, "--npz %s: %s: %s", out, r->partial, strerror(errno));
    int bad = fstat(fd, &sb) != 0 || ((uint64_t)sb.st_size != r->L.file_size && ftruncate(fd, (off_t)r->L.file_size));
    int e = errno;
    close(fd);
    if (bad) return ditc_fail(st, DITC_ERR_IO, "--npz %s: %s: %s", out, r->partial, strerror(e));
    return 0;
}

static void fmt_eta(double s, char *b, size_t n) {
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(b, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else snprintf(b, n, "%ldm%02lds", t / 60, t % 60);
}

// One line of progress (rank 0): on a terminal rewritten after every denoising step; otherwise a line after the
// first batch, then at most every 30 s, and after the last batch. Counts are rank 0's own samples.
static void show(npz_run *r, int step, int steps) {
    if (r->comm->rank != 0) return;
    const double now = ditc_now_s(), el = now - r->t0, frac = (double)step / (double)steps;
    const int batch_end = step == steps, end = batch_end && r->mine_done + r->cur_n == r->mine_total;
    if (!r->tty && (!batch_end || (r->lines > 0 && !end && now - r->last_line < 30.0))) return;
    const double done = (double)(r->mine_done - r->mine_before) + frac * (double)r->cur_n;
    const double left = (double)(r->mine_total - r->mine_done) - frac * (double)r->cur_n, ips = el > 0 ? done / el : 0;
    char eta[32] = "?", who[48] = "", all[64] = "";
    if (ips > 0) fmt_eta(left / ips, eta, sizeof eta);
    if (r->comm->world > 1) {
        snprintf(who, sizeof who, "rank 0 of %d: ", r->comm->world);
        snprintf(all, sizeof all, " (all ranks ~%.2f)", ips * r->comm->world);
    }
    fprintf(stderr, "%s%s%lld/%lld samples, step %d/%d, %.2f img/s%s, ETA %s%s", r->tty ? "\r\033[K" : "", who,
            (long long)(r->mine_done + (batch_end ? r->cur_n : 0)), (long long)r->mine_total, step, steps, ips, all,
            eta, r->tty && !end ? "" : "\n");
    r->last_line = now;
    r->lines++;
}

static void step_progress(int step, int steps, void *user) { show(user, step, steps); }

// Draws batch k and writes its pixels; *rec gets its record (not yet written).
static int draw_batch(npz_run *r, int64_t k, unsigned char *pix, float *img, int32_t *lab, ditc_status *st) {
    const int64_t i0 = k * r->B, n = (i0 + r->B <= r->N ? r->B : r->N - i0);
    for (int64_t j = 0; j < n; j++) lab[j] = label_of(r, i0 + j);
    r->cur_n = n;
    ditc_sampler_hooks h = {.progress = step_progress, .user = r};
    int rc = ditc_sampler_draw(r->s, (int)n, lab, (uint64_t)i0, &h, img, NULL, st);
    if (rc) return rc;
    const size_t plane = (size_t)r->C * (size_t)r->side * (size_t)r->side;
    for (int64_t j = 0; j < n; j++)
        ditc_image_to_hwc_u8(img + (size_t)j * plane, r->C, r->side, r->side, pix + (size_t)j * r->img_bytes);
    const uint64_t bytes = (uint64_t)n * r->img_bytes, off = r->L.m[0].data_off + (uint64_t)i0 * r->img_bytes;
    if (ditc_pwrite_all(r->fd, pix, (size_t)bytes, off) || fdatasync(r->fd))
        return ditc_fail(st, DITC_ERR_IO, "--npz %s: write %s: %s", r->a->npz, r->partial, strerror(errno));
    prog_rec rec = {.magic = REC_MAGIC, .batch = (uint32_t)k, .count = (uint32_t)n, .bytes = bytes};
    rec.crc = (uint32_t)crc32(0L, pix, (uInt)bytes);
    unsigned char b[PROG_REC];
    rec_encode(&rec, b);
    if (ditc_pwrite_all(r->pfd, b, sizeof b, PROG_HEADER + (uint64_t)k * PROG_REC))
        return ditc_fail(st, DITC_ERR_IO, "--npz %s: write %s: %s", r->a->npz, r->progress, strerror(errno));
    r->mine_done += n;
    return 0;
}

// 1 if batch k has a record whose CRC matches the partial file's bytes.
static int batch_done(npz_run *r, int64_t k, prog_rec *rec) {
    unsigned char b[PROG_REC];
    const int64_t i0 = k * r->B, n = (i0 + r->B <= r->N ? r->B : r->N - i0);
    if (ditc_pread_all(r->pfd, b, sizeof b, PROG_HEADER + (uint64_t)k * PROG_REC) || !rec_decode(b, (uint32_t)k, rec) ||
        rec->count != (uint32_t)n || rec->bytes != (uint64_t)n * r->img_bytes)
        return 0;
    uint32_t crc;
    if (ditc_crc32_range(r->fd, r->L.m[0].data_off + (uint64_t)i0 * r->img_bytes, rec->bytes, &crc)) return 0;
    return crc == rec->crc;
}

// Rank 0, every batch done: labels, CRCs, headers, central directory; rename into place.
static int finish(npz_run *r, ditc_status *st) {
    const char *out = r->a->npz;
    uLong crc0 = crc32(0L, Z_NULL, 0);
    for (int64_t k = 0; k < r->nbatch; k++) {
        prog_rec rec;
        unsigned char b[PROG_REC];
        if (ditc_pread_all(r->pfd, b, sizeof b, PROG_HEADER + (uint64_t)k * PROG_REC) ||
            !rec_decode(b, (uint32_t)k, &rec))
            return ditc_fail(st, DITC_ERR_IO, "--npz %s: batch %lld has no record in %s", out, (long long)k,
                             r->progress);
        crc0 = crc32_combine(crc0, rec.crc, (z_off_t)rec.bytes);
    }
    unsigned char *lab = ditc_xmalloc((size_t)r->N * 8);
    for (int64_t i = 0; i < r->N; i++) {
        uint64_t v = (uint64_t)(int64_t)label_of(r, i);
        for (int b = 0; b < 8; b++) lab[8 * i + b] = (unsigned char)(v >> (8 * b));
    }
    uint32_t crc1 = (uint32_t)crc32(0L, lab, (uInt)(r->N * 8));
    int bad = ditc_pwrite_all(r->fd, lab, (size_t)r->N * 8, r->L.m[1].data_off);
    free(lab);
    if (bad) return ditc_fail(st, DITC_ERR_IO, "--npz %s: write %s: %s", out, r->partial, strerror(errno));
    r->L.m[0].crc = ditc_npz_member_crc(&r->L.m[0], (uint32_t)crc0);
    r->L.m[1].crc = ditc_npz_member_crc(&r->L.m[1], crc1);
    if (ditc_npz_write_meta(r->fd, &r->L, r->partial, st)) return st->code;
    if (fsync(r->fd) || rename(r->partial, out))
        return ditc_fail(st, DITC_ERR_IO, "--npz %s: %s", out, strerror(errno));
    char *dir = ditc_xstrdup(out), *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    ditc_fsync_dir(slash ? (*dir ? dir : "/") : ".");
    free(dir);
    unlink(r->progress);
    return 0;
}

// The collective "did every rank succeed": 0 when all ok.
static int all_ok(ditc_comm *cm, int failed) {
    float f = failed ? 1.0f : 0.0f;
    cm->allreduce_sum(cm, NULL, &f, 1, DITC_F32);
    return f == 0.0f;
}

int ditc_sample_npz_run(ditc_backend *be, ditc_comm *comm, const ditc_sample_args *a, ditc_status *st) {
    npz_run r = {.a = a, .comm = comm, .N = a->num_samples, .B = a->batch > 0 ? a->batch : 32, .fd = -1, .pfd = -1};
    int rc = ditc_sampler_open(&r.s, be, a, 0, st);
    unsigned char *pix = NULL;
    float *img = NULL;
    int32_t *lab = NULL;
    if (!rc) {
        r.K = ditc_sampler_config(r.s)->num_classes;
        ditc_sampler_image_shape(r.s, &r.C, &r.side);
        if (r.C != 1 && r.C != 3)
            rc =
                ditc_fail(st, DITC_ERR_ARG, "--npz %s: the decoded images have %d channels (need 1 or 3)", a->npz, r.C);
    }
    if (!rc) {
        if (r.B > r.N) r.B = r.N;
        r.nbatch = (r.N + r.B - 1) / r.B;
        r.img_bytes = (uint64_t)r.side * (uint64_t)r.side * 3;
        const char *force = getenv("DITC_NPZ_FORCE_ZIP64"); // tests: the ZIP64 records on a small file
        rc = ditc_npz_add(&r.L, "arr_0", "|u1", 1, 4, (int64_t[]){r.N, r.side, r.side, 3}, st) ||
             ditc_npz_add(&r.L, "arr_1", "<i8", 8, 1, (int64_t[]){r.N}, st);
        ditc_npz_plan(&r.L, force && *force && strcmp(force, "0"));
        size_t pl = strlen(a->npz) + 16;
        r.partial = ditc_xmalloc(pl);
        r.progress = ditc_xmalloc(pl);
        snprintf(r.partial, pl, "%s.partial", a->npz);
        snprintf(r.progress, pl, "%s.progress", a->npz);
        if (!rc) rc = make_header(&r, st);
    }
    // Rank 0 prepares the files; then everybody opens them.
    int done_already = 0;
    if (comm->rank == 0 && !rc) { rc = setup(&r, &done_already, st); }
    float flags[2] = {rc ? 1.0f : 0.0f, done_already ? 1.0f : 0.0f};
    comm->allreduce_sum(comm, NULL, flags, 2, DITC_F32);
    if (flags[0] != 0.0f) {
        if (!rc) rc = ditc_fail(st, DITC_ERR_IO, "--npz %s: rank 0 could not prepare the output", a->npz);
        goto done;
    }
    if (flags[1] != 0.0f) {
        if (comm->rank == 0) {
            unlink(r.progress);
            printf("%s is already complete (%lld samples)\n", a->npz, (long long)r.N);
        }
        goto done;
    }
    r.fd = open(r.partial, O_RDWR);
    r.pfd = open(r.progress, O_RDWR);
    if (r.fd < 0 || r.pfd < 0)
        rc = ditc_fail(st, DITC_ERR_IO, "--npz %s: open %s: %s", a->npz, r.fd < 0 ? r.partial : r.progress,
                       strerror(errno));
    int64_t resumed = 0, redo = 0;
    if (!rc) {
        const int64_t plane = (int64_t)r.C * r.side * r.side;
        pix = ditc_xmalloc((size_t)(r.B * (int64_t)r.img_bytes));
        img = ditc_xmalloc(sizeof(float) * (size_t)(r.B * plane));
        lab = ditc_xmalloc(sizeof(int32_t) * (size_t)r.B);
        // this rank's batches: k = rank, rank + P, ...; those recorded and verified are skipped
        char *todo = ditc_xcalloc((size_t)r.nbatch, 1);
        for (int64_t k = comm->rank; k < r.nbatch; k += comm->world) {
            const int64_t n = (k * r.B + r.B <= r.N ? r.B : r.N - k * r.B);
            r.mine_total += n;
            prog_rec rec;
            unsigned char b[PROG_REC];
            int had = !ditc_pread_all(r.pfd, b, sizeof b, PROG_HEADER + (uint64_t)k * PROG_REC) &&
                      rec_decode(b, (uint32_t)k, &rec);
            if (had && batch_done(&r, k, &rec)) {
                r.mine_done += n;
                resumed += n;
            } else {
                todo[k] = 1;
                redo += had;
            }
        }
        r.mine_before = r.mine_done;
        r.tty = isatty(fileno(stderr));
        r.t0 = r.last_line = ditc_now_s();
        if (comm->rank == 0 && resumed)
            printf("%lld samples of rank 0 already written and verified%s\n", (long long)resumed,
                   redo ? "; some recorded batches failed their CRC and are drawn again" : "");
        for (int64_t k = comm->rank; k < r.nbatch && !rc; k += comm->world)
            if (todo[k]) rc = draw_batch(&r, k, pix, img, lab, st);
        free(todo);
    }
    if (!all_ok(comm, rc != 0)) {
        if (!rc) rc = ditc_fail(st, DITC_ERR_IO, "--npz %s: another rank failed", a->npz);
        goto done;
    }
    if (comm->rank == 0) {
        rc = finish(&r, st);
        if (!rc)
            printf("wrote %s: %lld samples %dx%dx3 (arr_0 uint8, arr_1 int64 labels%s), %s %d steps, cfg %.2f, %d "
                   "process%s%s\n",
                   a->npz, (long long)r.N, r.side, r.side, a->balanced ? ", balanced" : "", a->ddim ? "DDIM" : "DDPM",
                   ditc_sampler_steps(r.s), a->cfg_scale, comm->world, comm->world > 1 ? "es" : "",
                   r.L.zip64 ? ", ZIP64" : "");
    }
    if (!all_ok(comm, rc != 0) && !rc) rc = ditc_fail(st, DITC_ERR_IO, "--npz %s: rank 0 failed to finish", a->npz);
done:
    if (r.fd >= 0) close(r.fd);
    if (r.pfd >= 0) close(r.pfd);
    free(pix);
    free(img);
    free(lab);
    free(r.partial);
    free(r.progress);
    ditc_sampler_close(r.s);
    return rc;
}

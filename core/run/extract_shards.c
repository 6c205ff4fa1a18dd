// extract_shards.c — `ditc extract` without --vae: a source's exact 8-bit samples into safetensors shards and
// index.json (format: data/shards.h, docs/data-formats.md; read back by data/shards.c).
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "extract.h"
#include "fs.h"
#include "json.h"
#include "safetensors.h"
#include "shards.h"

// Removes dir/shard-<digits>.safetensors numbered >= keep (left from an earlier, larger extraction).
static void remove_stale_shards(const char *dir, int64_t keep) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *p = e->d_name;
        if (strncmp(p, "shard-", 6)) continue;
        p += 6;
        int64_t k = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 12) k = k * 10 + (*p++ - '0'), digits++;
        if (digits < 5 || strcmp(p, ".safetensors") || k < keep) continue;
        char *path = ditc_path_join(dir, e->d_name);
        unlink(path);
        free(path);
    }
    closedir(d);
}

// Fills shard k's samples (OpenMP over samples, nt threads) and writes dir/names[k] atomically.
static int write_shard(const ditc_dataset *ds, const char *dir, int64_t k, int64_t shard_size, int nt, uint8_t *images,
                       int32_t *labels, ditc_status *errs, char name[32], int64_t *count, ditc_status *st) {
    const size_t per = (size_t)ds->channels * (size_t)ds->side * (size_t)ds->side;
    const int64_t first = k * shard_size, cnt = first + shard_size <= ds->n ? shard_size : ds->n - first;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
#endif
    for (int64_t b = 0; b < cnt; b++) {
        errs[b].code = 0;
        if (ds->get_u8(ds, first + b, images + (size_t)b * per, &labels[b], &errs[b]) && !errs[b].code)
            errs[b].code = DITC_ERR_FORMAT;
    }
    (void)nt;
    for (int64_t b = 0; b < cnt; b++)
        if (errs[b].code) {
            if (st) *st = errs[b];
            return errs[b].code;
        }
    snprintf(name, 32, "shard-%05lld.safetensors", (long long)k);
    *count = cnt;
    char *sp = ditc_path_join(dir, name);
    ditc_st_writer *w = ditc_st_writer_new();
    int64_t shape[4] = {cnt, ds->channels, ds->side, ds->side};
    ditc_st_writer_add(w, "images", DITC_U8, 4, shape, images);
    ditc_st_writer_add(w, "labels", DITC_I32, 1, shape, labels);
    char buf[32];
    ditc_st_writer_meta(w, "format", DITC_SHARDS_FORMAT);
    snprintf(buf, sizeof buf, "%d", DITC_SHARDS_VERSION);
    ditc_st_writer_meta(w, "version", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)first);
    ditc_st_writer_meta(w, "first_index", buf);
    int rc = ditc_st_writer_save(w, sp, st);
    ditc_st_writer_free(w);
    free(sp);
    return rc;
}

// index.json (written last, atomically): the format, the sample shape, the source and the shards in order.
static int write_index(const ditc_dataset *ds, const char *ip, const char *source, int64_t nshards, char (*names)[32],
                       const int64_t *counts, ditc_status *st) {
    ditc_json_buf b = {0};
    char num[64];
    ditc_json_buf_puts(&b, "{\n  \"format\": \"" DITC_SHARDS_FORMAT "\",\n  \"version\": ");
    ditc_json_buf_u64(&b, DITC_SHARDS_VERSION);
    ditc_json_buf_puts(&b, ",\n  \"data\": \"" DITC_SHARDS_DATA_U8 "\",\n  \"channels\": ");
    ditc_json_buf_u64(&b, (uint64_t)ds->channels);
    ditc_json_buf_puts(&b, ",\n  \"side\": ");
    ditc_json_buf_u64(&b, (uint64_t)ds->side);
    ditc_json_buf_puts(&b, ",\n  \"num_classes\": ");
    ditc_json_buf_u64(&b, (uint64_t)ds->num_classes);
    ditc_json_buf_puts(&b, ",\n  \"total\": ");
    ditc_json_buf_u64(&b, (uint64_t)ds->n);
    ditc_json_buf_puts(&b, ",\n  \"source\": ");
    const char *src = source ? source : ds->desc;
    ditc_json_buf_string(&b, src, strlen(src));
    ditc_json_buf_puts(&b, ",\n  \"shards\": [\n");
    for (int64_t k = 0; k < nshards; k++) {
        ditc_json_buf_puts(&b, "    {\"file\": ");
        ditc_json_buf_string(&b, names[k], strlen(names[k]));
        snprintf(num, sizeof num, ", \"count\": %lld}%s\n", (long long)counts[k], k + 1 < nshards ? "," : "");
        ditc_json_buf_puts(&b, num);
    }
    ditc_json_buf_puts(&b, "  ]\n}\n");
    int rc = ditc_write_file_atomic(ip, b.p, b.len, st);
    ditc_json_buf_free(&b);
    return rc;
}

int ditc_shards_write(const ditc_dataset *ds, const char *dir, int64_t shard_size, int threads, const char *source,
                      FILE *log, ditc_status *st) {
    DITC_CHECK(ds != NULL && dir != NULL, "shards_write with NULL arguments");
    ditc_status_ok(st);
    if (!ds->get_u8)
        return ditc_fail(st, DITC_ERR_UNSUPPORTED,
                         "cannot extract %s: this source has no exact 8-bit samples (IDX with an area downscale, "
                         "synthetic data): nothing to store as u8 shards",
                         ds->desc);
    if (shard_size < 1)
        return ditc_fail(st, DITC_ERR_ARG, "--shard-size %lld: must be at least 1", (long long)shard_size);
    const size_t per = (size_t)ds->channels * (size_t)ds->side * (size_t)ds->side;
    if (shard_size > ds->n) shard_size = ds->n;
    if ((uint64_t)shard_size * per > ((uint64_t)1 << 36))
        return ditc_fail(st, DITC_ERR_ARG, "--shard-size %lld: %lld samples of %zu bytes is more than 64 GiB per shard",
                         (long long)shard_size, (long long)shard_size, per);
    const int64_t nshards = (ds->n + shard_size - 1) / shard_size;
    if (nshards > 999999)
        return ditc_fail(st, DITC_ERR_ARG, "--shard-size %lld gives %lld shards; at most 999999", (long long)shard_size,
                         (long long)nshards);
    if (ditc_mkdir_p(dir, "--out", st)) return st->code;
    char *ip = ditc_path_join(dir, "index.json");
    if (unlink(ip) != 0 && errno != ENOENT) {
        int rc = ditc_fail(st, DITC_ERR_IO, "%s: cannot remove the old index: %s", ip, strerror(errno));
        free(ip);
        return rc;
    }
    uint8_t *images = ditc_xmalloc((size_t)shard_size * per);
    int32_t *labels = ditc_xmalloc(sizeof *labels * (size_t)shard_size);
    ditc_status *errs = ditc_xcalloc((size_t)shard_size, sizeof *errs);
    char(*names)[32] = ditc_xcalloc((size_t)nshards, sizeof *names);
    int64_t *counts = ditc_xcalloc((size_t)nshards, sizeof *counts);
    int rc = 0;
    const double t0 = ditc_now_s();
#ifdef _OPENMP
    const int nt = threads > 0 ? threads : omp_get_max_threads();
#else
    const int nt = threads;
#endif
    for (int64_t k = 0, done = 0; k < nshards && !rc; k++) {
        rc = write_shard(ds, dir, k, shard_size, nt, images, labels, errs, names[k], &counts[k], st);
        done += counts[k];
        if (!rc && log) {
            double el = ditc_now_s() - t0;
            fprintf(log, "extract: %s: %lld samples (%lld/%lld, %.0f samples/s)\n", names[k], (long long)counts[k],
                    (long long)done, (long long)ds->n, el > 0 ? (double)done / el : 0.0);
            fflush(log);
        }
    }
    free(images);
    free(labels);
    free(errs);
    if (!rc) {
        remove_stale_shards(dir, nshards);
        rc = write_index(ds, ip, source, nshards, names, counts, st);
        if (!rc && log)
            fprintf(log, "extract: wrote %s (%lld samples %dx%dx%d in %lld shards, %.1f s)\n", ip, (long long)ds->n,
                    ds->channels, ds->side, ds->side, (long long)nshards, ditc_now_s() - t0);
    }
    free(names);
    free(counts);
    free(ip);
    return rc;
}

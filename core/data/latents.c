// latents.c — latent shards (latents.h) as a data source: the index parsed strictly, the shards memory-mapped
// and validated on open. `ditc extract --vae` writes them (run/extract_latents.c).
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "latents.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "json.h"
#include "safetensors.h"

#define LAT_INDEX_MAX_BYTES (64u << 20)

const char *const ditc_latents_moments[4] = {"mean", "logvar", "mean_flip", "logvar_flip"};

// ---- reading ------------------------------------------------------------------------------------------

typedef struct {
    char *path;
    void *map;
    size_t size;
    ditc_safetensors st;
    const unsigned char *mom[4], *labels;
    int64_t first, count;
} lat_shard;

typedef struct {
    ditc_latents_info info;
    int nshards;
    lat_shard *shards;
    int64_t n; // floats per moment tensor per sample
} lat_ctx;

static void lat_ctx_free(lat_ctx *c) {
    if (!c) return;
    for (int k = 0; k < c->nshards; k++) {
        ditc_st_close(&c->shards[k].st);
        if (c->shards[k].map) munmap(c->shards[k].map, c->shards[k].size);
        free(c->shards[k].path);
    }
    free(c->shards);
    free(c);
}

static void lat_destroy(ditc_dataset *ds) {
    lat_ctx_free(ds->ctx);
    free(ds);
}

static int lat_get(const ditc_dataset *ds, int64_t i, float *dst, int32_t *label, ditc_status *st) {
    (void)st;
    const lat_ctx *c = ds->ctx;
    DITC_CHECK(i >= 0 && i < ds->n, "latents sample %lld out of range", (long long)i);
    int lo = 0, hi = c->nshards - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (c->shards[mid].first <= i) lo = mid;
        else hi = mid - 1;
    }
    const lat_shard *s = &c->shards[lo];
    int64_t o = i - s->first;
    for (int m = 0; m < (c->info.flips ? 4 : 2); m++)
        memcpy(dst + m * c->n, s->mom[m] + (size_t)(o * c->n) * sizeof(float), (size_t)c->n * sizeof(float));
    int32_t v;
    memcpy(&v, s->labels + (size_t)o * 4, 4);
    *label = v;
    return 0;
}

typedef struct {
    uint64_t u[9]; // version, latent_channels, side, image_side, num_classes, total, flips
    int have[12];
    double d[2]; // scaling_factor, shift_factor
    char *format;
    int nshards;
    char **files;
    uint64_t *counts;
} lat_index;

static const char *const k_uints[7] = {"version",     "latent_channels", "side", "image_side",
                                       "num_classes", "total",           "flips"};

static int idx_double(ditc_json *j, const char *key, double *out) {
    size_t at = j->pos;
    ditc_json_num num;
    if (ditc_json_peek(j) != DITC_JSON_NUMBER || ditc_json_number(j, &num))
        return ditc_json_fail(j, at, "\"%s\" must be a number", key);
    char buf[64];
    if (num.len >= sizeof buf) return ditc_json_fail(j, at, "\"%s\": number too long", key);
    memcpy(buf, j->buf + num.pos, num.len);
    buf[num.len] = '\0';
    *out = strtod(buf, NULL);
    return isfinite(*out) ? 0 : ditc_json_fail(j, at, "\"%s\" must be finite", key);
}

static int idx_shard(ditc_json *j, lat_index *x) {
    size_t at = j->pos;
    if (ditc_json_peek(j) != DITC_JSON_OBJECT || ditc_json_object_begin(j))
        return ditc_json_fail(j, at, "shards[%d] must be an object {\"file\": ..., \"count\": ...}", x->nshards);
    if (x->nshards >= DITC_LATENTS_MAX_SHARDS) return ditc_json_fail(j, at, "too many shards");
    char *key = NULL, *file = NULL;
    uint64_t count = 0;
    int more, r = 0, have_count = 0;
    while (!r && (more = ditc_json_object_next(j, &key, NULL, NULL)) == 1) {
        if (!strcmp(key, "file") && !file && ditc_json_peek(j) == DITC_JSON_STRING) {
            size_t len;
            r = ditc_json_string(j, &file, &len);
            if (!r && (strlen(file) != len || strchr(file, '/') || file[0] == '.'))
                r = ditc_json_fail(j, at, "shards[%d].file must be a plain file name", x->nshards);
        } else if (!strcmp(key, "count") && !have_count && ditc_json_peek(j) == DITC_JSON_NUMBER) {
            ditc_json_num num;
            r = ditc_json_number(j, &num);
            if (!r && (num.kind != DITC_JSON_NUM_UINT || num.u < 1))
                r = ditc_json_fail(j, at, "shards[%d].count must be a positive integer", x->nshards);
            count = num.u;
            have_count = 1;
        } else r = ditc_json_fail(j, j->pos, "shards[%d]: unexpected or duplicate key \"%s\"", x->nshards, key);
        free(key);
        key = NULL;
    }
    if (!r && more < 0) r = -1;
    if (!r && (!file || !have_count)) r = ditc_json_fail(j, at, "shards[%d] needs \"file\" and \"count\"", x->nshards);
    if (r) {
        free(file);
        return -1;
    }
    x->files = ditc_xrealloc(x->files, (size_t)(x->nshards + 1) * sizeof *x->files);
    x->counts = ditc_xrealloc(x->counts, (size_t)(x->nshards + 1) * sizeof *x->counts);
    x->files[x->nshards] = file;
    x->counts[x->nshards++] = count;
    return 0;
}

static int idx_parse(ditc_json *j, lat_index *x) {
    if (ditc_json_peek(j) != DITC_JSON_OBJECT || ditc_json_object_begin(j))
        return ditc_json_fail(j, j->pos, "the index must be a JSON object");
    char *key = NULL;
    int more, r = 0;
    while (!r && (more = ditc_json_object_next(j, &key, NULL, NULL)) == 1) {
        int k, done = 0;
        for (k = 0; k < 7 && !done; k++)
            if (!strcmp(key, k_uints[k])) {
                done = 1;
                ditc_json_num num;
                size_t at = j->pos;
                if (x->have[k]) r = ditc_json_fail(j, at, "duplicate key \"%s\"", key);
                else if (ditc_json_peek(j) != DITC_JSON_NUMBER || ditc_json_number(j, &num) ||
                         num.kind != DITC_JSON_NUM_UINT)
                    r = ditc_json_fail(j, at, "\"%s\" must be a non-negative integer", key);
                else x->u[k] = num.u;
                x->have[k] = 1;
            }
        if (done) {
        } else if (!strcmp(key, "scaling_factor") && !x->have[7]) r = idx_double(j, key, &x->d[0]), x->have[7] = 1;
        else if (!strcmp(key, "shift_factor") && !x->have[8]) r = idx_double(j, key, &x->d[1]), x->have[8] = 1;
        else if (!strcmp(key, "format") && !x->format && ditc_json_peek(j) == DITC_JSON_STRING) {
            size_t len;
            r = ditc_json_string(j, &x->format, &len);
        } else if ((!strcmp(key, "vae") || !strcmp(key, "source")) && ditc_json_peek(j) == DITC_JSON_STRING) {
            r = ditc_json_skip(j);
        } else if (!strcmp(key, "shards") && !x->have[9] && ditc_json_peek(j) == DITC_JSON_ARRAY) {
            x->have[9] = 1;
            int m;
            r = ditc_json_array_begin(j);
            while (!r && (m = ditc_json_array_next(j)) == 1) r = idx_shard(j, x);
            if (!r && m < 0) r = -1;
        } else r = ditc_json_fail(j, j->pos, "unexpected, duplicate or mistyped key \"%s\"", key);
        free(key);
        key = NULL;
    }
    if (!r && more < 0) r = -1;
    if (!r && ditc_json_peek(j) != DITC_JSON_END) r = ditc_json_fail(j, j->pos, "trailing data after the index object");
    for (int k = 0; !r && k < 10; k++)
        if (!x->have[k])
            r = ditc_json_fail(j, 0, "missing key \"%s\"",
                               k < 7    ? k_uints[k]
                               : k == 7 ? "scaling_factor"
                               : k == 8 ? "shift_factor"
                                        : "shards");
    if (!r && (!x->format || strcmp(x->format, DITC_LATENTS_FORMAT)))
        r = ditc_json_fail(j, 0, "\"format\" must be \"%s\"", DITC_LATENTS_FORMAT);
    if (!r && x->u[0] != DITC_LATENTS_VERSION)
        r = ditc_json_fail(j, 0, "unsupported version %llu", (unsigned long long)x->u[0]);
    if (!r && (x->u[1] < 1 || x->u[1] > 1024 || x->u[2] < 1 || x->u[2] > 4096 || x->u[4] < 1 || x->u[4] > (1u << 24) ||
               x->u[6] > 1 || x->nshards < 1 || !(x->d[0] > 0)))
        r = ditc_json_fail(j, 0, "latent_channels, side, num_classes, flips, scaling_factor or shards out of range");
    return r;
}

static int read_whole(const char *path, char **buf, size_t *len, ditc_status *st) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return ditc_fail(st, DITC_ERR_IO, "latents index %s: %s%s", path, strerror(errno),
                         errno == ENOENT ? " (not written by `ditc extract --vae`, or unfinished)" : "");
    int rd = ditc_read_stream(f, LAT_INDEX_MAX_BYTES, buf, len);
    fclose(f);
    if (rd < 0) return ditc_fail(st, DITC_ERR_IO, "latents index %s: read error", path);
    if (rd) return ditc_fail(st, DITC_ERR_FORMAT, "latents index %s: too large", path);
    return 0;
}

// Maps and validates shard k: exactly the moment tensors F32 [count, lc, side, side] and labels I32 [count]
// in [0, num_classes).
static int open_shard(lat_ctx *c, lat_shard *s, int64_t count, ditc_status *st) {
    int fd = open(s->path, O_RDONLY);
    if (fd < 0) return ditc_fail(st, DITC_ERR_IO, "latent shard %s: %s", s->path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size <= 0) {
        close(fd);
        return ditc_fail(st, DITC_ERR_FORMAT, "latent shard %s: empty or unreadable", s->path);
    }
    s->size = (size_t)sb.st_size;
    s->map = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (s->map == MAP_FAILED) {
        s->map = NULL;
        return ditc_fail(st, DITC_ERR_IO, "latent shard %s: mmap: %s", s->path, strerror(errno));
    }
    if (ditc_st_parse(&s->st, s->map, s->size, s->path, st)) return st->code;
    int nm = c->info.flips ? 4 : 2, lc = c->info.latent_channels, S = c->info.side;
    if (s->st.n_tensors != nm + 1)
        return ditc_fail(st, DITC_ERR_FORMAT, "latent shard %s: %d tensors, expected %d (%s)", s->path, s->st.n_tensors,
                         nm + 1,
                         c->info.flips ? "mean, logvar, mean_flip, logvar_flip, labels" : "mean, logvar, labels");
    for (int m = 0; m < nm; m++) {
        const ditc_st_tensor *t = ditc_st_find(&s->st, ditc_latents_moments[m]);
        if (!t || t->dtype != DITC_F32 || t->ndim != 4 || t->shape[0] != count || t->shape[1] != lc ||
            t->shape[2] != S || t->shape[3] != S)
            return ditc_fail(st, DITC_ERR_FORMAT, "latent shard %s: tensor \"%s\" must be F32 [%lld, %d, %d, %d]",
                             s->path, ditc_latents_moments[m], (long long)count, lc, S, S);
        s->mom[m] = t->data;
    }
    const ditc_st_tensor *t = ditc_st_find(&s->st, "labels");
    if (!t || t->dtype != DITC_I32 || t->ndim != 1 || t->shape[0] != count)
        return ditc_fail(st, DITC_ERR_FORMAT, "latent shard %s: tensor \"labels\" must be I32 [%lld]", s->path,
                         (long long)count);
    s->labels = t->data;
    return 0;
}

int ditc_dataset_open_latents(ditc_dataset **out, const char *dir, ditc_status *st) {
    *out = NULL;
    char *ip = ditc_path_join(dir, DITC_LATENTS_INDEX), *buf = NULL;
    size_t len = 0;
    lat_index x = {0};
    lat_ctx *c = NULL;
    int rc = read_whole(ip, &buf, &len, st);
    if (!rc) {
        ditc_json j;
        ditc_json_init(&j, buf, len);
        if (idx_parse(&j, &x))
            rc = ditc_fail(st, DITC_ERR_FORMAT, "latents index %s: %s (at byte %zu)", ip, j.err, j.err_pos);
    }
    uint64_t total = 0;
    for (int k = 0; !rc && k < x.nshards; k++) total += x.counts[k];
    if (!rc && total != x.u[5])
        rc = ditc_fail(st, DITC_ERR_FORMAT, "latents index %s: the shard counts add up to %llu, not total = %llu", ip,
                       (unsigned long long)total, (unsigned long long)x.u[5]);
    if (!rc) {
        c = ditc_xcalloc(1, sizeof *c);
        c->info = (ditc_latents_info){(int)x.u[1], (int)x.u[2], (int)x.u[3], (int)x.u[6], x.d[0], x.d[1]};
        c->n = (int64_t)x.u[1] * (int64_t)x.u[2] * (int64_t)x.u[2];
        c->shards = ditc_xcalloc((size_t)x.nshards, sizeof *c->shards);
        int64_t first = 0;
        for (int k = 0; k < x.nshards && !rc; k++) {
            c->nshards = k + 1;
            c->shards[k].path = ditc_path_join(dir, x.files[k]);
            c->shards[k].first = first;
            c->shards[k].count = (int64_t)x.counts[k];
            rc = open_shard(c, &c->shards[k], (int64_t)x.counts[k], st);
            first += (int64_t)x.counts[k];
        }
    }
    for (int k = 0; !rc && k < c->nshards; k++)
        for (int64_t i = 0; i < c->shards[k].count && !rc; i++) {
            int32_t v;
            memcpy(&v, c->shards[k].labels + i * 4, 4);
            if (v < 0 || v >= (int32_t)x.u[4])
                rc = ditc_fail(st, DITC_ERR_FORMAT, "latent shard %s: label %d outside [0, num_classes = %llu)",
                               c->shards[k].path, v, (unsigned long long)x.u[4]);
        }
    if (!rc) {
        ditc_dataset *ds = ditc_xcalloc(1, sizeof *ds);
        ds->n = (int64_t)total;
        ds->channels = (c->info.flips ? 4 : 2) * c->info.latent_channels;
        ds->side = c->info.side;
        ds->num_classes = (int)x.u[4];
        snprintf(ds->desc, sizeof ds->desc, "latents %s: %lld samples, %dx%dx%d (images %d), %s, scale %g", dir,
                 (long long)total, c->info.latent_channels, c->info.side, c->info.side, c->info.image_side,
                 c->info.flips ? "both orientations" : "no flips", c->info.scaling_factor);
        ds->get = lat_get;
        ds->destroy = lat_destroy;
        ds->ctx = c;
        *out = ds;
    } else {
        lat_ctx_free(c);
    }
    free(x.format);
    for (int k = 0; k < x.nshards; k++) free(x.files[k]);
    free(x.files);
    free(x.counts);
    free(buf);
    free(ip);
    return rc;
}

int ditc_dataset_latents_info(const ditc_dataset *ds, ditc_latents_info *info) {
    if (!ds || ds->destroy != lat_destroy) return 0;
    *info = ((const lat_ctx *)ds->ctx)->info;
    return 1;
}

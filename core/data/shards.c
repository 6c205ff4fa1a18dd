// shards.c — the shards data source: what `ditc extract` writes (run/extract_shards.c), read back
// (format: shards.h, docs/data-formats.md).
//
// Reading: index.json is parsed strictly (json.h pull parser: every key known, required, of the
// right type, no duplicates), then every shard is memory-mapped read-only and validated (a valid
// safetensors file with exactly `images` U8 [count, C, S, S] and `labels` I32 [count], labels in
// [0, num_classes)). Sample i maps to (shard, offset) by binary search over the shards' first indices;
// get_u8 copies the bytes out of the mapping (thread-safe: read-only). The mappings are backed by the page
// cache, so a data set larger than memory still opens (pages are read on first use).
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "shards.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "json.h"
#include "safetensors.h"

#define SHARDS_MAX_CHANNELS    64
#define SHARDS_MAX_SIDE        16384
#define SHARDS_MAX_CLASSES     (1 << 24)
#define SHARDS_MAX_FILES       10000000
#define SHARDS_INDEX_MAX_BYTES (256u << 20)

// ---- the shards data source -------------------------------------------------------------------------

typedef struct {
    char *path;
    void *map; // mmap of the whole file (NULL when size 0)
    size_t size;
    ditc_safetensors st;
    const uint8_t *images; // count * per bytes
    const uint8_t *labels; // count little-endian int32 (maybe unaligned)
    int64_t first, count;  // sample indices [first, first + count)
} shard;

typedef struct {
    char *dir;
    int nshards;
    shard *shards;
    size_t per; // bytes per sample
} shards_ctx;

static int shards_get_u8(const ditc_dataset *ds, int64_t i, uint8_t *dst, int32_t *label, ditc_status *st) {
    (void)st;
    const shards_ctx *c = ds->ctx;
    DITC_CHECK(i >= 0 && i < ds->n, "shards sample %lld out of range [0, %lld)", (long long)i, (long long)ds->n);
    int lo = 0, hi = c->nshards - 1; // last shard with first <= i
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (c->shards[mid].first <= i) lo = mid;
        else hi = mid - 1;
    }
    const shard *s = &c->shards[lo];
    const int64_t o = i - s->first;
    memcpy(dst, s->images + (size_t)o * c->per, c->per);
    int32_t v;
    memcpy(&v, s->labels + (size_t)o * 4, 4);
    *label = v;
    return 0;
}

static void shards_ctx_free(shards_ctx *c) {
    if (!c) return;
    for (int k = 0; k < c->nshards; k++) {
        shard *s = &c->shards[k];
        ditc_st_close(&s->st);
        if (s->map) munmap(s->map, s->size);
        free(s->path);
    }
    free(c->shards);
    free(c->dir);
    free(c);
}

static void shards_destroy(ditc_dataset *ds) {
    if (!ds) return;
    shards_ctx_free(ds->ctx);
    free(ds);
}

// ---- index.json -------------------------------------------------------------------------------------

typedef struct {
    char *format, *data, *source;
    uint64_t version, channels, side, num_classes, total;
    int have_version, have_channels, have_side, have_classes, have_total, have_shards;
    int nshards;
    char **files;
    uint64_t *counts;
} index_info;

static void index_free(index_info *x) {
    free(x->format);
    free(x->data);
    free(x->source);
    for (int k = 0; k < x->nshards; k++) free(x->files[k]);
    free(x->files);
    free(x->counts);
    memset(x, 0, sizeof *x);
}

static int json_uint(ditc_json *j, const char *key, uint64_t *out) {
    if (ditc_json_peek(j) != DITC_JSON_NUMBER)
        return ditc_json_fail(j, j->pos, "\"%s\" must be a non-negative integer, not %s", key,
                              ditc_json_kind_name(ditc_json_peek(j)));
    size_t at = j->pos;
    ditc_json_num num;
    if (ditc_json_number(j, &num)) return -1;
    if (num.kind != DITC_JSON_NUM_UINT) return ditc_json_fail(j, at, "\"%s\" must be a non-negative integer", key);
    *out = num.u;
    return 0;
}

static int json_str(ditc_json *j, const char *key, char **out) {
    if (ditc_json_peek(j) != DITC_JSON_STRING)
        return ditc_json_fail(j, j->pos, "\"%s\" must be a string, not %s", key,
                              ditc_json_kind_name(ditc_json_peek(j)));
    if (*out) return ditc_json_fail(j, j->pos, "duplicate key \"%s\"", key);
    size_t len;
    if (ditc_json_string(j, out, &len)) return -1;
    if (strlen(*out) != len) return ditc_json_fail(j, j->pos, "\"%s\" contains a NUL character", key);
    return 0;
}

static int parse_shard_entry(ditc_json *j, index_info *x) {
    size_t at = j->pos;
    if (ditc_json_peek(j) != DITC_JSON_OBJECT)
        return ditc_json_fail(j, at, "shards[%d] must be an object {\"file\": ..., \"count\": ...}", x->nshards);
    if (x->nshards >= SHARDS_MAX_FILES) return ditc_json_fail(j, at, "more than %d shards", SHARDS_MAX_FILES);
    if (ditc_json_object_begin(j)) return -1;
    char *file = NULL, *key = NULL;
    uint64_t count = 0;
    int have_count = 0, more, r = 0;
    while (!r && (more = ditc_json_object_next(j, &key, NULL, NULL)) == 1) {
        if (!strcmp(key, "file")) r = json_str(j, "file", &file);
        else if (!strcmp(key, "count")) {
            if (have_count) r = ditc_json_fail(j, j->pos, "duplicate key \"count\" in shards[%d]", x->nshards);
            else r = json_uint(j, "count", &count);
            have_count = 1;
        } else
            r = ditc_json_fail(j, j->pos, "unknown key \"%s\" in shards[%d] (expected file, count)", key, x->nshards);
        free(key);
        key = NULL;
    }
    if (!r && more < 0) r = -1;
    if (!r && (!file || !have_count))
        r = ditc_json_fail(j, at, "shards[%d] needs both \"file\" and \"count\"", x->nshards);
    if (r) {
        free(file);
        return -1;
    }
    x->files = ditc_xrealloc(x->files, sizeof *x->files * (size_t)(x->nshards + 1));
    x->counts = ditc_xrealloc(x->counts, sizeof *x->counts * (size_t)(x->nshards + 1));
    x->files[x->nshards] = file;
    x->counts[x->nshards++] = count;
    return 0;
}

static int parse_index_json(ditc_json *j, index_info *x) {
    if (ditc_json_peek(j) != DITC_JSON_OBJECT) return ditc_json_fail(j, j->pos, "the index must be a JSON object");
    if (ditc_json_object_begin(j)) return -1;
    char *key = NULL;
    int more, r = 0;
    struct {
        const char *name;
        uint64_t *v;
        int *have;
    } nums[] = {{"version", &x->version, &x->have_version},
                {"channels", &x->channels, &x->have_channels},
                {"side", &x->side, &x->have_side},
                {"num_classes", &x->num_classes, &x->have_classes},
                {"total", &x->total, &x->have_total}};
    while (!r && (more = ditc_json_object_next(j, &key, NULL, NULL)) == 1) {
        int done = 0;
        for (size_t k = 0; k < sizeof nums / sizeof *nums && !done; k++)
            if (!strcmp(key, nums[k].name)) {
                done = 1;
                if (*nums[k].have) r = ditc_json_fail(j, j->pos, "duplicate key \"%s\"", key);
                else r = json_uint(j, key, nums[k].v);
                *nums[k].have = 1;
            }
        if (done) {
        } else if (!strcmp(key, "format")) r = json_str(j, key, &x->format);
        else if (!strcmp(key, "data")) r = json_str(j, key, &x->data);
        else if (!strcmp(key, "source")) r = json_str(j, key, &x->source);
        else if (!strcmp(key, "shards")) {
            if (x->have_shards) r = ditc_json_fail(j, j->pos, "duplicate key \"shards\"");
            else if (ditc_json_peek(j) != DITC_JSON_ARRAY)
                r = ditc_json_fail(j, j->pos, "\"shards\" must be an array, not %s",
                                   ditc_json_kind_name(ditc_json_peek(j)));
            else {
                x->have_shards = 1;
                int m;
                r = ditc_json_array_begin(j);
                while (!r && (m = ditc_json_array_next(j)) == 1) r = parse_shard_entry(j, x);
                if (!r && m < 0) r = -1;
            }
        } else
            r = ditc_json_fail(
                j, j->pos,
                "unknown key \"%s\" (expected format, version, data, channels, side, num_classes, total, "
                "source, shards)",
                key);
        free(key);
        key = NULL;
    }
    if (!r && more < 0) r = -1;
    if (!r && ditc_json_peek(j) != DITC_JSON_END) r = ditc_json_fail(j, j->pos, "trailing data after the index object");
    return r;
}

// Shard file names must be plain names in the directory: no '/', not "." or "..", ending ".safetensors".
static int plain_shard_name(const char *f) {
    size_t n = strlen(f);
    static const char ext[] = ".safetensors";
    return n > sizeof ext - 1 && !strchr(f, '/') && f[0] != '.' && !strcmp(f + n - (sizeof ext - 1), ext);
}

static int read_index(const char *dir, index_info *x, ditc_status *st) {
    memset(x, 0, sizeof *x);
    char *ip = ditc_path_join(dir, "index.json");
    FILE *f = fopen(ip, "rb");
    if (!f) {
        int e = errno;
        int rc = ditc_fail(
            st, DITC_ERR_IO, "shards index %s: %s%s", ip, strerror(e),
            e == ENOENT ? " (not a directory written by `ditc extract`, or its extraction did not finish)" : "");
        free(ip);
        return rc;
    }
    char *buf;
    size_t len;
    int rd = ditc_read_stream(f, SHARDS_INDEX_MAX_BYTES, &buf, &len);
    fclose(f);
    int rc = 0;
    if (rd < 0) rc = ditc_fail(st, DITC_ERR_IO, "shards index %s: read error", ip);
    else if (rd)
        rc = ditc_fail(st, DITC_ERR_FORMAT, "shards index %s: larger than %u bytes", ip, SHARDS_INDEX_MAX_BYTES);
    if (!rc) {
        ditc_json j;
        ditc_json_init(&j, buf, len);
        if (parse_index_json(&j, x))
            rc = ditc_fail(st, DITC_ERR_FORMAT, "shards index %s: not a valid index: %s at byte %zu", ip, j.err,
                           j.err_pos);
    }
    free(buf);
    // semantic checks
    const char *miss = NULL;
    if (!rc) {
        if (!x->format) miss = "format";
        else if (!x->have_version) miss = "version";
        else if (!x->data) miss = "data";
        else if (!x->have_channels) miss = "channels";
        else if (!x->have_side) miss = "side";
        else if (!x->have_classes) miss = "num_classes";
        else if (!x->have_total) miss = "total";
        else if (!x->source) miss = "source";
        else if (!x->have_shards) miss = "shards";
        if (miss) rc = ditc_fail(st, DITC_ERR_FORMAT, "shards index %s: missing key \"%s\"", ip, miss);
    }
    if (!rc && strcmp(x->format, DITC_SHARDS_FORMAT))
        rc = ditc_fail(st, DITC_ERR_FORMAT, "shards index %s: format \"%.100s\", expected \"%s\"", ip, x->format,
                       DITC_SHARDS_FORMAT);
    if (!rc && x->version != DITC_SHARDS_VERSION)
        rc = ditc_fail(st, DITC_ERR_UNSUPPORTED, "shards index %s: version %" PRIu64 ", this ditc reads version %d", ip,
                       x->version, DITC_SHARDS_VERSION);
    if (!rc && strcmp(x->data, DITC_SHARDS_DATA_U8))
        rc = ditc_fail(st, DITC_ERR_UNSUPPORTED, "shards index %s: data \"%.100s\": this ditc reads \"%s\" shards only",
                       ip, x->data, DITC_SHARDS_DATA_U8);
    if (!rc && (x->channels < 1 || x->channels > SHARDS_MAX_CHANNELS || x->side < 1 || x->side > SHARDS_MAX_SIDE ||
                x->num_classes < 1 || x->num_classes > SHARDS_MAX_CLASSES))
        rc = ditc_fail(st, DITC_ERR_FORMAT,
                       "shards index %s: channels %" PRIu64 ", side %" PRIu64 ", num_classes %" PRIu64
                       " out of range (1..%d, 1..%d, 1..%d)",
                       ip, x->channels, x->side, x->num_classes, SHARDS_MAX_CHANNELS, SHARDS_MAX_SIDE,
                       SHARDS_MAX_CLASSES);
    if (!rc && x->nshards == 0) rc = ditc_fail(st, DITC_ERR_FORMAT, "shards index %s: \"shards\" is empty", ip);
    uint64_t sum = 0;
    for (int k = 0; !rc && k < x->nshards; k++) {
        if (!plain_shard_name(x->files[k]))
            rc = ditc_fail(st, DITC_ERR_FORMAT,
                           "shards index %s: shards[%d].file \"%.100s\" must be a file name in the directory ending in "
                           ".safetensors",
                           ip, k, x->files[k]);
        else if (x->counts[k] < 1 || x->counts[k] > ((uint64_t)1 << 40))
            rc = ditc_fail(st, DITC_ERR_FORMAT, "shards index %s: shards[%d].count %" PRIu64 " must be in 1..2^40", ip,
                           k, x->counts[k]);
        for (int m = 0; !rc && m < k; m++)
            if (!strcmp(x->files[m], x->files[k]))
                rc =
                    ditc_fail(st, DITC_ERR_FORMAT, "shards index %s: file \"%.100s\" is listed twice", ip, x->files[k]);
        sum += rc ? 0 : x->counts[k];
    }
    if (!rc && sum != x->total)
        rc = ditc_fail(st, DITC_ERR_FORMAT,
                       "shards index %s: the shard counts add up to %" PRIu64 " but total is %" PRIu64, ip, sum,
                       x->total);
    free(ip);
    if (rc) index_free(x);
    return rc;
}

// Maps and validates one shard file.
static int open_shard(shard *s, const index_info *x, ditc_status *st) {
    int fd = open(s->path, O_RDONLY);
    if (fd < 0) return ditc_fail(st, DITC_ERR_IO, "shard %s: %s", s->path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ditc_fail(st, DITC_ERR_IO, "shard %s: not a regular file", s->path);
    }
    s->size = (size_t)sb.st_size;
    static const unsigned char empty[1] = {0};
    const unsigned char *bytes = empty;
    if (s->size > 0) {
        s->map = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (s->map == MAP_FAILED) {
            s->map = NULL;
            int e = errno;
            close(fd);
            return ditc_fail(st, DITC_ERR_IO, "shard %s: cannot map: %s", s->path, strerror(e));
        }
        bytes = s->map;
    }
    close(fd);
    if (ditc_st_parse(&s->st, bytes, s->size, s->path, st)) return st ? st->code : DITC_ERR_FORMAT;
    const ditc_st_tensor *im = ditc_st_find(&s->st, "images"), *lb = ditc_st_find(&s->st, "labels");
    if (!im || !lb)
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "shard %s: no \"%s\" tensor (a shard holds \"images\" U8 and \"labels\" I32)", s->path,
                         im ? "labels" : "images");
    if (s->st.n_tensors != 2)
        return ditc_fail(st, DITC_ERR_FORMAT, "shard %s: %d tensors, expected exactly \"images\" and \"labels\"",
                         s->path, s->st.n_tensors);
    const int64_t C = (int64_t)x->channels, S = (int64_t)x->side, n = s->count;
    char got[160];
    int o = snprintf(got, sizeof got, "%s [", ditc_dtype_name(im->dtype));
    for (int d = 0; d < im->ndim && o < 120; d++)
        o += snprintf(got + o, sizeof got - (size_t)o, "%s%lld", d ? ", " : "", (long long)im->shape[d]);
    snprintf(got + o, sizeof got - (size_t)o, "]");
    if (im->dtype != DITC_U8 || im->ndim != 4 || im->shape[0] != n || im->shape[1] != C || im->shape[2] != S ||
        im->shape[3] != S)
        return ditc_fail(st, DITC_ERR_FORMAT, "shard %s: \"images\" is %s, the index says U8 [%lld, %lld, %lld, %lld]",
                         s->path, got, (long long)n, (long long)C, (long long)S, (long long)S);
    if (lb->dtype != DITC_I32 || lb->ndim != 1 || lb->shape[0] != n)
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "shard %s: \"labels\" is %s with %d dims (first %lld), the index says I32 [%lld]", s->path,
                         ditc_dtype_name(lb->dtype), lb->ndim, lb->ndim ? (long long)lb->shape[0] : 0LL, (long long)n);
    s->images = im->data;
    s->labels = lb->data;
    for (int64_t i = 0; i < n; i++) {
        int32_t v;
        memcpy(&v, s->labels + (size_t)i * 4, 4);
        if (v < 0 || (uint64_t)v >= x->num_classes)
            return ditc_fail(st, DITC_ERR_FORMAT, "shard %s: label %d of sample %lld is outside [0, %" PRIu64 ")",
                             s->path, v, (long long)i, x->num_classes);
    }
    return 0;
}

int ditc_dataset_open_shards(ditc_dataset **out, const char *dir, ditc_status *st) {
    DITC_CHECK(out != NULL && dir != NULL, "open_shards with NULL arguments");
    *out = NULL;
    ditc_status_ok(st);
    struct stat sb;
    if (stat(dir, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "shards directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return ditc_fail(st, DITC_ERR_IO, "shards directory %s: not a directory", dir);
    index_info x;
    int rc = read_index(dir, &x, st);
    if (rc) return rc;
    shards_ctx *c = ditc_xcalloc(1, sizeof *c);
    c->dir = ditc_xstrdup(dir);
    c->shards = ditc_xcalloc((size_t)x.nshards, sizeof *c->shards);
    c->per = (size_t)x.channels * x.side * x.side;
    int64_t first = 0;
    for (int k = 0; k < x.nshards && !rc; k++) {
        shard *s = &c->shards[k];
        c->nshards = k + 1;
        s->path = ditc_path_join(dir, x.files[k]);
        s->first = first;
        s->count = (int64_t)x.counts[k];
        first += s->count;
        rc = open_shard(s, &x, st);
    }
    if (rc) {
        shards_ctx_free(c);
        index_free(&x);
        return rc;
    }
    ditc_dataset *ds = ditc_dataset_new_u8((int64_t)x.total, (int)x.channels, (int)x.side, (int)x.num_classes,
                                           shards_get_u8, shards_destroy, c);
    snprintf(ds->desc, sizeof ds->desc, "shards %s: %lld samples %dx%dx%d u8 in %d files, %d classes (from: %.120s)",
             dir, (long long)ds->n, ds->channels, ds->side, ds->side, c->nshards, ds->num_classes, x.source);
    index_free(&x);
    *out = ds;
    return 0;
}

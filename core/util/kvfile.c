// kvfile.c — flat JSON string maps (state.json).
#include "kvfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "json.h"

#define KV_MAX_BYTES (16u << 20)

void ditc_kv_set(ditc_kv *kv, const char *key, const char *val) {
    for (int i = 0; i < kv->n; i++)
        if (!strcmp(kv->keys[i], key)) {
            free(kv->vals[i]);
            kv->vals[i] = ditc_xstrdup(val);
            return;
        }
    if (kv->n == kv->cap) {
        kv->cap = kv->cap ? 2 * kv->cap : 16;
        kv->keys = ditc_xrealloc(kv->keys, (size_t)kv->cap * sizeof *kv->keys);
        kv->vals = ditc_xrealloc(kv->vals, (size_t)kv->cap * sizeof *kv->vals);
    }
    kv->keys[kv->n] = ditc_xstrdup(key);
    kv->vals[kv->n++] = ditc_xstrdup(val);
}

void ditc_kv_set_i64(ditc_kv *kv, const char *key, int64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    ditc_kv_set(kv, key, buf);
}

const char *ditc_kv_get(const ditc_kv *kv, const char *key) {
    for (int i = 0; i < kv->n; i++)
        if (!strcmp(kv->keys[i], key)) return kv->vals[i];
    return NULL;
}

int ditc_kv_get_i64(const ditc_kv *kv, const char *key, int64_t *out, const char *file, ditc_status *st) {
    const char *v = ditc_kv_get(kv, key);
    if (!v) return ditc_fail(st, DITC_ERR_FORMAT, "%s: missing \"%s\"", file, key);
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: \"%s\" = \"%s\" is not an integer", file, key, v);
    *out = (int64_t)x;
    return 0;
}

void ditc_kv_free(ditc_kv *kv) {
    for (int i = 0; i < kv->n; i++) {
        free(kv->keys[i]);
        free(kv->vals[i]);
    }
    free(kv->keys);
    free(kv->vals);
    memset(kv, 0, sizeof *kv);
}

int ditc_kv_save(const ditc_kv *kv, const char *path, ditc_status *st) {
    ditc_json_buf b = {0};
    ditc_json_buf_puts(&b, "{\n");
    for (int i = 0; i < kv->n; i++) {
        ditc_json_buf_puts(&b, "  ");
        ditc_json_buf_string(&b, kv->keys[i], strlen(kv->keys[i]));
        ditc_json_buf_puts(&b, ": ");
        ditc_json_buf_string(&b, kv->vals[i], strlen(kv->vals[i]));
        ditc_json_buf_puts(&b, i + 1 < kv->n ? ",\n" : "\n");
    }
    ditc_json_buf_puts(&b, "}\n");
    int r = ditc_write_file_atomic(path, b.p, b.len, st);
    ditc_json_buf_free(&b);
    return r;
}

int ditc_kv_load(ditc_kv *kv, const char *path, ditc_status *st) {
    memset(kv, 0, sizeof *kv);
    FILE *f = fopen(path, "rb");
    if (!f) return ditc_fail(st, DITC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf;
    size_t len;
    int rd = ditc_read_stream(f, KV_MAX_BYTES, &buf, &len);
    fclose(f);
    if (rd) {
        free(buf);
        return ditc_fail(st, DITC_ERR_IO, "%s: %s", path, rd < 0 ? "read error" : "larger than 16 MiB");
    }
    ditc_json j;
    ditc_json_init(&j, buf, len);
    int r = ditc_json_object_begin(&j), more;
    char *key = NULL, *val = NULL;
    while (r == 0 && (more = ditc_json_object_next(&j, &key, NULL, NULL)) == 1) {
        if (ditc_json_peek(&j) != DITC_JSON_STRING) {
            r = ditc_json_fail(&j, j.pos, "value of \"%s\" must be a string", key);
            break;
        }
        if (ditc_json_string(&j, &val, NULL)) {
            r = -1;
            break;
        }
        ditc_kv_set(kv, key, val);
        free(key);
        free(val);
        key = val = NULL;
    }
    if (r == 0 && more < 0) r = -1;
    if (r == 0 && ditc_json_peek(&j) != DITC_JSON_END) r = ditc_json_fail(&j, j.pos, "trailing data after the object");
    free(key);
    free(val);
    free(buf);
    if (r) {
        ditc_kv_free(kv);
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: not a valid state file: %s at byte %zu", path, j.err, j.err_pos);
    }
    return 0;
}

// safetensors.c — strict safetensors reader and atomic writer (spec/formats.md, "safetensors").
//
// Reader: length field -> header JSON (pull-parsed, see json.h) -> per-tensor checks (dtype,
// shape, offsets vs byte size) -> duplicate names -> layout (sorted by offset the tensors tile the data
// buffer exactly). Tensors and metadata are appended to `st` as soon as their key is read, so every error
// path is cleaned up by ditc_st_close.
#define _POSIX_C_SOURCE 200809L
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "json.h"

// Tensor data is copied as-is, so the host must use the file's byte order.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c requires a little-endian host"
#endif
_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE float/double expected");
_Static_assert(SIZE_MAX >= UINT64_MAX, "64-bit size_t expected (files are addressed as one buffer)");

static const char supported_list[] = "F32 F16 BF16 F64 I64 I32 U8";

// ---- small helpers ------------------------------------------------------------------------------

static char *dup_str(const char *s) {
    size_t n = strlen(s);
    char *p = ditc_xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

// Overflow-checked a*b; 0 if it overflows.
static int mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static uint64_t read_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

// Printable rendering of a name for messages: escapes '"', '\\' and control bytes, truncates long names.
static const char *show(char out[112], const char *s, size_t n) {
    size_t o = 0, i = 0;
    for (; i < n && o < 96; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 && o > 90 && (c & 0xC0) == 0xC0) break; // do not cut a UTF-8 sequence
        if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(out + o, 8, "\\x%02x", c);
        else if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else out[o++] = (char)c;
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static const char *show_c(char out[112], const char *s) { return show(out, s, strlen(s)); }

static void fmt_shape(char out[200], int ndim, const int64_t *shape) {
    size_t o = 0;
    out[o++] = '[';
    for (int i = 0; i < ndim && o < 180; i++) // 8 dims of at most 19 digits always fit
        o += (size_t)snprintf(out + o, 200 - o, "%s%" PRId64, i ? ", " : "", shape[i]);
    snprintf(out + o, 200 - o, "]");
}

// ---- reader: context and messages ---------------------------------------------------------------

typedef struct {
    ditc_safetensors *st;
    ditc_status *s;
    ditc_json j;
    uint64_t header_len, data_len;
    int cap_tensors, cap_meta;
    int seen_meta;
} st_ctx;

static int vfail(st_ctx *c, int code, const char *tensor, const char *fmt, va_list ap) {
    char msg[400], nm[112];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (tensor) return ditc_fail(c->s, code, "%s: tensor \"%s\": %s", c->st->label, show_c(nm, tensor), msg);
    return ditc_fail(c->s, code, "%s: %s", c->st->label, msg);
}

__attribute__((format(printf, 3, 4))) static int file_err(st_ctx *c, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vfail(c, code, NULL, fmt, ap);
    va_end(ap);
    return r;
}

__attribute__((format(printf, 4, 5))) static int tensor_err(st_ctx *c, int code, const ditc_st_tensor *t,
                                                            const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vfail(c, code, t->name, fmt, ap);
    va_end(ap);
    return r;
}

// JSON syntax error (j.err), optionally inside a tensor's entry.
static int json_err(st_ctx *c, const ditc_st_tensor *t) {
    size_t at = c->j.err_pos;
    if (t)
        return tensor_err(c, DITC_ERR_FORMAT, t, "invalid header JSON at header byte %zu (file offset %zu): %s", at,
                          at + 8, c->j.err);
    return file_err(c, DITC_ERR_FORMAT, "invalid header JSON at header byte %zu (file offset %zu): %s", at, at + 8,
                    c->j.err);
}

// Number text for messages (at most 40 characters).
static int num_text_len(const ditc_json_num *n) { return n->len > 40 ? 40 : (int)n->len; }
static const char *num_text(const st_ctx *c, const ditc_json_num *n) { return (const char *)c->j.buf + n->pos; }

// ---- reader: growing the tables (entries are added as soon as their key is known) ---------------

static ditc_st_tensor *push_tensor(st_ctx *c, char *name) {
    ditc_safetensors *st = c->st;
    if (st->n_tensors == c->cap_tensors) {
        c->cap_tensors = c->cap_tensors ? c->cap_tensors * 2 : 16;
        st->tensors = ditc_xrealloc(st->tensors, (size_t)c->cap_tensors * sizeof *st->tensors);
    }
    ditc_st_tensor *t = &st->tensors[st->n_tensors++];
    memset(t, 0, sizeof *t);
    t->name = name;
    return t;
}

static int push_meta(st_ctx *c, char *key) {
    ditc_safetensors *st = c->st;
    if (st->n_meta == c->cap_meta) {
        c->cap_meta = c->cap_meta ? c->cap_meta * 2 : 8;
        st->meta_keys = ditc_xrealloc(st->meta_keys, (size_t)c->cap_meta * sizeof(char *));
        st->meta_vals = ditc_xrealloc(st->meta_vals, (size_t)c->cap_meta * sizeof(char *));
    }
    st->meta_keys[st->n_meta] = key;
    st->meta_vals[st->n_meta] = NULL;
    return st->n_meta++;
}

// ---- reader: metadata ---------------------------------------------------------------------------

static int parse_meta_value(st_ctx *c, int i) {
    char nm[112];
    const char *key = c->st->meta_keys[i];
    ditc_json_kind k = ditc_json_peek(&c->j);
    if (k != DITC_JSON_STRING) {
        if (k == DITC_JSON_INVALID || k == DITC_JSON_END) {
            ditc_json_skip(&c->j);
            return json_err(c, NULL);
        }
        return file_err(c, DITC_ERR_FORMAT, "__metadata__ key \"%s\": value must be a string, found %s",
                        show_c(nm, key), ditc_json_kind_name(k));
    }
    size_t vl;
    if (ditc_json_string(&c->j, &c->st->meta_vals[i], &vl) < 0) return json_err(c, NULL);
    if (strlen(c->st->meta_vals[i]) != vl)
        return file_err(c, DITC_ERR_FORMAT, "__metadata__ key \"%s\": value contains a NUL character", show_c(nm, key));
    return 0;
}

static int parse_metadata(st_ctx *c) {
    ditc_json_kind k = ditc_json_peek(&c->j);
    if (k != DITC_JSON_OBJECT) {
        if (k == DITC_JSON_INVALID || k == DITC_JSON_END) {
            ditc_json_skip(&c->j);
            return json_err(c, NULL);
        }
        return file_err(c, DITC_ERR_FORMAT, "__metadata__ must be an object of string to string, found %s",
                        ditc_json_kind_name(k));
    }
    ditc_json_object_begin(&c->j);
    char *key;
    size_t kl, kpos;
    int r;
    while ((r = ditc_json_object_next(&c->j, &key, &kl, &kpos)) == 1) {
        int i = push_meta(c, key);
        if (strlen(key) != kl)
            return file_err(c, DITC_ERR_FORMAT, "__metadata__ key at header byte %zu contains a NUL character", kpos);
        int e = parse_meta_value(c, i);
        if (e) return e;
    }
    return r < 0 ? json_err(c, NULL) : 0;
}

// ---- reader: one tensor entry -------------------------------------------------------------------

static int is_safetensors_dtype(const char *v) {
    static const char *const names[] = {"BOOL",    "U8",      "I8",      "I16", "U16",     "F16",    "BF16",
                                        "I32",     "U32",     "F32",     "F64", "I64",     "U64",    "C64",
                                        "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4",  "F6_E2M3", "F6_E3M2"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(v, names[i]) == 0) return 1;
    return 0;
}

// Reports a value of the wrong kind, or the JSON error if the value is not even valid.
static int wrong_kind(st_ctx *c, ditc_st_tensor *t, ditc_json_kind k, const char *what) {
    if (k == DITC_JSON_INVALID || k == DITC_JSON_END) {
        ditc_json_skip(&c->j);
        return json_err(c, t);
    }
    return tensor_err(c, DITC_ERR_FORMAT, t, "%s, found %s", what, ditc_json_kind_name(k));
}

static int parse_dtype(st_ctx *c, ditc_st_tensor *t) {
    ditc_json_kind k = ditc_json_peek(&c->j);
    if (k != DITC_JSON_STRING) return wrong_kind(c, t, k, "dtype must be a string");
    char *v, nm[112];
    size_t vl;
    if (ditc_json_string(&c->j, &v, &vl) < 0) return json_err(c, t);
    int ok = ditc_dtype_from_name(v, vl, &t->dtype);
    int r = 0;
    if (!ok)
        r = tensor_err(c, is_safetensors_dtype(v) ? DITC_ERR_UNSUPPORTED : DITC_ERR_FORMAT, t,
                       "unsupported dtype \"%s\" (supported: %s)", show(nm, v, vl), supported_list);
    free(v);
    return r;
}

// A non-negative integer <= max; `what` names it in messages.
static int parse_uint(st_ctx *c, ditc_st_tensor *t, uint64_t max, const char *what, uint64_t *out) {
    ditc_json_kind k = ditc_json_peek(&c->j);
    if (k != DITC_JSON_NUMBER) {
        char w[96];
        snprintf(w, sizeof w, "%s must be a non-negative integer", what);
        return wrong_kind(c, t, k, w);
    }
    ditc_json_num n;
    if (ditc_json_number(&c->j, &n) < 0) return json_err(c, t);
    if (n.kind == DITC_JSON_NUM_OTHER)
        return tensor_err(c, DITC_ERR_FORMAT, t, "%s is %.*s%s, not a non-negative integer", what, num_text_len(&n),
                          num_text(c, &n), n.len > 40 ? "..." : "");
    if (n.kind == DITC_JSON_NUM_OVERFLOW || n.u > max)
        return tensor_err(c, DITC_ERR_FORMAT, t, "%s is %.*s%s, too large (maximum %" PRIu64 ")", what,
                          num_text_len(&n), num_text(c, &n), n.len > 40 ? "..." : "", max);
    *out = n.u;
    return 0;
}

static int parse_shape(st_ctx *c, ditc_st_tensor *t) {
    ditc_json_kind k = ditc_json_peek(&c->j);
    if (k != DITC_JSON_ARRAY) return wrong_kind(c, t, k, "shape must be a list of non-negative integers");
    ditc_json_array_begin(&c->j);
    int r;
    while ((r = ditc_json_array_next(&c->j)) == 1) {
        if (t->ndim == DITC_ST_MAX_DIMS)
            return tensor_err(c, DITC_ERR_FORMAT, t, "shape has more than %d dimensions", DITC_ST_MAX_DIMS);
        char what[48];
        snprintf(what, sizeof what, "shape entry %d", t->ndim);
        uint64_t v;
        int e = parse_uint(c, t, INT64_MAX, what, &v);
        if (e) return e;
        t->shape[t->ndim++] = (int64_t)v;
    }
    return r < 0 ? json_err(c, t) : 0;
}

static int parse_offsets(st_ctx *c, ditc_st_tensor *t) {
    ditc_json_kind k = ditc_json_peek(&c->j);
    if (k != DITC_JSON_ARRAY) return wrong_kind(c, t, k, "data_offsets must be a list [begin, end]");
    ditc_json_array_begin(&c->j);
    uint64_t v[2];
    int n = 0, r;
    while ((r = ditc_json_array_next(&c->j)) == 1) {
        if (n == 2) return tensor_err(c, DITC_ERR_FORMAT, t, "data_offsets must have exactly 2 entries [begin, end]");
        int e = parse_uint(c, t, UINT64_MAX, n ? "data_offsets end" : "data_offsets begin", &v[n]);
        if (e) return e;
        n++;
    }
    if (r < 0) return json_err(c, t);
    if (n != 2)
        return tensor_err(c, DITC_ERR_FORMAT, t, "data_offsets must have exactly 2 entries [begin, end], found %d", n);
    t->begin = v[0];
    t->end = v[1];
    return 0;
}

enum { F_DTYPE = 1, F_SHAPE = 2, F_OFFSETS = 4 };

static int entry_field(const char *k, size_t kl) {
    if (kl == 5 && memcmp(k, "dtype", 5) == 0) return F_DTYPE;
    if (kl == 5 && memcmp(k, "shape", 5) == 0) return F_SHAPE;
    if (kl == 12 && memcmp(k, "data_offsets", 12) == 0) return F_OFFSETS;
    return 0;
}

// Byte size implied by dtype and shape, and its agreement with data_offsets and the buffer.
static int check_sizes(st_ctx *c, ditc_st_tensor *t) {
    char sh[200];
    fmt_shape(sh, t->ndim, t->shape);
    const char *dt = ditc_dtype_name(t->dtype);
    if (t->begin > t->end)
        return tensor_err(c, DITC_ERR_FORMAT, t, "data_offsets [%" PRIu64 ", %" PRIu64 "] have begin > end", t->begin,
                          t->end);
    uint64_t numel = 1, bytes;
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0) numel = 0;
    for (int i = 0; i < t->ndim && numel; i++)
        if (!mul_u64(numel, (uint64_t)t->shape[i], &numel))
            return tensor_err(c, DITC_ERR_FORMAT, t, "shape %s has too many elements (overflows 64 bits)", sh);
    if (!mul_u64(numel, ditc_dtype_size(t->dtype), &bytes))
        return tensor_err(c, DITC_ERR_FORMAT, t, "shape %s of %s has a byte size that overflows 64 bits", sh, dt);
    if (t->end - t->begin != bytes)
        return tensor_err(c, DITC_ERR_FORMAT, t,
                          "data_offsets [%" PRIu64 ", %" PRIu64 "] span %" PRIu64
                          " bytes but shape %s of %s needs %" PRIu64,
                          t->begin, t->end, t->end - t->begin, sh, dt, bytes);
    if (t->end > c->data_len)
        return tensor_err(c, DITC_ERR_FORMAT, t,
                          "data_offsets [%" PRIu64 ", %" PRIu64 "] extend past the end of the %" PRIu64
                          "-byte data buffer (file truncated?)",
                          t->begin, t->end, c->data_len);
    return 0;
}

static int parse_entry_fields(st_ctx *c, ditc_st_tensor *t) {
    int have = 0, r;
    char *k, nm[112];
    size_t kl;
    while ((r = ditc_json_object_next(&c->j, &k, &kl, NULL)) == 1) {
        int f = entry_field(k, kl);
        if (!f || (have & f)) {
            r = tensor_err(c, DITC_ERR_FORMAT, t,
                           f ? "duplicate key \"%s\" in entry"
                             : "unknown key \"%s\" in entry (allowed: dtype, shape, data_offsets)",
                           show(nm, k, kl));
            free(k);
            return r;
        }
        free(k);
        have |= f;
        r = f == F_DTYPE ? parse_dtype(c, t) : f == F_SHAPE ? parse_shape(c, t) : parse_offsets(c, t);
        if (r) return r;
    }
    if (r < 0) return json_err(c, t);
    if (have != (F_DTYPE | F_SHAPE | F_OFFSETS))
        return tensor_err(c, DITC_ERR_FORMAT, t, "entry is missing \"%s\"",
                          !(have & F_DTYPE)   ? "dtype"
                          : !(have & F_SHAPE) ? "shape"
                                              : "data_offsets");
    return 0;
}

static int parse_tensor(st_ctx *c, char *name) {
    ditc_st_tensor *t = push_tensor(c, name);
    ditc_json_kind k = ditc_json_peek(&c->j);
    if (k != DITC_JSON_OBJECT) return wrong_kind(c, t, k, "entry must be an object with dtype, shape and data_offsets");
    ditc_json_object_begin(&c->j);
    int r = parse_entry_fields(c, t);
    return r ? r : check_sizes(c, t);
}

// ---- reader: header, duplicates, layout ---------------------------------------------------------

static int parse_header_json(st_ctx *c) {
    const unsigned char *h = c->st->bytes + 8;
    ditc_json_init(&c->j, h, (size_t)c->header_len);
    if (ditc_json_object_begin(&c->j) < 0) return json_err(c, NULL);
    char *key;
    size_t kl, kpos;
    int r;
    while ((r = ditc_json_object_next(&c->j, &key, &kl, &kpos)) == 1) {
        if (strlen(key) != kl) {
            free(key);
            return file_err(c, DITC_ERR_FORMAT, "header key at header byte %zu contains a NUL character", kpos);
        }
        if (strcmp(key, "__metadata__") == 0) {
            free(key);
            if (c->seen_meta) return file_err(c, DITC_ERR_FORMAT, "duplicate key \"__metadata__\" in header");
            c->seen_meta = 1;
            r = parse_metadata(c);
        } else {
            if (c->st->n_tensors == INT_MAX) {
                free(key);
                return file_err(c, DITC_ERR_FORMAT, "too many tensors");
            }
            r = parse_tensor(c, key);
        }
        if (r) return r;
    }
    if (r < 0) return json_err(c, NULL);
    for (size_t p = c->j.pos; p < c->header_len; p++)
        if (h[p] != ' ')
            return file_err(c, DITC_ERR_FORMAT,
                            "unexpected byte 0x%02x at header byte %zu after the JSON object (only space padding is "
                            "allowed)",
                            h[p], p);
    return 0;
}

static int cmp_str_ptr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Sorted by (begin, end); ties keep header order (the pointers point into one array).
static int cmp_tensor_ptr(const void *a, const void *b) {
    const ditc_st_tensor *x = *(const ditc_st_tensor *const *)a, *y = *(const ditc_st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x > y) - (x < y);
}

// A string that occurs twice in strs[0, n), or NULL.
static const char *find_duplicate(char *const *strs, int n) {
    if (n < 2) return NULL;
    char **sorted = ditc_xmalloc((size_t)n * sizeof(char *));
    memcpy(sorted, strs, (size_t)n * sizeof(char *));
    qsort(sorted, (size_t)n, sizeof(char *), cmp_str_ptr);
    const char *dup = NULL;
    for (int i = 1; i < n && !dup; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) dup = sorted[i];
    free(sorted);
    return dup;
}

static int check_duplicates(st_ctx *c) {
    ditc_safetensors *st = c->st;
    char nm[112];
    char **names = ditc_xmalloc((size_t)(st->n_tensors ? st->n_tensors : 1) * sizeof(char *));
    for (int i = 0; i < st->n_tensors; i++) names[i] = st->tensors[i].name;
    const char *d = find_duplicate(names, st->n_tensors);
    int rc = d ? file_err(c, DITC_ERR_FORMAT, "duplicate tensor name \"%s\"", show_c(nm, d)) : 0;
    free(names);
    if (rc) return rc;
    d = find_duplicate(st->meta_keys, st->n_meta);
    if (d) return file_err(c, DITC_ERR_FORMAT, "duplicate __metadata__ key \"%s\"", show_c(nm, d));
    return 0;
}

// The message for tensor t starting at `expect`'s wrong side; prev = tensor ending at expect (or NULL).
static int layout_err(st_ctx *c, const ditc_st_tensor *t, const ditc_st_tensor *prev, uint64_t expect) {
    char nm[112];
    if (t->begin < expect)
        return tensor_err(c, DITC_ERR_FORMAT, t,
                          "data_offsets [%" PRIu64 ", %" PRIu64 "] overlap tensor \"%s\" [%" PRIu64 ", %" PRIu64 "]",
                          t->begin, t->end, show_c(nm, prev->name), prev->begin, prev->end);
    if (!prev)
        return tensor_err(c, DITC_ERR_FORMAT, t,
                          "data_offsets [%" PRIu64 ", %" PRIu64 "] leave a gap: the first tensor in the data buffer "
                          "must start at offset 0",
                          t->begin, t->end);
    return tensor_err(c, DITC_ERR_FORMAT, t,
                      "data_offsets [%" PRIu64 ", %" PRIu64 "] leave a gap of %" PRIu64 " bytes after tensor \"%s\" "
                      "(which ends at %" PRIu64 ")",
                      t->begin, t->end, t->begin - expect, show_c(nm, prev->name), expect);
}

static int check_layout(st_ctx *c) {
    ditc_safetensors *st = c->st;
    int n = st->n_tensors, rc = 0;
    const ditc_st_tensor **order = ditc_xmalloc((size_t)(n ? n : 1) * sizeof *order);
    for (int i = 0; i < n; i++) order[i] = &st->tensors[i];
    qsort(order, (size_t)n, sizeof *order, cmp_tensor_ptr);
    uint64_t expect = 0;
    const ditc_st_tensor *prev = NULL;
    for (int k = 0; k < n && !rc; k++) {
        const ditc_st_tensor *t = order[k];
        if (t->begin != expect) rc = layout_err(c, t, prev, expect);
        expect = t->end;
        prev = t;
    }
    free(order);
    if (rc) return rc;
    if (expect != c->data_len)
        return file_err(c, DITC_ERR_FORMAT,
                        "%" PRIu64 " trailing bytes after the last tensor (data buffer is %" PRIu64
                        " bytes, tensors cover %" PRIu64 ")",
                        c->data_len - expect, c->data_len, expect);
    return 0;
}

// Validates st->bytes[0, st->size); fills tensors and metadata.
static int parse_file(ditc_safetensors *st, ditc_status *s) {
    st_ctx c = {.st = st, .s = s};
    if (st->size < 8)
        return file_err(&c, DITC_ERR_FORMAT, "file is %zu bytes, too short for the 8-byte header length", st->size);
    c.header_len = read_le64(st->bytes);
    if (c.header_len > DITC_ST_MAX_HEADER)
        return file_err(&c, DITC_ERR_FORMAT, "header length %" PRIu64 " exceeds the limit of %llu bytes", c.header_len,
                        DITC_ST_MAX_HEADER);
    if (c.header_len > st->size - 8)
        return file_err(&c, DITC_ERR_FORMAT,
                        "header length %" PRIu64 " exceeds the %zu bytes after the length "
                        "field (file truncated?)",
                        c.header_len, st->size - 8);
    if (c.header_len == 0 || st->bytes[8] != '{')
        return file_err(&c, DITC_ERR_FORMAT, "header does not start with '{' (not a safetensors file?)");
    c.data_len = st->size - 8 - c.header_len;
    int rc = parse_header_json(&c);
    if (!rc) rc = check_duplicates(&c);
    if (!rc) rc = check_layout(&c);
    if (rc) return rc;
    const unsigned char *data = st->bytes + 8 + c.header_len;
    for (int i = 0; i < st->n_tensors; i++) st->tensors[i].data = data + st->tensors[i].begin;
    return 0;
}

// ---- reader: public API -------------------------------------------------------------------------

int ditc_st_parse(ditc_safetensors *st, const unsigned char *buf, size_t size, const char *label, ditc_status *s) {
    DITC_CHECK(st != NULL && (buf != NULL || size == 0), "ditc_st_parse: bad arguments");
    memset(st, 0, sizeof *st);
    ditc_status_ok(s);
    st->label = dup_str(label ? label : "<safetensors buffer>");
    st->bytes = buf;
    st->size = size;
    int rc = parse_file(st, s);
    if (rc) ditc_st_close(st);
    return rc;
}

// Reads the whole regular file at path into a malloc'd buffer.
static int read_whole_file(const char *path, unsigned char **out, size_t *size, ditc_status *s) {
    FILE *f = fopen(path, "rb");
    if (!f) return ditc_fail(s, DITC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return ditc_fail(s, DITC_ERR_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)sb.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return ditc_fail(s, DITC_ERR_IO, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int err = ferror(f) ? errno : 0, extra = fgetc(f) != EOF;
    fclose(f);
    if (got != n || extra) {
        free(buf);
        if (err) return ditc_fail(s, DITC_ERR_IO, "%s: read error: %s", path, strerror(err));
        return ditc_fail(s, DITC_ERR_IO, "%s: file changed size while reading", path);
    }
    *out = buf;
    *size = n;
    return 0;
}

int ditc_st_open(ditc_safetensors *st, const char *path, ditc_status *s) {
    DITC_CHECK(st != NULL && path != NULL, "ditc_st_open: bad arguments");
    memset(st, 0, sizeof *st);
    ditc_status_ok(s);
    unsigned char *buf = NULL;
    size_t n = 0;
    int rc = read_whole_file(path, &buf, &n, s);
    if (rc) return rc;
    st->label = dup_str(path);
    st->owned = buf;
    st->bytes = buf;
    st->size = n;
    rc = parse_file(st, s);
    if (rc) ditc_st_close(st);
    return rc;
}

void ditc_st_close(ditc_safetensors *st) {
    if (!st) return;
    for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    for (int i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_vals[i]);
    }
    free(st->tensors);
    free(st->meta_keys);
    free(st->meta_vals);
    free(st->owned);
    free(st->label);
    memset(st, 0, sizeof *st);
}

const ditc_st_tensor *ditc_st_find(const ditc_safetensors *st, const char *name) {
    for (int i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

const char *ditc_st_meta(const ditc_safetensors *st, const char *key) {
    for (int i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_vals[i];
    return NULL;
}

// Any zero dimension first, so that large dimensions next to a zero never overflow.
int64_t ditc_st_numel(const ditc_st_tensor *t) {
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0) return 0;
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

int ditc_st_read_f32(const ditc_safetensors *st, const ditc_st_tensor *t, float *dst, ditc_status *s) {
    DITC_CHECK(t != NULL, "ditc_st_read_f32: NULL tensor");
    char nm[112];
    const char *label = st && st->label ? st->label : "<safetensors>";
    int64_t n = ditc_st_numel(t);
    if ((uint64_t)n * ditc_dtype_size(t->dtype) != t->end - t->begin || (n > 0 && !t->data))
        return ditc_fail(s, DITC_ERR_ARG, "%s: tensor \"%s\": not a validated tensor of this file", label,
                         show_c(nm, t->name));
    if (n == 0) return 0;
    DITC_CHECK(dst != NULL, "ditc_st_read_f32: NULL destination");
    if (ditc_convert_to_f32(dst, t->data, t->dtype, (size_t)n) != 0)
        return ditc_fail(s, DITC_ERR_UNSUPPORTED, "%s: tensor \"%s\": dtype %s cannot be converted to F32", label,
                         show_c(nm, t->name), ditc_dtype_name(t->dtype));
    return 0;
}

// ---- writer -------------------------------------------------------------------------------------

typedef struct {
    char *name;
    ditc_dtype dtype;
    int ndim;
    int64_t shape[DITC_ST_MAX_DIMS];
    const void *data;
    uint64_t nbytes;
} st_wentry;

struct ditc_st_writer {
    st_wentry *t;
    int n, cap;
    char **mkeys, **mvals;
    int nm, capm;
};

ditc_st_writer *ditc_st_writer_new(void) { return ditc_xcalloc(1, sizeof(ditc_st_writer)); }

void ditc_st_writer_add(ditc_st_writer *w, const char *name, ditc_dtype dtype, int ndim, const int64_t *shape,
                        const void *data) {
    DITC_CHECK(w && name, "ditc_st_writer_add: NULL writer or name");
    DITC_CHECK((unsigned)dtype < DITC_DTYPE_COUNT, "bad dtype %d for tensor %s", (int)dtype, name);
    DITC_CHECK(ndim >= 0 && ndim <= DITC_ST_MAX_DIMS && (ndim == 0 || shape), "bad ndim %d for tensor %s", ndim, name);
    DITC_CHECK(w->n < INT_MAX, "too many tensors");
    st_wentry e = {.name = dup_str(name), .dtype = dtype, .ndim = ndim, .data = data};
    int has_zero = 0;
    for (int i = 0; i < ndim; i++) {
        DITC_CHECK(shape[i] >= 0, "negative dimension in tensor %s", name);
        e.shape[i] = shape[i];
        has_zero |= shape[i] == 0;
    }
    uint64_t bytes = has_zero ? 0 : ditc_dtype_size(dtype);
    for (int i = 0; i < ndim && bytes; i++)
        DITC_CHECK(mul_u64(bytes, (uint64_t)shape[i], &bytes), "byte size of tensor %s overflows", name);
    e.nbytes = bytes;
    DITC_CHECK(bytes == 0 || data != NULL, "NULL data for non-empty tensor %s", name);
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->t = ditc_xrealloc(w->t, (size_t)w->cap * sizeof *w->t);
    }
    w->t[w->n++] = e;
}

void ditc_st_writer_meta(ditc_st_writer *w, const char *key, const char *value) {
    DITC_CHECK(w && key && value, "ditc_st_writer_meta: NULL argument");
    DITC_CHECK(w->nm < INT_MAX, "too many metadata entries");
    if (w->nm == w->capm) {
        w->capm = w->capm ? w->capm * 2 : 8;
        w->mkeys = ditc_xrealloc(w->mkeys, (size_t)w->capm * sizeof(char *));
        w->mvals = ditc_xrealloc(w->mvals, (size_t)w->capm * sizeof(char *));
    }
    w->mkeys[w->nm] = dup_str(key);
    w->mvals[w->nm] = dup_str(value);
    w->nm++;
}

void ditc_st_writer_free(ditc_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->t[i].name);
    for (int i = 0; i < w->nm; i++) {
        free(w->mkeys[i]);
        free(w->mvals[i]);
    }
    free(w->t);
    free(w->mkeys);
    free(w->mvals);
    free(w);
}

static int utf8_ok(const char *s) { return ditc_json_utf8_valid((const unsigned char *)s, strlen(s), NULL); }

// Names that the reader would reject.
static int writer_validate(const ditc_st_writer *w, const char *path, ditc_status *s) {
    char nm[112];
    for (int i = 0; i < w->n; i++) {
        if (!utf8_ok(w->t[i].name))
            return ditc_fail(s, DITC_ERR_ARG, "%s: tensor name \"%s\" is not valid UTF-8", path,
                             show_c(nm, w->t[i].name));
        if (strcmp(w->t[i].name, "__metadata__") == 0)
            return ditc_fail(s, DITC_ERR_ARG, "%s: \"__metadata__\" cannot be a tensor name", path);
    }
    for (int i = 0; i < w->nm; i++)
        if (!utf8_ok(w->mkeys[i]) || !utf8_ok(w->mvals[i]))
            return ditc_fail(s, DITC_ERR_ARG, "%s: metadata \"%s\" is not valid UTF-8", path, show_c(nm, w->mkeys[i]));
    char **names = ditc_xmalloc((size_t)(w->n ? w->n : 1) * sizeof(char *));
    for (int i = 0; i < w->n; i++) names[i] = w->t[i].name;
    const char *d = find_duplicate(names, w->n);
    int rc = d ? ditc_fail(s, DITC_ERR_ARG, "%s: duplicate tensor name \"%s\"", path, show_c(nm, d)) : 0;
    free(names);
    if (rc) return rc;
    d = find_duplicate(w->mkeys, w->nm);
    if (d) return ditc_fail(s, DITC_ERR_ARG, "%s: duplicate metadata key \"%s\"", path, show_c(nm, d));
    return 0;
}

static void header_entry(ditc_json_buf *b, const st_wentry *e, uint64_t begin) {
    ditc_json_buf_string(b, e->name, strlen(e->name));
    ditc_json_buf_puts(b, ":{\"dtype\":\"");
    ditc_json_buf_puts(b, ditc_dtype_name(e->dtype));
    ditc_json_buf_puts(b, "\",\"shape\":[");
    for (int d = 0; d < e->ndim; d++) {
        if (d) ditc_json_buf_puts(b, ",");
        ditc_json_buf_u64(b, (uint64_t)e->shape[d]);
    }
    ditc_json_buf_puts(b, "],\"data_offsets\":[");
    ditc_json_buf_u64(b, begin);
    ditc_json_buf_puts(b, ",");
    ditc_json_buf_u64(b, begin + e->nbytes);
    ditc_json_buf_puts(b, "]}");
}

// Header JSON: metadata first, tensors in insertion order, padded with spaces so 8 + len is a multiple of 8.
static int build_header(const ditc_st_writer *w, ditc_json_buf *b, const char *path, ditc_status *s) {
    ditc_json_buf_puts(b, "{");
    if (w->nm) {
        ditc_json_buf_puts(b, "\"__metadata__\":{");
        for (int i = 0; i < w->nm; i++) {
            if (i) ditc_json_buf_puts(b, ",");
            ditc_json_buf_string(b, w->mkeys[i], strlen(w->mkeys[i]));
            ditc_json_buf_puts(b, ":");
            ditc_json_buf_string(b, w->mvals[i], strlen(w->mvals[i]));
        }
        ditc_json_buf_puts(b, "}");
    }
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        if (w->nm || i) ditc_json_buf_puts(b, ",");
        header_entry(b, &w->t[i], off);
        if (off > UINT64_MAX - w->t[i].nbytes) return ditc_fail(s, DITC_ERR_ARG, "%s: total data size overflows", path);
        off += w->t[i].nbytes;
    }
    ditc_json_buf_puts(b, "}");
    while ((8 + b->len) % 8) ditc_json_buf_puts(b, " ");
    if (b->len > DITC_ST_MAX_HEADER)
        return ditc_fail(s, DITC_ERR_ARG, "%s: header of %zu bytes exceeds the %llu-byte limit", path, b->len,
                         DITC_ST_MAX_HEADER);
    return 0;
}

// Length field, header and data into f (a failed write is kept in f and reported by ditc_atomic_commit).
static void write_contents(ditc_atomic_file *f, const ditc_st_writer *w, const ditc_json_buf *h) {
    unsigned char len8[8];
    uint64_t n = h->len;
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(n >> (8 * i));
    ditc_atomic_write(f, len8, 8);
    ditc_atomic_write(f, h->p, h->len);
    for (int i = 0; i < w->n; i++) ditc_atomic_write(f, w->t[i].data, (size_t)w->t[i].nbytes);
}

// temp file -> fflush -> fsync -> close -> rename -> fsync dir (core/util/fs.h); no temporary left on failure.
static int write_atomic(const ditc_st_writer *w, const ditc_json_buf *h, const char *path, ditc_status *s) {
    ditc_atomic_file f;
    int rc = ditc_atomic_open(&f, path, s);
    if (rc) return rc;
    write_contents(&f, w, h);
    return ditc_atomic_commit(&f, s);
}

int ditc_st_writer_save(ditc_st_writer *w, const char *path, ditc_status *s) {
    DITC_CHECK(w && path, "ditc_st_writer_save: NULL argument");
    ditc_status_ok(s);
    int rc = writer_validate(w, path, s);
    if (rc) return rc;
    ditc_json_buf h = {0};
    rc = build_header(w, &h, path, s);
    if (!rc) rc = write_atomic(w, &h, path, s);
    ditc_json_buf_free(&h);
    return rc;
}

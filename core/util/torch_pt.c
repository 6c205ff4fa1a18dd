// torch_pt.c — torch.save files as a ditc_safetensors (see torch_pt.h): zip directory -> <prefix>/data.pkl (or the
// legacy stream's object pickle and data records, torch_pt_legacy.c) -> restricted unpickle -> select the sub-tree
// -> flatten to (name, tensor) and (name, scalar) -> check every tensor against its storage's bytes -> copy the
// tensors contiguous into one buffer.
// Bounds: nesting depth <= 64; nodes visited while flattening <= the pickle's length (shared sub-objects
// cannot multiply); the materialised tensors total <= 4 x the file size + 1 MiB (views of one storage under
// many names or with stride 0 cannot blow up memory); the names and metadata texts total <= 2 x the pickle's
// length + 1 MiB (a long key or a long string shared under many names cannot either).
#include "torch_pt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "pickle.h"
#include "torch_pt_legacy.h"
#include "zipread.h"

#define MAX_DEPTH     64
#define MAX_META      100000
#define MAX_META_TEXT 65536

typedef struct {
    char *name;
    const ditc_pk_obj *t;
} flat_tensor;

typedef struct {
    const char *label; // the file
    ditc_status *s;
    const unsigned char *buf; // the whole file
    int legacy;               // the legacy format (leg), else the zip format (z, prefix, entry_*)
    ditc_pt_legacy leg;
    ditc_zip z;
    char prefix[256]; // the archive's directory, e.g. "archive"
    ditc_pickle pk;
    size_t file_size;
    int64_t visits, max_visits;
    uint64_t text_bytes, max_text; // names + metadata values built while flattening, and their bound
    flat_tensor *ft;
    int nft, capft;
    char **mk, **mv;
    int nm, capm;
    const unsigned char **entry_data; // per zip entry, once read (CRC-checked)
    unsigned char **entry_owned;
} pt_ctx;

__attribute__((format(printf, 2, 3))) static int fail(pt_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = ditc_fail_labelled_v(c->s, DITC_ERR_FORMAT, c->label, fmt, ap);
    va_end(ap);
    return r;
}

// Printable name for messages.
static const char *show(char out[112], const char *s) { return ditc_printable(out, s, strlen(s), 0); }

// ---- growing text ------------------------------------------------------------------------------------

typedef struct {
    char *p;
    size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = ditc_xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}
static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

// Python's repr of a float: the shortest of %.15g..%.17g that reads back exactly.
static void fmt_float(char out[40], double v) {
    if (isnan(v)) snprintf(out, 40, "nan");
    else if (isinf(v)) snprintf(out, 40, v > 0 ? "inf" : "-inf");
    else
        for (int p = 15; p <= 17; p++) {
            snprintf(out, 40, "%.*g", p, v);
            if (strtod(out, NULL) == v) break;
        }
    if (!strpbrk(out, ".eni")) strcat(out, ".0");
}

static int is_scalar(const ditc_pk_obj *o) {
    return o->kind == DITC_PK_NONE || o->kind == DITC_PK_BOOL || o->kind == DITC_PK_INT || o->kind == DITC_PK_FLOAT ||
           o->kind == DITC_PK_STR;
}

static int text_ok(const ditc_pk_obj *o) {
    return strlen(o->s) == o->len && ditc_json_utf8_valid((const unsigned char *)o->s, o->len, NULL);
}

// The text of a scalar (quoted: inside a list, as Python's repr).
static void scalar_text(text *t, const ditc_pk_obj *o, int quoted) {
    char b[40];
    switch (o->kind) {
    case DITC_PK_NONE: puts_(t, "None"); break;
    case DITC_PK_BOOL: puts_(t, o->i ? "True" : "False"); break;
    case DITC_PK_INT: snprintf(b, sizeof b, "%" PRId64, o->i), puts_(t, b); break;
    case DITC_PK_FLOAT: fmt_float(b, o->f), puts_(t, b); break;
    default:
        if (quoted) puts_(t, "'");
        if (text_ok(o)) put(t, o->s, o->len);
        else puts_(t, "<not UTF-8>");
        if (quoted) puts_(t, "'");
    }
}

// ---- flattening ----------------------------------------------------------------------------------------

static void add_tensor(pt_ctx *c, const char *name, const ditc_pk_obj *t) {
    if (c->nft == c->capft) {
        c->capft = c->capft ? c->capft * 2 : 64;
        c->ft = ditc_xrealloc(c->ft, (size_t)c->capft * sizeof *c->ft);
    }
    c->ft[c->nft].name = ditc_xstrdup(name);
    c->ft[c->nft++].t = t;
}

// Counts n more bytes of names or metadata against the bound; nonzero (with the message) past it.
static int spend_text(pt_ctx *c, size_t n) {
    c->text_bytes += n;
    if (c->text_bytes <= c->max_text) return 0;
    return fail(c,
                "the tensor names and metadata would take more than %" PRIu64
                " bytes (2 x the pickle + 1 MiB): long keys or strings shared under many names",
                c->max_text);
}

static void add_meta(pt_ctx *c, const char *name, char *value) {
    if (c->nm == MAX_META) {
        free(value);
        return;
    }
    if (c->nm == c->capm) {
        c->capm = c->capm ? c->capm * 2 : 16;
        c->mk = ditc_xrealloc(c->mk, (size_t)c->capm * sizeof *c->mk);
        c->mv = ditc_xrealloc(c->mv, (size_t)c->capm * sizeof *c->mv);
    }
    c->mk[c->nm] = ditc_xstrdup(name);
    c->mv[c->nm++] = value;
}

// The name piece of a dict key (strings as they are; ints, bools, None, floats as Python prints them).
static int key_text(pt_ctx *c, const char *path, const ditc_pk_obj *k, text *out) {
    char nm[112];
    if (k->kind == DITC_PK_STR) {
        if (!text_ok(k)) return fail(c, "a key under \"%s\" is not valid UTF-8 text", show(nm, path));
        put(out, k->s, k->len);
        return 0;
    }
    if (!is_scalar(k)) return fail(c, "a key under \"%s\" is a %s", show(nm, path), ditc_pk_kind_name(k->kind));
    scalar_text(out, k, 0);
    return 0;
}

static int all_scalars(const ditc_pk_obj *o) {
    for (int64_t i = 0; i < o->n; i++)
        if (!is_scalar(o->items[i])) return 0;
    return 1;
}

// Walks o under the name `path`: tensors (when want_t) and scalars (when want_m) are collected.
static int flatten(pt_ctx *c, const ditc_pk_obj *o, const char *path, int depth, int want_t, int want_m) {
    char nm[112];
    if (++c->visits > c->max_visits)
        return fail(c, "the pickle's objects are shared too often to flatten (more than %" PRId64 " nodes)",
                    c->max_visits);
    if (depth > MAX_DEPTH) return fail(c, "\"%s\": nested more than %d levels deep", show(nm, path), MAX_DEPTH);
    switch (o->kind) {
    case DITC_PK_TENSOR:
        if (want_t) {
            if (!*path) return fail(c, "holds a single tensor, not a dict of named tensors");
            add_tensor(c, path, o);
        }
        return 0;
    case DITC_PK_DICT:
    case DITC_PK_LIST:
    case DITC_PK_TUPLE: {
        int dict = o->kind == DITC_PK_DICT;
        if (!dict && want_m && *path && o->n && all_scalars(o)) { // a list of numbers: one metadata value
            text t = {0};
            puts_(&t, o->kind == DITC_PK_LIST ? "[" : "(");
            for (int64_t i = 0; i < o->n && t.len < MAX_META_TEXT; i++) {
                if (i) puts_(&t, ", ");
                scalar_text(&t, o->items[i], 1);
            }
            if (t.len >= MAX_META_TEXT) puts_(&t, "...");
            else puts_(&t, o->kind == DITC_PK_LIST ? "]" : o->n == 1 ? ",)" : ")");
            add_meta(c, path, t.p);
            return spend_text(c, t.len);
        }
        for (int64_t i = 0; i < o->n; i += dict ? 2 : 1) {
            text name = {0};
            if (*path) puts_(&name, path), puts_(&name, ".");
            int r = 0;
            if (dict) r = key_text(c, path, o->items[i], &name);
            else {
                char b[24];
                snprintf(b, sizeof b, "%" PRId64, i);
                puts_(&name, b);
            }
            if (!r) r = spend_text(c, name.len);
            if (!r) r = flatten(c, o->items[i + (dict ? 1 : 0)], name.p, depth + 1, want_t, want_m);
            free(name.p);
            if (r) return r;
        }
        return 0;
    }
    default:
        if (want_m && *path && is_scalar(o) && (o->kind != DITC_PK_STR || text_ok(o))) {
            text t = {0};
            scalar_text(&t, o, 0);
            add_meta(c, path, t.p);
            return spend_text(c, t.len);
        }
        return 0; // bytes, storages and globals carry no weights
    }
}

// The key of dict d that `path` starts with (followed by '.' or the end), the longest; NULL if none.
static const ditc_pk_obj *child(const ditc_pk_obj *d, const char *path, size_t *used) {
    const ditc_pk_obj *best = NULL;
    size_t bl = 0;
    for (int64_t i = 0; i + 1 < d->n; i += 2) {
        const ditc_pk_obj *k = d->items[i];
        char b[40];
        const char *ks = k->s;
        size_t kl = k->len;
        if (k->kind == DITC_PK_INT) kl = (size_t)snprintf(b, sizeof b, "%" PRId64, k->i), ks = b;
        else if (k->kind != DITC_PK_STR) continue;
        if (kl > bl && !strncmp(path, ks, kl) && (path[kl] == '.' || path[kl] == '\0') && strlen(ks) == kl) {
            best = d->items[i + 1];
            bl = kl;
        }
    }
    *used = bl;
    return best;
}

static const ditc_pk_obj *lookup_str(const ditc_pk_obj *d, const char *key) {
    if (d->kind != DITC_PK_DICT) return NULL;
    for (int64_t i = 0; i + 1 < d->n; i += 2)
        if (d->items[i]->kind == DITC_PK_STR && !strcmp(d->items[i]->s, key) && strlen(key) == d->items[i]->len)
            return d->items[i + 1];
    return NULL;
}

// Lists the string keys of d for a message.
static void key_list(const ditc_pk_obj *d, char *out, size_t n) {
    size_t o = 0;
    out[0] = '\0';
    for (int64_t i = 0; d->kind == DITC_PK_DICT && i + 1 < d->n && o + 40 < n; i += 2) {
        if (d->items[i]->kind != DITC_PK_STR) continue;
        char nm[112];
        o += (size_t)snprintf(out + o, n - o, "%s\"%.30s\"", o ? ", " : "", show(nm, d->items[i]->s));
    }
    if (!o) snprintf(out, n, "none");
}

static int select_root(pt_ctx *c, const char *select, const ditc_pk_obj **out) {
    const ditc_pk_obj *root = c->pk.root;
    if (!select) { // as the reference sample.py: checkpoint["ema"] if present
        const ditc_pk_obj *e = lookup_str(root, "ema"), *m = lookup_str(root, "model");
        *out = e && e->kind == DITC_PK_DICT ? e : m && m->kind == DITC_PK_DICT ? m : root;
        return 0;
    }
    if (!strcmp(select, "all")) {
        *out = root;
        return 0;
    }
    const ditc_pk_obj *o = root;
    const char *p = select;
    while (*p) {
        size_t used = 0;
        const ditc_pk_obj *n = o->kind == DITC_PK_DICT ? child(o, p, &used) : NULL;
        if (!n) {
            char keys[300], nm[112];
            key_list(o, keys, sizeof keys);
            return fail(c, "no \"%s\" to select (keys there: %s)", show(nm, select), keys);
        }
        o = n;
        p += used;
        if (*p == '.') p++;
    }
    *out = o;
    return 0;
}

// ---- the archive ----------------------------------------------------------------------------------------

static int find_prefix(pt_ctx *c) {
    int found = 0;
    for (int i = 0; i < c->z.n; i++) {
        const char *nm = c->z.entries[i].name, *sl = strchr(nm, '/');
        if (!sl || sl == nm || strcmp(sl, "/data.pkl") || (size_t)(sl - nm) >= sizeof c->prefix) continue;
        if (found++) return fail(c, "more than one */data.pkl in the archive: not a torch.save file");
        memcpy(c->prefix, nm, (size_t)(sl - nm));
        c->prefix[sl - nm] = '\0';
    }
    if (!found)
        return fail(c, "a zip archive without <archive>/data.pkl: not a torch.save file (or one written by a "
                       "PyTorch without zip serialization)");
    return 0;
}

static int read_entry(pt_ctx *c, const ditc_zip_entry *e, const unsigned char **data) {
    size_t i = (size_t)(e - c->z.entries);
    if (!c->entry_data[i]) {
        int r = ditc_zip_read(&c->z, e, &c->entry_data[i], &c->entry_owned[i], c->s);
        if (r) return r;
    }
    *data = c->entry_data[i];
    return 0;
}

static int check_byteorder(pt_ctx *c) {
    char name[300];
    snprintf(name, sizeof name, "%s/byteorder", c->prefix);
    const ditc_zip_entry *e = ditc_zip_find(&c->z, name);
    if (!e) return 0; // before PyTorch 2.1: always little-endian
    const unsigned char *d;
    int r = read_entry(c, e, &d);
    if (r) return r;
    if (e->usize == 6 && !memcmp(d, "little", 6)) return 0;
    return fail(c, "%s is not \"little\": a big-endian torch.save file is not supported", name);
}

// ---- tensors -----------------------------------------------------------------------------------------

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    if (a && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

// The zip record of storage st (tensor nm's), checked against its declared size; its bytes read when want.
static int zip_storage(pt_ctx *c, const char *nm, const ditc_pk_obj *st, int want, const unsigned char **base) {
    char name[300];
    snprintf(name, sizeof name, "%s/data/%s", c->prefix, st->s);
    const ditc_zip_entry *e = ditc_zip_find(&c->z, name);
    if (!e) return fail(c, "tensor \"%s\": its storage record %s is missing", nm, name);
    uint64_t sbytes;
    if (!mul_ok((uint64_t)st->i, ditc_dtype_size(st->dtype), &sbytes) || sbytes != e->usize)
        return fail(
            c, "tensor \"%s\": storage %s declares %" PRId64 " elements of %s but its record holds %" PRIu64 " bytes",
            nm, st->s, st->i, ditc_dtype_name(st->dtype), e->usize);
    return want ? read_entry(c, e, base) : 0;
}

// The elements tensor nm may use: *avail of them from *base (set only when want): its storage's zip record or
// legacy data record, narrowed to a legacy storage view.
static int storage_span(pt_ctx *c, const char *nm, const ditc_pk_obj *st, int want, const unsigned char **base,
                        uint64_t *avail) {
    *base = NULL;
    *avail = (uint64_t)st->i;
    if (!c->legacy) {
        int r = zip_storage(c, nm, st, want, base);
        if (r) return r;
    } else {
        const ditc_ptl_record *rec = ditc_pt_legacy_find(&c->leg, st->s);
        if (!rec) return fail(c, "tensor \"%s\": its storage %s has no data record", nm, st->s); // (checked at open)
        if (want) *base = c->buf + rec->offset;
    }
    if (st->view_numel < 0) return 0;
    if ((uint64_t)st->view_offset > *avail || (uint64_t)st->view_numel > *avail - (uint64_t)st->view_offset)
        return fail(c,
                    "tensor \"%s\": its storage view [%" PRId64 ", %" PRId64 " + %" PRId64
                    ") lies outside storage %s of %" PRId64 " elements",
                    nm, st->view_offset, st->view_offset, st->view_numel, st->s, st->i);
    if (want) *base += (size_t)st->view_offset * ditc_dtype_size(st->dtype);
    *avail = (uint64_t)st->view_numel;
    return 0;
}

// Bytes of tensor t (numel x element size), checked against its storage; *src = the storage's (view's) bytes.
static int check_tensor(pt_ctx *c, const flat_tensor *f, uint64_t *bytes, const unsigned char **src) {
    char nm[112];
    const ditc_pk_obj *t = f->t, *st = t->items[0];
    size_t es = ditc_dtype_size(t->dtype);
    show(nm, f->name);
    uint64_t avail;
    int r = storage_span(c, nm, st, 0, src, &avail);
    if (r) return r;
    uint64_t numel = 1, extent = (uint64_t)t->i;
    for (int d = 0; d < t->ndim; d++)
        if (!mul_ok(numel, (uint64_t)t->shape[d], &numel)) return fail(c, "tensor \"%s\": its size overflows", nm);
    if (numel) {
        for (int d = 0; d < t->ndim; d++) {
            uint64_t span;
            if (!mul_ok((uint64_t)(t->shape[d] - 1), (uint64_t)t->stride[d], &span) || extent > UINT64_MAX - span)
                return fail(c, "tensor \"%s\": its strides overflow", nm);
            extent += span;
        }
        if (extent >= avail)
            return fail(c,
                        "tensor \"%s\": storage %s%s holds %" PRIu64
                        " elements, shorter than the tensor's extent (%" PRIu64 " elements from offset %" PRId64 ")",
                        nm, st->s, st->view_numel < 0 ? "" : " (a view)", avail, extent + 1, t->i);
    }
    if (!mul_ok(numel, es, bytes)) return fail(c, "tensor \"%s\": its byte size overflows", nm);
    return numel ? storage_span(c, nm, st, 1, src, &avail) : 0;
}

static int contiguous(const ditc_pk_obj *t) {
    int64_t want = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != want) return 0;
        want *= t->shape[d];
    }
    return 1;
}

// Copies the strided view t of storage bytes src into dst, row-major.
static void gather(unsigned char *dst, const unsigned char *src, const ditc_pk_obj *t, size_t es, uint64_t numel) {
    if (contiguous(t)) {
        memcpy(dst, src + (size_t)t->i * es, (size_t)numel * es);
        return;
    }
    int nd = t->ndim;
    int64_t inner = t->shape[nd - 1], istr = t->stride[nd - 1], idx[DITC_PK_MAX_DIMS] = {0};
    uint64_t outer = numel / (uint64_t)inner;
    for (uint64_t o = 0; o < outer; o++) {
        int64_t base = t->i;
        for (int d = 0; d < nd - 1; d++) base += idx[d] * t->stride[d];
        if (istr == 1) memcpy(dst, src + (size_t)base * es, (size_t)inner * es);
        else
            for (int64_t k = 0; k < inner; k++) memcpy(dst + (size_t)k * es, src + (size_t)(base + k * istr) * es, es);
        dst += (size_t)inner * es;
        for (int d = nd - 2; d >= 0; d--) {
            if (++idx[d] < t->shape[d]) break;
            idx[d] = 0;
        }
    }
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const flat_tensor *)a)->name, ((const flat_tensor *)b)->name);
}

static int check_unique(pt_ctx *c) {
    if (c->nft < 2) return 0;
    flat_tensor *s = ditc_xmalloc((size_t)c->nft * sizeof *s);
    memcpy(s, c->ft, (size_t)c->nft * sizeof *s);
    qsort(s, (size_t)c->nft, sizeof *s, cmp_name);
    int r = 0;
    for (int i = 1; i < c->nft && !r; i++)
        if (!strcmp(s[i].name, s[i - 1].name)) {
            char nm[112];
            r = fail(c, "two tensors are named \"%s\"", show(nm, s[i].name));
        }
    free(s);
    return r;
}

// Fills st from the flattened tensors: one buffer, tensors back to back in file order.
static int materialise(pt_ctx *c, ditc_safetensors *st) {
    uint64_t total = 0, cap = 4 * (uint64_t)c->file_size + (1u << 20);
    uint64_t *bytes = ditc_xmalloc((size_t)(c->nft ? c->nft : 1) * sizeof *bytes);
    const unsigned char **src = ditc_xmalloc((size_t)(c->nft ? c->nft : 1) * sizeof *src);
    int r = 0;
    for (int i = 0; i < c->nft && !r; i++) {
        r = check_tensor(c, &c->ft[i], &bytes[i], &src[i]);
        if (!r && bytes[i] > cap - total) {
            char nm[112];
            r = fail(c,
                     "tensor \"%s\": the tensors would take more than %" PRIu64
                     " bytes (4 x the file): views repeated under many names or with stride 0",
                     show(nm, c->ft[i].name), cap);
        }
        if (!r) total += bytes[i];
    }
    if (!r) {
        st->owned = malloc(total ? (size_t)total : 1);
        if (!st->owned)
            r = ditc_fail(c->s, DITC_ERR_IO, "%s: out of memory for %" PRIu64 " bytes of tensors", c->label, total);
    }
    if (!r) {
        st->bytes = st->owned;
        st->size = (size_t)total;
        st->tensors = ditc_xcalloc((size_t)(c->nft ? c->nft : 1), sizeof *st->tensors);
        uint64_t off = 0;
        for (int i = 0; i < c->nft; i++) {
            const ditc_pk_obj *t = c->ft[i].t;
            ditc_st_tensor *o = &st->tensors[st->n_tensors++];
            o->name = c->ft[i].name;
            c->ft[i].name = NULL;
            o->dtype = t->dtype;
            o->ndim = t->ndim;
            memcpy(o->shape, t->shape, sizeof o->shape);
            o->begin = off;
            o->end = off + bytes[i];
            o->data = st->owned + off;
            if (bytes[i])
                gather(st->owned + off, src[i], t, ditc_dtype_size(t->dtype), bytes[i] / ditc_dtype_size(t->dtype));
            off += bytes[i];
        }
        st->meta_keys = c->mk;
        st->meta_vals = c->mv;
        st->n_meta = c->nm;
        c->mk = c->mv = NULL;
        c->nm = 0;
    }
    free(bytes);
    free(src);
    return r;
}

static void ctx_free(pt_ctx *c) {
    for (int i = 0; i < c->nft; i++) free(c->ft[i].name);
    free(c->ft);
    for (int i = 0; i < c->nm; i++) {
        free(c->mk[i]);
        free(c->mv[i]);
    }
    free(c->mk);
    free(c->mv);
    for (int i = 0; i < c->z.n && c->entry_owned; i++) free(c->entry_owned[i]);
    free(c->entry_owned);
    free(c->entry_data);
    ditc_pickle_free(&c->pk);
    ditc_pt_legacy_free(&c->leg);
    ditc_zip_close(&c->z);
}

ditc_pt_format ditc_pt_sniff(const unsigned char *h, size_t n) {
    if (n >= 4 && h[0] == 'P' && h[1] == 'K' && ((h[2] == 3 && h[3] == 4) || (h[2] == 5 && h[3] == 6)))
        return DITC_PT_ZIP;
    if (ditc_pt_legacy_sniff(h, n)) return DITC_PT_LEGACY;
    if (n >= 262 && !memcmp(h + 257, "ustar", 5)) return DITC_PT_TAR;
    return DITC_PT_UNKNOWN;
}

// The zip format: the archive, its byte order, its data.pkl unpickled.
static int open_zip(pt_ctx *c) {
    int r = ditc_zip_open(&c->z, c->buf, c->file_size, c->label, c->s);
    if (!r) {
        c->entry_data = ditc_xcalloc((size_t)(c->z.n ? c->z.n : 1), sizeof *c->entry_data);
        c->entry_owned = ditc_xcalloc((size_t)(c->z.n ? c->z.n : 1), sizeof *c->entry_owned);
        r = find_prefix(c);
    }
    if (!r) r = check_byteorder(c);
    const ditc_zip_entry *pe = NULL;
    const unsigned char *pkl = NULL;
    if (!r) {
        char name[300];
        snprintf(name, sizeof name, "%s/data.pkl", c->prefix);
        pe = ditc_zip_find(&c->z, name);
        r = read_entry(c, pe, &pkl);
    }
    if (!r) {
        char lab[600];
        snprintf(lab, sizeof lab, "%s: %s/data.pkl", c->label, c->prefix);
        r = ditc_pickle_load(&c->pk, pkl, (size_t)pe->usize, lab, c->s);
        c->max_visits = (int64_t)pe->usize + 64;
        c->max_text = 2 * (uint64_t)pe->usize + (1u << 20);
    }
    return r;
}

// The format by the first bytes: zip, legacy or the refused tar (anything else: the zip reader says what is wrong).
static int open_file(pt_ctx *c) {
    switch (ditc_pt_sniff(c->buf, c->file_size)) {
    case DITC_PT_LEGACY: {
        c->legacy = 1;
        int r = ditc_pt_legacy_open(&c->leg, &c->pk, c->buf, c->file_size, c->label, c->s);
        c->max_visits = (int64_t)c->leg.pickle_len + 64;
        c->max_text = 2 * (uint64_t)c->leg.pickle_len + (1u << 20);
        return r;
    }
    case DITC_PT_TAR:
        return fail(c, "the tar-based torch.save format of the first PyTorch releases is not supported: load it and "
                       "save it again with a newer PyTorch (torch.save(torch.load(f), f))");
    default: return open_zip(c);
    }
}

int ditc_pt_parse(ditc_safetensors *st, const unsigned char *buf, size_t size, const char *label, const char *select,
                  ditc_status *s) {
    DITC_CHECK(st != NULL && (buf != NULL || size == 0), "ditc_pt_parse: bad arguments");
    memset(st, 0, sizeof *st);
    ditc_status_ok(s);
    st->label = ditc_xstrdup(label ? label : "<torch file>");
    pt_ctx c = {.label = st->label, .s = s, .buf = buf, .file_size = size};
    int r = open_file(&c);
    const ditc_pk_obj *sel = NULL;
    if (!r) r = select_root(&c, select, &sel);
    if (!r) r = flatten(&c, sel, "", 0, 1, sel == c.pk.root);
    if (!r && sel != c.pk.root) {
        c.visits = 0;
        c.text_bytes = 0;
        r = flatten(&c, c.pk.root, "", 0, 0, 1);
    }
    if (!r && c.nft == 0) {
        char nm[112];
        r = fail(&c, "no tensors%s%s%s", select ? " under \"" : "", select ? show(nm, select) : "", select ? "\"" : "");
    }
    if (!r) r = check_unique(&c);
    if (!r) r = materialise(&c, st);
    ctx_free(&c);
    if (r) ditc_st_close(st);
    return r;
}

int ditc_pt_open(ditc_safetensors *st, const char *path, const char *select, ditc_status *s) {
    DITC_CHECK(st != NULL && path != NULL, "ditc_pt_open: bad arguments");
    memset(st, 0, sizeof *st);
    ditc_status_ok(s);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return ditc_fail(s, DITC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ditc_fail(s, DITC_ERR_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)sb.st_size;
    void *map = NULL;
    if (n) {
        map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return ditc_fail(s, DITC_ERR_IO, "%s: mmap failed: %s", path, strerror(e));
        }
    }
    close(fd);
    static const unsigned char empty[1] = {0};
    int r = ditc_pt_parse(st, map ? map : empty, n, path, select, s);
    if (map) munmap(map, n);
    return r;
}

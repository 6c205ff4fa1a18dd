// torch_pt_legacy.c — the legacy torch.save format (see torch_pt_legacy.h), as torch/serialization.py's
// _legacy_save writes it and _legacy_load reads it.
// Bounds: every pickle is bounded by the bytes it spans (pickle.h); the storage table holds one entry per
// persistent id of the object pickle; a record's declared size is checked against the bytes left in the file
// before anything is read.
#include "torch_pt_legacy.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PROTOCOL_VERSION 1001

// torch's MAGIC_NUMBER 0x1950a86a20f9469cfc6c, as LONG1 writes it (little-endian, 10 bytes).
static const unsigned char magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

typedef struct {
    const unsigned char *buf;
    size_t size, pos;
    const char *label;
    ditc_status *s;
} lg_ctx;

__attribute__((format(printf, 2, 3))) static int fail(lg_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = ditc_fail_labelled_v(c->s, DITC_ERR_FORMAT, c->label, fmt, ap);
    va_end(ap);
    return r;
}

static const char *show(char out[112], const char *s) { return ditc_printable(out, s, strlen(s), 0); }

// ---- sniffing ------------------------------------------------------------------------------------------

// Where the LONG1 of a magic-number pickle would start in h: after PROTO 2-5 and, at protocol >= 4, a FRAME;
// 0 if h does not start with PROTO 2-5, LONG1 of 10 bytes.
static size_t magic_at(const unsigned char *h, size_t n) {
    if (n < 4 || h[0] != 0x80 || h[1] < 2 || h[1] > 5) return 0;
    size_t i = 2;
    if (h[1] >= 4 && h[2] == 0x95) i += 9;
    return n >= i + 2 && h[i] == 0x8a && h[i + 1] == sizeof magic ? i : 0;
}

int ditc_pt_legacy_sniff(const unsigned char *h, size_t n) { return magic_at(h, n) != 0; }

// ---- the header pickles ----------------------------------------------------------------------------------

// Pickle 1: the magic number (read by its bytes: it does not fit the unpickler's 64-bit ints).
static int check_magic(lg_ctx *c) {
    size_t i = magic_at(c->buf, c->size);
    if (!i || c->size < i + 2 + sizeof magic + 1 || c->buf[i + 2 + sizeof magic] != '.' ||
        memcmp(c->buf + i + 2, magic, sizeof magic))
        return fail(c, "not torch's legacy magic number 0x1950a86a20f9469cfc6c at the start: a corrupt legacy "
                       "torch.save file");
    c->pos = i + 2 + sizeof magic + 1;
    return 0;
}

// The next pickle of the stream into *pk (what: its name in messages).
static int next_pickle(lg_ctx *c, ditc_pickle *pk, const char *what, int legacy_ids, size_t *len) {
    char lab[600];
    size_t used = 0;
    snprintf(lab, sizeof lab, "%s: legacy torch.save, the %s pickle at byte %zu", c->label, what, c->pos);
    int r = ditc_pickle_load_next(pk, c->buf + c->pos, c->size - c->pos, legacy_ids, &used, lab, c->s);
    if (r) return r;
    c->pos += used;
    if (len) *len = used;
    return 0;
}

static const ditc_pk_obj *dict_get(const ditc_pk_obj *d, const char *key) {
    for (int64_t i = 0; i + 1 < d->n; i += 2)
        if (d->items[i]->kind == DITC_PK_STR && !strcmp(d->items[i]->s, key)) return d->items[i + 1];
    return NULL;
}

// Pickles 2 and 3: PROTOCOL_VERSION and sys_info {'protocol_version', 'little_endian', 'type_sizes'}.
static int check_header(lg_ctx *c) {
    ditc_pickle pk;
    int r = next_pickle(c, &pk, "protocol version", 0, NULL);
    if (r) return r;
    const ditc_pk_obj *v = pk.root;
    if (v->kind != DITC_PK_INT)
        r = fail(c, "the legacy protocol version is a %s, not the int %d", ditc_pk_kind_name(v->kind),
                 PROTOCOL_VERSION);
    else if (v->i != PROTOCOL_VERSION)
        r = fail(c, "the legacy protocol version is %" PRId64 ", not %d", v->i, PROTOCOL_VERSION);
    ditc_pickle_free(&pk);
    if (r || (r = next_pickle(c, &pk, "sys_info", 0, NULL))) return r;
    const ditc_pk_obj *le = pk.root->kind == DITC_PK_DICT ? dict_get(pk.root, "little_endian") : NULL;
    if (pk.root->kind != DITC_PK_DICT)
        r = fail(c, "the legacy sys_info is a %s, not a dict", ditc_pk_kind_name(pk.root->kind));
    else if (le && (le->kind == DITC_PK_BOOL || le->kind == DITC_PK_INT) && le->i == 0)
        r = fail(c, "written on a big-endian machine (sys_info little_endian=False): not supported; re-save it on a "
                    "little-endian one");
    ditc_pickle_free(&pk);
    return r;
}

// ---- the storages --------------------------------------------------------------------------------------

static int cmp_rec(const void *a, const void *b) {
    return strcmp(((const ditc_ptl_record *)a)->key, ((const ditc_ptl_record *)b)->key);
}

// The table of storages from the object pickle's persistent ids: one entry per key, sorted.
static int collect(lg_ctx *c, ditc_pt_legacy *L, const ditc_pickle *pk) {
    L->recs = ditc_xcalloc((size_t)(pk->n_all ? pk->n_all : 1), sizeof *L->recs);
    int64_t n = 0;
    for (int64_t i = 0; i < pk->n_all; i++) {
        const ditc_pk_obj *o = pk->all[i];
        if (o->kind == DITC_PK_STORAGE) L->recs[n++] = (ditc_ptl_record){.key = o->s, .dtype = o->dtype, .numel = o->i};
    }
    qsort(L->recs, (size_t)n, sizeof *L->recs, cmp_rec);
    L->n = 0;
    for (int64_t i = 0; i < n; i++) {
        ditc_ptl_record *p = L->n ? &L->recs[L->n - 1] : NULL, *q = &L->recs[i];
        if (!p || strcmp(p->key, q->key)) {
            L->recs[L->n++] = *q;
            continue;
        }
        if (p->dtype != q->dtype || p->numel != q->numel) {
            char nm[112];
            return fail(c, "storage %s is declared both as %" PRId64 " %s and as %" PRId64 " %s elements",
                        show(nm, p->key), p->numel, ditc_dtype_name(p->dtype), q->numel, ditc_dtype_name(q->dtype));
        }
    }
    return 0;
}

const ditc_ptl_record *ditc_pt_legacy_find(const ditc_pt_legacy *L, const char *key) {
    ditc_ptl_record k = {.key = key};
    return L->n ? bsearch(&k, L->recs, (size_t)L->n, sizeof k, cmp_rec) : NULL;
}

// Pickle 5: the storage keys, in the order of the data records; *order = their entries.
static int read_keys(lg_ctx *c, ditc_pt_legacy *L, ditc_ptl_record ***order, int64_t *n) {
    ditc_pickle pk;
    int r = next_pickle(c, &pk, "storage keys", 0, NULL);
    if (r) return r;
    const ditc_pk_obj *l = pk.root;
    char nm[112];
    if (l->kind != DITC_PK_LIST && l->kind != DITC_PK_TUPLE)
        r = fail(c, "the storage keys are a %s, not a list", ditc_pk_kind_name(l->kind));
    *order = ditc_xcalloc((size_t)(l->n ? l->n : 1), sizeof **order);
    *n = 0;
    for (int64_t i = 0; !r && i < l->n; i++) {
        const ditc_pk_obj *k = l->items[i];
        ditc_ptl_record *e = NULL;
        if (k->kind != DITC_PK_STR || strlen(k->s) != k->len) r = fail(c, "storage key %" PRId64 " is not a string", i);
        else if (!(e = (ditc_ptl_record *)ditc_pt_legacy_find(L, k->s)))
            r = fail(c, "the storage keys name %s, which the object pickle does not declare", show(nm, k->s));
        else if (e->listed) r = fail(c, "storage %s is listed twice in the storage keys", show(nm, k->s));
        else e->listed = 1, (*order)[(*n)++] = e;
    }
    ditc_pickle_free(&pk);
    return r;
}

static uint64_t rd_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

// The data record of storage e at c->pos: an int64 element count (= the declared numel), then its bytes.
static int read_record(lg_ctx *c, ditc_ptl_record *e) {
    char nm[112];
    show(nm, e->key);
    if (c->size - c->pos < 8)
        return fail(c, "the file ends at byte %zu, inside the element count of storage %s (truncated?)", c->size, nm);
    uint64_t count = rd_u64(c->buf + c->pos);
    c->pos += 8;
    if (count != (uint64_t)e->numel)
        return fail(c, "the data record of storage %s holds %" PRId64 " elements, the object pickle declares %" PRId64,
                    nm, (int64_t)count, e->numel);
    size_t es = ditc_dtype_size(e->dtype);
    if (count > (c->size - c->pos) / es)
        return fail(c,
                    "storage %s: %" PRIu64 " %s elements from byte %zu run past the end of the file (%zu bytes; "
                    "truncated?)",
                    nm, count, ditc_dtype_name(e->dtype), c->pos, c->size);
    e->offset = c->pos;
    c->pos += (size_t)count * es;
    return 0;
}

static int read_records(lg_ctx *c, ditc_pt_legacy *L) {
    ditc_ptl_record **order = NULL;
    int64_t n = 0;
    int r = read_keys(c, L, &order, &n);
    for (int64_t i = 0; !r && i < n; i++) r = read_record(c, order[i]);
    free(order);
    for (int64_t i = 0; !r && i < L->n; i++)
        if (!L->recs[i].listed) {
            char nm[112];
            r = fail(c, "storage %s of the object pickle is missing from the storage keys: its data is not in the file",
                     show(nm, L->recs[i].key));
        }
    return r;
}

// ---- the whole file ------------------------------------------------------------------------------------------

int ditc_pt_legacy_open(ditc_pt_legacy *L, ditc_pickle *pk, const unsigned char *buf, size_t size, const char *label,
                        ditc_status *s) {
    memset(L, 0, sizeof *L);
    memset(pk, 0, sizeof *pk);
    lg_ctx c = {.buf = buf, .size = size, .label = label, .s = s};
    int r = check_magic(&c);
    if (!r) r = check_header(&c);
    if (!r) r = next_pickle(&c, pk, "object", 1, &L->pickle_len);
    if (!r) r = collect(&c, L, pk);
    if (!r) r = read_records(&c, L);
    return r;
}

void ditc_pt_legacy_free(ditc_pt_legacy *L) {
    free(L->recs);
    memset(L, 0, sizeof *L);
}

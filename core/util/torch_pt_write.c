// torch_pt_write.c — a torch.save file (torch_pt.h) of named tensors: a zip of stored entries archive/data.pkl
// (a protocol-2 pickle of an OrderedDict of torch._utils._rebuild_tensor_v2 calls whose storages are persistent
// ids), archive/data/<i> (each tensor's bytes, contiguous, little-endian), archive/byteorder and archive/version —
// only globals and opcodes that torch.load(weights_only=True) accepts. Streamed into the file (a temporary one,
// renamed when complete); ZIP64 past 4 GiB, so Large-DiT-3B/7B checkpoints convert too.
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fs.h"
#include "torch_pt.h"

typedef struct {
    unsigned char *p;
    size_t len, cap;
} obuf;

static void put(obuf *b, const void *d, size_t n) {
    if (b->len + n > b->cap) {
        while (b->len + n > b->cap) b->cap = b->cap ? 2 * b->cap : 4096;
        b->p = ditc_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}
static void put1(obuf *b, unsigned v) {
    unsigned char c = (unsigned char)v;
    put(b, &c, 1);
}
static void put_le(obuf *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) put1(b, (unsigned)(v >> (8 * i)) & 0xff);
}
static void put_str(obuf *b, const char *s) { // BINUNICODE
    put1(b, 'X');
    put_le(b, strlen(s), 4);
    put(b, s, strlen(s));
}
static void put_global(obuf *b, const char *mod, const char *name) {
    put1(b, 'c');
    put(b, mod, strlen(mod));
    put1(b, '\n');
    put(b, name, strlen(name));
    put1(b, '\n');
}
static void put_int(obuf *b, int64_t v) {
    if (v >= 0 && v < 256) put1(b, 'K'), put1(b, (unsigned)v);
    else if (v >= 0 && v < 65536) put1(b, 'M'), put_le(b, (uint64_t)v, 2);
    else put1(b, 0x8a), put1(b, 8), put_le(b, (uint64_t)v, 8); // LONG1, 8 bytes two's complement
}
static void put_ints(obuf *b, const int64_t *v, int n) {
    put1(b, '(');
    for (int i = 0; i < n; i++) put_int(b, v[i]);
    put1(b, 't');
}

static const char *storage_of(ditc_dtype d) {
    switch (d) {
    case DITC_F32: return "FloatStorage";
    case DITC_BF16: return "BFloat16Storage";
    case DITC_F16: return "HalfStorage";
    case DITC_I32: return "IntStorage";
    case DITC_I64: return "LongStorage";
    case DITC_F64: return "DoubleStorage";
    case DITC_U8: return "ByteStorage";
    default: return NULL;
    }
}

static void pickle(obuf *b, const ditc_safetensors *st) {
    put1(b, 0x80), put1(b, 2);
    put_global(b, "collections", "OrderedDict");
    put1(b, ')'), put1(b, 'R'), put1(b, '(');
    for (int i = 0; i < st->n_tensors; i++) {
        const ditc_st_tensor *t = &st->tensors[i];
        char key[24];
        int64_t stride[8], numel = ditc_st_numel(t);
        for (int d = t->ndim - 1; d >= 0; d--) stride[d] = d == t->ndim - 1 ? 1 : stride[d + 1] * t->shape[d + 1];
        snprintf(key, sizeof key, "%d", i);
        put_str(b, t->name);
        put_global(b, "torch._utils", "_rebuild_tensor_v2");
        put1(b, '('), put1(b, '(');
        put_str(b, "storage");
        put_global(b, "torch", storage_of(t->dtype));
        put_str(b, key);
        put_str(b, "cpu");
        put_int(b, numel);
        put1(b, 't'), put1(b, 'Q');
        put_int(b, 0);
        put_ints(b, t->shape, t->ndim);
        put_ints(b, stride, t->ndim);
        put1(b, 0x89); // requires_grad False
        put_global(b, "collections", "OrderedDict");
        put1(b, ')'), put1(b, 'R'), put1(b, 't'), put1(b, 'R');
    }
    put1(b, 'u'), put1(b, '.');
}

// ---- the zip (stored entries), streamed into the file -------------------------------------------------------
// ZIP64 when the file could reach 4 GiB or 65535 entries (or DITC_PT_FORCE_ZIP64 is set: tests): then every entry
// carries its sizes (and, in the central directory, its offset) in a ZIP64 extra field, and the ZIP64 end records
// precede the classic one — as PyTorch's own writer does for large files.
#define Z32 0xFFFFFFFFu

typedef struct {
    ditc_atomic_file *f;
    obuf cd; // the central directory, written at the end
    int zip64;
    uint64_t n;
} zip_writer;

static uint32_t crc_of(const void *data, uint64_t n) {
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    for (uint64_t o = 0; o < n; o += 1u << 30) {
        uint64_t k = n - o < (1u << 30) ? n - o : (1u << 30);
        crc = (uint32_t)crc32(crc, (const unsigned char *)data + o, (uInt)k);
    }
    return crc;
}

// One stored entry: its local header and data into the file, its central-directory record into cd.
static void entry(zip_writer *w, const char *name, const void *data, uint64_t n) {
    uint32_t crc = crc_of(data, n);
    uint64_t off = w->f->written;
    size_t nl = strlen(name);
    unsigned version = w->zip64 ? 45 : 20;
    obuf h = {0};
    put_le(&h, 0x04034b50, 4), put_le(&h, version, 2), put_le(&h, 0, 2), put_le(&h, 0, 2), put_le(&h, 0, 2);
    put_le(&h, 0x21, 2), put_le(&h, crc, 4);
    put_le(&h, w->zip64 ? Z32 : n, 4), put_le(&h, w->zip64 ? Z32 : n, 4);
    put_le(&h, nl, 2), put_le(&h, w->zip64 ? 20 : 0, 2);
    put(&h, name, nl);
    if (w->zip64) put_le(&h, 0x0001, 2), put_le(&h, 16, 2), put_le(&h, n, 8), put_le(&h, n, 8);
    ditc_atomic_write(w->f, h.p, h.len);
    ditc_atomic_write(w->f, data, (size_t)n);
    free(h.p);
    obuf *cd = &w->cd;
    put_le(cd, 0x02014b50, 4), put_le(cd, version, 2), put_le(cd, version, 2), put_le(cd, 0, 2), put_le(cd, 0, 2);
    put_le(cd, 0, 2), put_le(cd, 0x21, 2), put_le(cd, crc, 4);
    put_le(cd, w->zip64 ? Z32 : n, 4), put_le(cd, w->zip64 ? Z32 : n, 4);
    put_le(cd, nl, 2), put_le(cd, w->zip64 ? 28 : 0, 2), put_le(cd, 0, 2), put_le(cd, 0, 2), put_le(cd, 0, 2);
    put_le(cd, 0, 4), put_le(cd, w->zip64 ? Z32 : off, 4);
    put(cd, name, nl);
    if (w->zip64) put_le(cd, 0x0001, 2), put_le(cd, 24, 2), put_le(cd, n, 8), put_le(cd, n, 8), put_le(cd, off, 8);
    w->n++;
}

// The central directory and the end records.
static void finish(zip_writer *w) {
    uint64_t cd_off = w->f->written, cd_len = w->cd.len;
    ditc_atomic_write(w->f, w->cd.p, w->cd.len);
    obuf e = {0};
    if (w->zip64) {
        uint64_t rec = w->f->written;
        put_le(&e, 0x06064b50, 4), put_le(&e, 44, 8), put_le(&e, 45, 2), put_le(&e, 45, 2), put_le(&e, 0, 4);
        put_le(&e, 0, 4), put_le(&e, w->n, 8), put_le(&e, w->n, 8), put_le(&e, cd_len, 8), put_le(&e, cd_off, 8);
        put_le(&e, 0x07064b50, 4), put_le(&e, 0, 4), put_le(&e, rec, 8), put_le(&e, 1, 4);
    }
    put_le(&e, 0x06054b50, 4), put_le(&e, 0, 2), put_le(&e, 0, 2);
    put_le(&e, w->zip64 ? 0xFFFF : w->n, 2), put_le(&e, w->zip64 ? 0xFFFF : w->n, 2);
    put_le(&e, w->zip64 ? Z32 : cd_len, 4), put_le(&e, w->zip64 ? Z32 : cd_off, 4), put_le(&e, 0, 2);
    ditc_atomic_write(w->f, e.p, e.len);
    free(e.p);
}

int ditc_pt_save(const char *path, const ditc_safetensors *st, ditc_status *s) {
    uint64_t total = 0;
    for (int i = 0; i < st->n_tensors; i++) {
        if (!storage_of(st->tensors[i].dtype) || st->tensors[i].ndim > 8)
            return ditc_fail(s, DITC_ERR_UNSUPPORTED, "%s: tensor \"%s\": no torch storage for its dtype", path,
                             st->tensors[i].name);
        total += (uint64_t)ditc_st_numel(&st->tensors[i]) * ditc_dtype_size(st->tensors[i].dtype);
    }
    obuf pk = {0};
    pickle(&pk, st);
    const char *force = getenv("DITC_PT_FORCE_ZIP64");
    ditc_atomic_file f;
    int r = ditc_atomic_open(&f, path, s);
    if (r) {
        free(pk.p);
        return r;
    }
    // (local headers, names and the pickle are far below the margin)
    zip_writer w = {.f = &f,
                    .zip64 = (force && *force && strcmp(force, "0")) || total + pk.len > 0xF0000000ull ||
                             st->n_tensors > 60000};
    entry(&w, "archive/data.pkl", pk.p, pk.len);
    entry(&w, "archive/byteorder", "little", 6);
    for (int i = 0; i < st->n_tensors; i++) {
        char name[48];
        snprintf(name, sizeof name, "archive/data/%d", i);
        const ditc_st_tensor *t = &st->tensors[i];
        entry(&w, name, t->data, (uint64_t)ditc_st_numel(t) * ditc_dtype_size(t->dtype));
    }
    entry(&w, "archive/version", "3\n", 2);
    finish(&w);
    free(pk.p);
    free(w.cd.p);
    return ditc_atomic_commit(&f, s);
}

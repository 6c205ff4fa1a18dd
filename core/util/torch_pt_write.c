// torch_pt_write.c — a torch.save file (torch_pt.h) of named tensors: a zip of stored entries archive/data.pkl
// (a protocol-2 pickle of an OrderedDict of torch._utils._rebuild_tensor_v2 calls whose storages are persistent
// ids), archive/data/<i> (each tensor's bytes, contiguous, little-endian), archive/byteorder and archive/version —
// only globals and opcodes that torch.load(weights_only=True) accepts.
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

// One stored entry: its local header and data into z, its central-directory record into cd.
static void entry(obuf *z, obuf *cd, const char *name, const void *data, size_t n) {
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    for (size_t o = 0; o < n; o += 1u << 30) {
        size_t k = n - o < (1u << 30) ? n - o : (1u << 30);
        crc = (uint32_t)crc32(crc, (const unsigned char *)data + o, (uInt)k);
    }
    size_t off = z->len, nl = strlen(name);
    put_le(z, 0x04034b50, 4), put_le(z, 20, 2), put_le(z, 0, 2), put_le(z, 0, 2), put_le(z, 0, 2);
    put_le(z, 0x21, 2), put_le(z, crc, 4), put_le(z, n, 4), put_le(z, n, 4), put_le(z, nl, 2), put_le(z, 0, 2);
    put(z, name, nl);
    put(z, data, n);
    put_le(cd, 0x02014b50, 4), put_le(cd, 20, 2), put_le(cd, 20, 2), put_le(cd, 0, 2), put_le(cd, 0, 2);
    put_le(cd, 0, 2), put_le(cd, 0x21, 2), put_le(cd, crc, 4), put_le(cd, n, 4), put_le(cd, n, 4);
    put_le(cd, nl, 2), put_le(cd, 0, 2), put_le(cd, 0, 2), put_le(cd, 0, 2), put_le(cd, 0, 2), put_le(cd, 0, 4);
    put_le(cd, off, 4);
    put(cd, name, nl);
}

int ditc_pt_save(const char *path, const ditc_safetensors *st, ditc_status *s) {
    uint64_t total = 0;
    for (int i = 0; i < st->n_tensors; i++) {
        if (!storage_of(st->tensors[i].dtype) || st->tensors[i].ndim > 8)
            return ditc_fail(s, DITC_ERR_UNSUPPORTED, "%s: tensor \"%s\": no torch storage for its dtype", path,
                             st->tensors[i].name);
        total += (uint64_t)ditc_st_numel(&st->tensors[i]) * ditc_dtype_size(st->tensors[i].dtype);
    }
    if (total > 0xF0000000ull || st->n_tensors > 60000)
        return ditc_fail(s, DITC_ERR_UNSUPPORTED, "%s: over 4 GiB or 60000 tensors (ZIP64 is not written)", path);
    obuf pk = {0}, z = {0}, cd = {0};
    pickle(&pk, st);
    entry(&z, &cd, "archive/data.pkl", pk.p, pk.len);
    entry(&z, &cd, "archive/byteorder", "little", 6);
    for (int i = 0; i < st->n_tensors; i++) {
        char name[48];
        snprintf(name, sizeof name, "archive/data/%d", i);
        const ditc_st_tensor *t = &st->tensors[i];
        entry(&z, &cd, name, t->data, (size_t)ditc_st_numel(t) * ditc_dtype_size(t->dtype));
    }
    entry(&z, &cd, "archive/version", "3\n", 2);
    size_t cd_off = z.len, n = (size_t)st->n_tensors + 3;
    put(&z, cd.p, cd.len);
    put_le(&z, 0x06054b50, 4), put_le(&z, 0, 2), put_le(&z, 0, 2), put_le(&z, n, 2), put_le(&z, n, 2);
    put_le(&z, cd.len, 4), put_le(&z, cd_off, 4), put_le(&z, 0, 2);
    int r = ditc_write_file_atomic(path, z.p, z.len, s);
    free(pk.p), free(z.p), free(cd.p);
    return r;
}

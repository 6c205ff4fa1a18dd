// fuzz_torch_pt.c — libFuzzer target for the torch.save reader (zipread + pickle + torch_pt + torch_pt_legacy).
//
// The first input byte picks what the rest is:
//   mode 0: a whole .pt file (the zip container, then everything under it; or a legacy-format stream of pickles
//     and storage records, which has no checksum to stop mutations);
//   mode 1, 2: a data.pkl, which the harness stores in a valid zip as "a/data.pkl" beside the storage records
//     "a/data/0" .. "a/data/7" (8 << k bytes each), so mutations reach the unpickler, the selection, the
//     flattening and the tensor checks instead of failing the CRC; mode 1 selects "all", mode 2 the default.
// On success every tensor must lie inside the buffer with end - begin = numel x dtype size, and is converted to
// F32 (touching every byte); a rejection must carry a message. Any crash, sanitizer report or leak is a bug.
// Seeds: tests/fuzz/torch_pt/ (written by `make_pt_files.py seeds`).
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "torch_pt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const ditc_safetensors *st) {
    for (int i = 0; i < st->n_tensors; i++) {
        const ditc_st_tensor *t = &st->tensors[i];
        int64_t n = ditc_st_numel(t);
        if (n < 0 || (uint64_t)n * ditc_dtype_size(t->dtype) != t->end - t->begin) abort();
        if (n && (t->data < st->bytes || t->data + (t->end - t->begin) > st->bytes + st->size)) abort();
        float *dst = malloc(n ? (size_t)n * sizeof(float) : 1);
        ditc_status s;
        if (!dst || ditc_st_read_f32(st, t, dst, &s) != 0) abort();
        free(dst);
        if (!ditc_st_find(st, t->name)) abort();
    }
    for (int i = 0; i < st->n_meta; i++)
        if (!st->meta_keys[i] || !st->meta_vals[i]) abort();
}

static void put16(unsigned char **p, unsigned v) {
    (*p)[0] = (unsigned char)v;
    (*p)[1] = (unsigned char)(v >> 8);
    *p += 2;
}
static void put32(unsigned char **p, uint32_t v) {
    put16(p, v & 0xffff);
    put16(p, v >> 16);
}

// A stored zip of "a/data.pkl" = pkl and the 8 storage records; returns its size (buf holds enough).
static size_t make_zip(unsigned char *buf, const unsigned char *pkl, size_t n) {
    static unsigned char rec[1024];
    for (size_t i = 0; i < sizeof rec; i++) rec[i] = (unsigned char)(i * 37 + 11);
    const char *names[9] = {"a/data.pkl", "a/data/0", "a/data/1", "a/data/2", "a/data/3",
                            "a/data/4",   "a/data/5", "a/data/6", "a/data/7"};
    uint32_t offs[9], sizes[9], crcs[9];
    unsigned char *p = buf;
    for (int e = 0; e < 9; e++) {
        const unsigned char *d = e ? rec : pkl;
        size_t len = e ? (size_t)8 << (e - 1) : n, nl = strlen(names[e]);
        offs[e] = (uint32_t)(p - buf);
        sizes[e] = (uint32_t)len;
        crcs[e] = (uint32_t)crc32(0L, d, (uInt)len);
        put32(&p, 0x04034b50);
        put16(&p, 20), put16(&p, 0), put16(&p, 0), put16(&p, 0), put16(&p, 0);
        put32(&p, crcs[e]), put32(&p, sizes[e]), put32(&p, sizes[e]);
        put16(&p, (unsigned)nl), put16(&p, 0);
        memcpy(p, names[e], nl), p += nl;
        memcpy(p, d, len), p += len;
    }
    uint32_t cd = (uint32_t)(p - buf);
    for (int e = 0; e < 9; e++) {
        size_t nl = strlen(names[e]);
        put32(&p, 0x02014b50);
        put16(&p, 20), put16(&p, 20), put16(&p, 0), put16(&p, 0), put16(&p, 0), put16(&p, 0);
        put32(&p, crcs[e]), put32(&p, sizes[e]), put32(&p, sizes[e]);
        put16(&p, (unsigned)nl), put16(&p, 0), put16(&p, 0), put16(&p, 0), put16(&p, 0);
        put32(&p, 0), put32(&p, offs[e]);
        memcpy(p, names[e], nl), p += nl;
    }
    uint32_t cd_size = (uint32_t)(p - buf) - cd;
    put32(&p, 0x06054b50);
    put16(&p, 0), put16(&p, 0), put16(&p, 9), put16(&p, 9);
    put32(&p, cd_size), put32(&p, cd), put16(&p, 0);
    return (size_t)(p - buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0] % 3;
    data++, size--;
    size_t n = mode ? size + 4096 : size; // the wrapper's records and headers take < 3 KiB
    // Exact-size copy so that any read past the end hits the sanitizer's redzone.
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) return 0;
    if (mode) n = make_zip(buf, data, size);
    else if (size) memcpy(buf, data, size);
    unsigned char *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return 0;
    }
    if (n) memcpy(exact, buf, n);
    free(buf);
    ditc_safetensors st;
    ditc_status s;
    int rc = ditc_pt_parse(&st, exact, n, "fuzz.pt", mode == 1 ? "all" : NULL, &s);
    if (rc == 0) exercise(&st);
    else if (s.message[0] == '\0' || s.code != rc) abort(); // every rejection carries a message
    ditc_st_close(&st);
    free(exact);
    return 0;
}

// fuzz_safetensors.c — libFuzzer target for the safetensors reader.
//
// Parses the input as a whole file; on success converts every tensor to F32 (touching every data byte),
// looks each one up by name and reads the metadata back, then closes. Any crash, sanitizer report or leak
// is a bug. Build and run (seed with `test_safetensors <dir>`):
//   clang -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined -I core/util tests/fuzz_safetensors.c \
//     core/util/safetensors.c core/util/json.c core/util/dtype.c core/util/common.c -lm -o /tmp/fuzz_st
//   /tmp/fuzz_st -max_total_time=60 -max_len=4096 <seed dir>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const ditc_safetensors *st) {
    for (int i = 0; i < st->n_tensors; i++) {
        const ditc_st_tensor *t = &st->tensors[i];
        int64_t n = ditc_st_numel(t);
        if (n < 0 || (uint64_t)n * ditc_dtype_size(t->dtype) != t->end - t->begin) abort();
        if (t->data < st->bytes || t->data + (t->end - t->begin) > st->bytes + st->size) abort();
        float *dst = malloc(n ? (size_t)n * sizeof(float) : 1);
        ditc_status s;
        if (!dst || ditc_st_read_f32(st, t, dst, &s) != 0) abort();
        free(dst);
        if (!ditc_st_find(st, t->name)) abort();
    }
    for (int i = 0; i < st->n_meta; i++)
        if (!ditc_st_meta(st, st->meta_keys[i])) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // Exact-size copy so that any read past the end hits the sanitizer's redzone.
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    ditc_safetensors st;
    ditc_status s;
    int rc = ditc_st_parse(&st, buf, size, "fuzz.safetensors", &s);
    if (rc == 0) exercise(&st);
    else if (s.message[0] == '\0' || s.code != rc) abort(); // every rejection carries a message
    ditc_st_close(&st);
    free(buf);
    return 0;
}

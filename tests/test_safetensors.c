// test_safetensors.c — safetensors reader/writer and JSON header parser tests.
//
// Round trips every dtype (incl. a 0-d scalar and zero-size tensors) and metadata, checks F32 conversions,
// writer alignment and atomic saves, then feeds a corpus of malformed files built in memory: each must be
// rejected with a message naming the file and the reason. `test_safetensors [seed_dir]` also writes the
// corpus (valid and malformed files) into seed_dir, e.g. to seed the fuzzer. Exit status 0 = all passed.
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "safetensors.h"

#include "test_check.h"

static char g_dir[64];         // scratch directory
static const char *g_seed_dir; // optional corpus output

static void path_in(char *out, size_t n, const char *dir, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void write_file(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(buf, 1, len, f);
    fclose(f);
}

// Entries of dir whose name contains ".tmp.".
static int count_temp_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// ---- round trip ---------------------------------------------------------------------------------

typedef struct {
    const char *name;
    ditc_dtype dtype;
    int ndim;
    int64_t shape[8];
    const void *data;
    size_t nbytes;
} rt_tensor;

// Name with control bytes replaced for one-line output.
static const char *disp(const char *s) {
    static char out[128];
    size_t i = 0;
    for (; s[i] && i < sizeof out - 1; i++) out[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    out[i] = '\0';
    return out;
}

static void check_tensor(const ditc_safetensors *st, int i, const rt_tensor *e_) {
    rt_tensor e0 = *e_;
    const rt_tensor *e = &e0;
    const char *real = e_->name;
    e0.name = disp(real);
    if (!check(i < st->n_tensors, "tensor %d (%s) present", i, e->name)) return;
    const ditc_st_tensor *t = &st->tensors[i];
    check(strcmp(t->name, real) == 0, "tensor %d name \"%s\" in insertion order", i, e->name);
    check(t->dtype == e->dtype, "%s dtype %s", e->name, ditc_dtype_name(e->dtype));
    int shape_ok = t->ndim == e->ndim;
    for (int d = 0; shape_ok && d < e->ndim; d++) shape_ok = t->shape[d] == e->shape[d];
    check(shape_ok, "%s ndim %d and shape", e->name, e->ndim);
    check(t->end - t->begin == e->nbytes && (e->nbytes == 0 || memcmp(t->data, e->data, e->nbytes) == 0),
          "%s: %zu data bytes identical", e->name, e->nbytes);
    check(ditc_st_find(st, real) == t, "%s found by name", e->name);
}

static void test_round_trip(void) {
    printf("# round trip of every dtype, scalar, zero-size tensors and metadata\n");
    static const float f32[6] = {1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 1e30f};
    static const uint16_t f16[4] = {0x3c00, 0xc000, 0x0001, 0x7bff};
    static const uint16_t bf16[4] = {0x3f80, 0xbf80, 0x4049, 0x7f80};
    static const double f64[3] = {3.141592653589793, -1e300, 5e-324};
    static const int64_t i64[2] = {-9000000000000000000LL, 42};
    static const int32_t i32[3] = {-2147483647 - 1, 0, 2147483647};
    static const uint8_t u8[5] = {0, 1, 127, 128, 255};
    static const float scalar = 7.5f;
    rt_tensor ts[] = {
        {"w.f32", DITC_F32, 2, {2, 3}, f32, sizeof f32},
        {"w.f16", DITC_F16, 1, {4}, f16, sizeof f16},
        {"w.bf16", DITC_BF16, 2, {2, 2}, bf16, sizeof bf16},
        {"scalar", DITC_F32, 0, {0}, &scalar, 4},
        {"empty", DITC_F32, 2, {0, 4}, NULL, 0},
        {"w.f64", DITC_F64, 1, {3}, f64, sizeof f64},
        {"w.i64", DITC_I64, 1, {2}, i64, sizeof i64},
        {"empty.u8", DITC_U8, 3, {3, 0, 2}, NULL, 0},
        {"w.i32", DITC_I32, 3, {1, 3, 1}, i32, sizeof i32},
        {"w.u8", DITC_U8, 1, {5}, u8, sizeof u8},
        {"na\"me\\with\nescapes\x01 and \xc3\xa9\xe2\x9c\x93", DITC_U8, 1, {1}, u8, 1},
    };
    int n = (int)(sizeof ts / sizeof ts[0]);
    ditc_st_writer *w = ditc_st_writer_new();
    for (int i = 0; i < n; i++) ditc_st_writer_add(w, ts[i].name, ts[i].dtype, ts[i].ndim, ts[i].shape, ts[i].data);
    ditc_st_writer_meta(w, "format", "pt");
    ditc_st_writer_meta(w, "args", "--lr 1e-4 \"quoted\"\n\ttab \\ back");
    ditc_st_writer_meta(w, "unicode", "h\xc3\xa9llo \xf0\x9f\x98\x80");
    ditc_st_writer_meta(w, "empty", "");
    char path[256];
    path_in(path, sizeof path, g_dir, "rt.safetensors");
    ditc_status s;
    int rc = ditc_st_writer_save(w, path, &s);
    check(rc == 0, "writer saves %s%s%s", path, rc ? ": " : "", rc ? s.message : "");
    if (g_seed_dir) {
        char seed[512];
        path_in(seed, sizeof seed, g_seed_dir, "good_roundtrip.safetensors");
        ditc_st_writer_save(w, seed, &s);
    }
    ditc_st_writer_free(w);
    check(count_temp_files(g_dir) == 0, "no temporary file left after save");

    ditc_safetensors st;
    rc = ditc_st_open(&st, path, &s);
    if (!check(rc == 0, "reader opens the written file%s%s", rc ? ": " : "", rc ? s.message : "")) return;
    check(st.n_tensors == n, "%d tensors read back", n);
    for (int i = 0; i < n && i < st.n_tensors; i++) check_tensor(&st, i, &ts[i]);
    check(ditc_st_numel(ditc_st_find(&st, "scalar")) == 1, "0-d scalar has numel 1");
    check(ditc_st_numel(ditc_st_find(&st, "empty")) == 0, "zero-size tensor has numel 0");
    check(st.n_meta == 4, "4 metadata entries");
    check(st.n_meta > 0 && strcmp(st.meta_keys[0], "format") == 0, "metadata in header order");
    const char *a = ditc_st_meta(&st, "args"), *u = ditc_st_meta(&st, "unicode"), *e = ditc_st_meta(&st, "empty");
    check(a && strcmp(a, "--lr 1e-4 \"quoted\"\n\ttab \\ back") == 0, "metadata with escapes round-trips");
    check(u && strcmp(u, "h\xc3\xa9llo \xf0\x9f\x98\x80") == 0, "metadata with UTF-8 round-trips");
    check(e && e[0] == '\0', "empty metadata value round-trips");
    check(ditc_st_meta(&st, "missing") == NULL && ditc_st_find(&st, "missing") == NULL, "absent names give NULL");

    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | st.bytes[i];
    check((8 + hlen) % 8 == 0, "data starts 8-byte aligned (8 + N = %llu)", (unsigned long long)(8 + hlen));
    check(st.bytes[8 + hlen - 1] == ' ' || st.bytes[8 + hlen - 1] == '}', "header ends with '}' or space padding");
    check(st.tensors[0].begin == 0 && (size_t)(st.tensors[0].data - st.bytes) % 8 == 0, "first tensor aligned");

    float out[6];
    rc = ditc_st_read_f32(&st, ditc_st_find(&st, "w.f32"), out, &s);
    check(rc == 0 && memcmp(out, f32, sizeof f32) == 0, "read_f32 of F32 copies exactly");
    rc = ditc_st_read_f32(&st, ditc_st_find(&st, "empty"), NULL, &s);
    check(rc == 0, "read_f32 of a zero-size tensor succeeds");

    // Same bytes through ditc_st_parse (no copy).
    ditc_safetensors m;
    rc = ditc_st_parse(&m, st.bytes, st.size, "in-memory", &s);
    check(rc == 0 && m.n_tensors == n && m.tensors[0].data == st.tensors[0].data,
          "ditc_st_parse references the buffer");
    ditc_st_close(&m);
    ditc_st_close(&st);
    check(st.n_tensors == 0 && st.tensors == NULL && st.label == NULL, "close zeroes the struct");
    ditc_st_close(&st); // twice is safe
}

// ---- conversions --------------------------------------------------------------------------------

static void test_conversions(void) {
    printf("# ditc_st_read_f32 conversions\n");
    static const uint16_t bf[6] = {0x3f80, 0xc000, 0x7f80, 0x0001, 0x8000, 0x7fc1};
    static const uint16_t hf[11] = {0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00,
                                    0x8000, 0x7e00, 0x3c00, 0xc000, 0x8001};
    static const double f64[2] = {1.5, -2.25};
    static const int64_t i64[2] = {-3, 1LL << 40};
    static const int32_t i32[2] = {-7, 123456};
    static const uint8_t u8[2] = {0, 255};
    ditc_st_writer *w = ditc_st_writer_new();
    int64_t s6 = 6, s11 = 11, s2 = 2;
    ditc_st_writer_add(w, "bf", DITC_BF16, 1, &s6, bf);
    ditc_st_writer_add(w, "hf", DITC_F16, 1, &s11, hf);
    ditc_st_writer_add(w, "f64", DITC_F64, 1, &s2, f64);
    ditc_st_writer_add(w, "i64", DITC_I64, 1, &s2, i64);
    ditc_st_writer_add(w, "i32", DITC_I32, 1, &s2, i32);
    ditc_st_writer_add(w, "u8", DITC_U8, 1, &s2, u8);
    char path[256];
    path_in(path, sizeof path, g_dir, "conv.safetensors");
    ditc_status s;
    check(ditc_st_writer_save(w, path, &s) == 0, "save conversion file");
    if (g_seed_dir) {
        char seed[512];
        path_in(seed, sizeof seed, g_seed_dir, "good_conversions.safetensors");
        ditc_st_writer_save(w, seed, &s);
    }
    ditc_st_writer_free(w);
    ditc_safetensors st;
    if (!check(ditc_st_open(&st, path, &s) == 0, "open conversion file")) return;

    float o[11];
    int ok = ditc_st_read_f32(&st, ditc_st_find(&st, "bf"), o, &s) == 0;
    for (int i = 0; i < 6; i++) ok &= f32_bits(o[i]) == (uint32_t)bf[i] << 16;
    check(ok, "BF16 -> F32 is bits << 16 (incl. inf, subnormal, -0, NaN payload)");

    ok = ditc_st_read_f32(&st, ditc_st_find(&st, "hf"), o, &s) == 0;
    check(ok && o[0] == ldexpf(1.0f, -24), "F16 0x0001 -> 2^-24 (smallest subnormal)");
    check(o[1] == ldexpf(1023.0f, -24), "F16 0x03ff -> 1023 * 2^-24 (largest subnormal)");
    check(o[2] == ldexpf(1.0f, -14), "F16 0x0400 -> 2^-14 (smallest normal)");
    check(o[3] == 65504.0f, "F16 0x7bff -> 65504");
    check(isinf(o[4]) && o[4] > 0 && isinf(o[5]) && o[5] < 0, "F16 0x7c00 / 0xfc00 -> +inf / -inf");
    check(o[6] == 0.0f && signbit(o[6]), "F16 0x8000 -> -0");
    check(isnan(o[7]), "F16 0x7e00 -> NaN");
    check(o[8] == 1.0f && o[9] == -2.0f && o[10] == -ldexpf(1.0f, -24), "F16 1, -2 and -2^-24");

    ok = ditc_st_read_f32(&st, ditc_st_find(&st, "f64"), o, &s) == 0;
    check(ok && o[0] == 1.5f && o[1] == -2.25f, "F64 -> F32");
    ok = ditc_st_read_f32(&st, ditc_st_find(&st, "i64"), o, &s) == 0;
    check(ok && o[0] == -3.0f && o[1] == ldexpf(1.0f, 40), "I64 -> F32");
    ok = ditc_st_read_f32(&st, ditc_st_find(&st, "i32"), o, &s) == 0;
    check(ok && o[0] == -7.0f && o[1] == 123456.0f, "I32 -> F32");
    ok = ditc_st_read_f32(&st, ditc_st_find(&st, "u8"), o, &s) == 0;
    check(ok && o[0] == 0.0f && o[1] == 255.0f, "U8 -> F32");

    ditc_st_tensor bogus = st.tensors[0];
    bogus.dtype = DITC_DTYPE_COUNT; // what a future unconvertible dtype would look like
    bogus.end = bogus.begin;        // keep the size check consistent (size 0 per element)
    int rc = ditc_st_read_f32(&st, &bogus, o, &s);
    check(rc != 0 && strstr(s.message, "conv.safetensors") && strstr(s.message, "\"bf\""),
          "unconvertible dtype is an error naming file and tensor: %s", s.message);
    ditc_st_close(&st);
}

// ---- writer: atomic save, validation ------------------------------------------------------------

static void save_small(const char *path, uint8_t v, ditc_status *s, int *rc) {
    ditc_st_writer *w = ditc_st_writer_new();
    int64_t n = 3;
    uint8_t d[3] = {v, v, v};
    ditc_st_writer_add(w, "x", DITC_U8, 1, &n, d);
    *rc = ditc_st_writer_save(w, path, s);
    ditc_st_writer_free(w);
}

static void test_atomic(void) {
    printf("# atomic save\n");
    char path[256], sub[256], bad[256];
    ditc_status s;
    int rc;
    path_in(path, sizeof path, g_dir, "atomic.safetensors");
    save_small(path, 1, &s, &rc);
    check(rc == 0, "first save");
    save_small(path, 2, &s, &rc);
    ditc_safetensors st;
    rc = rc || ditc_st_open(&st, path, &s);
    check(rc == 0 && st.tensors[0].data[0] == 2, "second save replaces the file");
    if (rc == 0) ditc_st_close(&st);
    size_t len0, len1;
    unsigned char *before = read_file(path, &len0);

    path_in(bad, sizeof bad, g_dir, "no/such/dir/x.safetensors");
    save_small(bad, 3, &s, &rc);
    check(rc != 0 && strstr(s.message, bad) != NULL, "save into a missing directory fails naming the path: %s",
          s.message);

    ditc_st_writer *w = ditc_st_writer_new();
    int64_t n = 1;
    uint8_t d = 9;
    ditc_st_writer_add(w, "dup", DITC_U8, 1, &n, &d);
    ditc_st_writer_add(w, "dup", DITC_U8, 1, &n, &d);
    rc = ditc_st_writer_save(w, path, &s);
    ditc_st_writer_free(w);
    check(rc != 0 && strstr(s.message, path) && strstr(s.message, "duplicate"), "duplicate names rejected: %s",
          s.message);
    unsigned char *after = read_file(path, &len1);
    check(before && after && len0 == len1 && memcmp(before, after, len0) == 0,
          "failed save leaves the old file intact");
    free(before);
    free(after);

    // Rename over a non-empty directory fails after the temp file was fully written.
    path_in(sub, sizeof sub, g_dir, "occupied");
    mkdir(sub, 0755);
    char inner[300];
    path_in(inner, sizeof inner, sub, "keep");
    write_file(inner, "k", 1);
    save_small(sub, 4, &s, &rc);
    struct stat sb;
    check(rc != 0 && strstr(s.message, "rename"), "rename failure reported: %s", s.message);
    check(stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode) && stat(inner, &sb) == 0, "target directory untouched");
    remove(inner);
    rmdir(sub);
    check(count_temp_files(g_dir) == 0, "no temporary file left after failed saves");

    w = ditc_st_writer_new();
    ditc_st_writer_add(w, "\xff\xfe", DITC_U8, 1, &n, &d);
    rc = ditc_st_writer_save(w, path, &s);
    ditc_st_writer_free(w);
    check(rc != 0 && strstr(s.message, "UTF-8"), "invalid UTF-8 name rejected by the writer: %s", s.message);
    w = ditc_st_writer_new();
    ditc_st_writer_add(w, "__metadata__", DITC_U8, 1, &n, &d);
    rc = ditc_st_writer_save(w, path, &s);
    ditc_st_writer_free(w);
    check(rc != 0, "tensor named __metadata__ rejected by the writer: %s", s.message);
    w = ditc_st_writer_new();
    ditc_st_writer_meta(w, "k", "1");
    ditc_st_writer_meta(w, "k", "2");
    rc = ditc_st_writer_save(w, path, &s);
    ditc_st_writer_free(w);
    check(rc != 0 && strstr(s.message, "duplicate metadata key"), "duplicate metadata key rejected: %s", s.message);

    w = ditc_st_writer_new();
    path_in(path, sizeof path, g_dir, "empty.safetensors");
    rc = ditc_st_writer_save(w, path, &s);
    ditc_st_writer_free(w);
    rc = rc || ditc_st_open(&st, path, &s);
    check(rc == 0 && st.n_tensors == 0 && st.size == 16, "file with no tensors: header \"{}\" padded to 8 bytes");
    if (rc == 0) ditc_st_close(&st);
}

// ---- JSON parser --------------------------------------------------------------------------------

static int json_skip_ok(const char *text, size_t len) {
    char *copy = malloc(len ? len : 1); // exact-size copy: an overread would be caught by ASan
    memcpy(copy, text, len);
    ditc_json j;
    ditc_json_init(&j, copy, len);
    int ok = ditc_json_skip(&j) == 0 && ditc_json_peek(&j) == DITC_JSON_END;
    free(copy);
    return ok;
}

static void test_json(void) {
    printf("# JSON parser\n");
    char deep[200];
    for (int d = 63; d <= 65; d++) {
        memset(deep, '[', (size_t)d);
        memset(deep + d, ']', (size_t)d);
        check(json_skip_ok(deep, 2 * (size_t)d) == (d <= DITC_JSON_MAX_DEPTH), "nesting depth %d %s", d,
              d <= DITC_JSON_MAX_DEPTH ? "accepted" : "rejected");
    }
    const char *good[] = {"{}",
                          " [ ] ",
                          "{\"a\":[1,-2.5e+3,0,true,false,null,\"x\"]}",
                          "\"\\ud83d\\ude00\"",
                          "0",
                          "-0.0E-0",
                          "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        check(json_skip_ok(good[i], strlen(good[i])), "valid JSON accepted: %s", good[i]);
    const char *bad[] = {"[1,]",
                         "{\"a\":1,}",
                         "[01]",
                         "[1.]",
                         "[.5]",
                         "[1e]",
                         "[+1]",
                         "[-]",
                         "[tru]",
                         "[nul]",
                         "{\"a\" 1}",
                         "{a:1}",
                         "[1 2]",
                         "\"\\ud800\"",
                         "\"\\udc00\"",
                         "\"\\ud800\\u0041\"",
                         "\"\\u00g0\"",
                         "\"\\x\"",
                         "\"\x01\"",
                         "\"\xc0\xaf\"",
                         "\"\xed\xa0\x80\"",
                         "\"\xf4\x90\x80\x80\"",
                         "\"abc",
                         "[1",
                         "{\"a\":",
                         "\"\\u12",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ditc_json j;
        ditc_json_init(&j, bad[i], strlen(bad[i]));
        int rc = ditc_json_skip(&j);
        check(rc < 0 && j.err[0], "invalid JSON #%zu rejected at byte %zu: %s", i, j.err_pos, j.err);
    }
    // Decoding and number kinds.
    const char txt[] = "[\"\\ud83d\\ude00\\u00e9\\u0041\", 18446744073709551615, 18446744073709551616, 1.0, -1]";
    ditc_json j;
    ditc_json_init(&j, txt, sizeof txt - 1);
    char *str = NULL;
    size_t sl = 0;
    ditc_json_num a, b, c, d;
    int ok = ditc_json_array_begin(&j) == 0 && ditc_json_array_next(&j) == 1 && ditc_json_string(&j, &str, &sl) == 0 &&
             ditc_json_array_next(&j) == 1 && ditc_json_number(&j, &a) == 0 && ditc_json_array_next(&j) == 1 &&
             ditc_json_number(&j, &b) == 0 && ditc_json_array_next(&j) == 1 && ditc_json_number(&j, &c) == 0 &&
             ditc_json_array_next(&j) == 1 && ditc_json_number(&j, &d) == 0 && ditc_json_array_next(&j) == 0;
    check(ok, "array walked element by element");
    check(str && sl == 7 &&
              memcmp(str,
                     "\xf0\x9f\x98\x80\xc3\xa9"
                     "A",
                     7) == 0,
          "surrogate pair and \\u escapes -> UTF-8");
    check(a.kind == DITC_JSON_NUM_UINT && a.u == UINT64_MAX, "UINT64_MAX parses as an unsigned integer");
    check(b.kind == DITC_JSON_NUM_OVERFLOW, "UINT64_MAX + 1 flagged as overflow");
    check(c.kind == DITC_JSON_NUM_OTHER && d.kind == DITC_JSON_NUM_OTHER, "1.0 and -1 are not unsigned integers");
    free(str);
    char *key = NULL;
    const char nul_key[] = "{\"a\\u0000b\":1}";
    ditc_json_init(&j, nul_key, sizeof nul_key - 1);
    size_t kl = 0;
    ok = ditc_json_object_begin(&j) == 0 && ditc_json_object_next(&j, &key, &kl, NULL) == 1;
    check(ok && kl == 3 && key[1] == '\0', "\\u0000 decodes to an embedded NUL (length 3)");
    free(key);
}

// ---- malformed corpus ---------------------------------------------------------------------------

typedef struct {
    const char *name;
    const char *expect; // substring the message must contain
    unsigned char *buf;
    size_t len;
} corpus_case;

static corpus_case g_cases[128];
static int g_ncases;

static void add_raw(const char *name, const char *expect, const void *buf, size_t len) {
    corpus_case *c = &g_cases[g_ncases++];
    c->name = name;
    c->expect = expect;
    c->buf = malloc(len ? len : 1);
    if (len) memcpy(c->buf, buf, len);
    c->len = len;
}

// [length field = nfield][json][data_len pattern bytes]
static void add_file(const char *name, const char *expect, uint64_t nfield, const char *json, size_t jl,
                     size_t data_len) {
    size_t len = 8 + jl + data_len;
    unsigned char *b = malloc(len);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(nfield >> (8 * i));
    memcpy(b + 8, json, jl);
    for (size_t i = 0; i < data_len; i++) b[8 + jl + i] = (unsigned char)(i * 7 + 1);
    add_raw(name, expect, b, len);
    free(b);
}

#define HDR(name, expect, json, data_len) add_file(name, expect, sizeof(json) - 1, json, sizeof(json) - 1, data_len)
#define T(name, dtype, shape, offs)                                                                                    \
    "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" offs "}"

static void build_corpus(void) {
    add_raw("empty-file", "too short", "", 0);
    add_raw("short-5-bytes", "too short", "\x02\0\0\0\0", 5);
    add_file("header-len-beyond-file", "exceeds the 2 bytes", 100, "{}", 2, 0);
    add_file("oversize-header", "exceeds the limit", 100000001, "{}", 2, 0);
    add_file("header-len-u64-max", "exceeds the limit", UINT64_MAX, "{}", 2, 0);
    add_file("header-len-zero", "does not start with '{'", 0, "{}", 2, 0);
    HDR("data-shorter-than-offsets", "truncated", "{" T("w", "F32", "[3,2]", "[0,24]") "}", 12);
    HDR("overlap", "overlap tensor \"a\"", "{" T("a", "F32", "[4]", "[0,16]") "," T("b", "F32", "[4]", "[8,24]") "}",
        24);
    HDR("gap", "gap of 4 bytes", "{" T("a", "F32", "[2]", "[0,8]") "," T("b", "F32", "[2]", "[12,20]") "}", 20);
    HDR("not-from-zero", "must start at offset 0", "{" T("a", "F32", "[2]", "[4,12]") "}", 12);
    HDR("trailing-data", "4 trailing bytes", "{" T("a", "F32", "[2]", "[0,8]") "}", 12);
    HDR("no-tensors-but-data", "trailing bytes", "{}", 4);
    HDR("zero-size-inside-other", "overlap", "{" T("a", "F32", "[4]", "[0,16]") "," T("z", "F32", "[0]", "[8,8]") "}",
        16);
    HDR("dtype-F8", "unsupported dtype \"F8_E4M3\"", "{" T("a", "F8_E4M3", "[4]", "[0,4]") "}", 4);
    HDR("dtype-BOOL", "unsupported dtype \"BOOL\"", "{" T("a", "BOOL", "[4]", "[0,4]") "}", 4);
    HDR("dtype-garbage", "unsupported dtype \"float32\"", "{" T("a", "float32", "[1]", "[0,4]") "}", 4);
    HDR("dtype-lowercase", "unsupported dtype \"f32\"", "{" T("a", "f32", "[1]", "[0,4]") "}", 4);
    HDR("dtype-number", "dtype must be a string, found number",
        "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    HDR("shape-size-mismatch", "span 12 bytes but shape [3, 2] of F32 needs 24",
        "{" T("blocks.0.attn.qkv.weight", "F32", "[3,2]", "[0,12]") "}", 12);
    HDR("shape-negative", "shape entry 0 is -1, not a non-negative integer", "{" T("a", "F32", "[-1,2]", "[0,4]") "}",
        4);
    HDR("shape-fraction", "is 1.5, not a non-negative integer", "{" T("a", "F32", "[1.5]", "[0,4]") "}", 4);
    HDR("shape-exponent", "is 1e0, not a non-negative integer", "{" T("a", "F32", "[1e0]", "[0,4]") "}", 4);
    HDR("shape-string", "must be a non-negative integer, found string", "{" T("a", "F32", "[\"1\"]", "[0,4]") "}", 4);
    HDR("shape-not-list", "shape must be a list", "{" T("a", "F32", "1", "[0,4]") "}", 4);
    HDR("shape-rank-9", "more than 8 dimensions", "{" T("a", "F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4);
    HDR("shape-leading-zero", "leading zeros", "{" T("a", "F32", "[01]", "[0,4]") "}", 4);
    HDR("shape-int64-overflow", "too large", "{" T("a", "U8", "[9223372036854775808]", "[0,4]") "}", 4);
    HDR("shape-u64-overflow", "too large", "{" T("a", "U8", "[18446744073709551616]", "[0,4]") "}", 4);
    HDR("numel-overflow", "overflows 64 bits", "{" T("a", "F32", "[4294967296,4294967296,16]", "[0,4]") "}", 4);
    HDR("bytes-overflow", "byte size that overflows", "{" T("a", "F64", "[2305843009213693952,2]", "[0,4]") "}", 4);
    HDR("non-json", "invalid header JSON", "{garbage}", 0);
    HDR("json-truncated", "unexpected end of input", "{\"a\":{\"dtype\":\"F32\"", 0);
    HDR("not-brace-array", "does not start with '{'", "[]", 0);
    HDR("not-brace-leading-space", "does not start with '{'", " {}", 0);
    HDR("junk-after-object", "after the JSON object", "{}x", 0);
    HDR("newline-after-object", "after the JSON object", "{}\n", 0);
    HDR("second-object", "after the JSON object", "{}{}", 0);
    HDR("nul-padding", "after the JSON object", "{}\0\0", 0);
    HDR("duplicate-tensor", "duplicate tensor name \"a\"",
        "{" T("a", "F32", "[1]", "[0,4]") "," T("a", "F32", "[1]", "[4,8]") "}", 8);
    HDR("duplicate-metadata-key", "duplicate __metadata__ key \"k\"", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}",
        0);
    HDR("duplicate-metadata-object", "duplicate key \"__metadata__\"", "{\"__metadata__\":{},\"__metadata__\":{}}", 0);
    HDR("missing-data_offsets", "missing \"data_offsets\"", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4);
    HDR("missing-dtype", "missing \"dtype\"", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    HDR("missing-shape", "missing \"shape\"", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4);
    HDR("unknown-key", "unknown key \"foo\"",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"foo\":1}}", 4);
    HDR("duplicate-key-in-entry", "duplicate key \"dtype\"",
        "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    HDR("entry-not-object", "entry must be an object", "{\"a\":5}", 0);
    HDR("metadata-value-number", "value must be a string, found number", "{\"__metadata__\":{\"k\":1}}", 0);
    HDR("metadata-value-null", "value must be a string, found null", "{\"__metadata__\":{\"k\":null}}", 0);
    HDR("metadata-value-object", "value must be a string, found object", "{\"__metadata__\":{\"k\":{}}}", 0);
    HDR("metadata-not-object", "__metadata__ must be an object", "{\"__metadata__\":[]}", 0);
    HDR("begin-gt-end", "begin > end", "{" T("a", "F32", "[1]", "[8,4]") "}", 8);
    HDR("offsets-3-entries", "exactly 2 entries", "{" T("a", "F32", "[1]", "[0,4,8]") "}", 4);
    HDR("offsets-1-entry", "exactly 2 entries", "{" T("a", "F32", "[1]", "[0]") "}", 4);
    HDR("offsets-negative", "not a non-negative integer", "{" T("a", "F32", "[1]", "[-4,0]") "}", 4);
    HDR("offsets-u64-overflow", "too large", "{" T("a", "F32", "[1]", "[0,18446744073709551616]") "}", 4);
    HDR("offsets-u64-max", "span", "{" T("a", "F32", "[1]", "[0,18446744073709551615]") "}", 4);
    HDR("deep-nesting-entry", "entry must be an object",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        0);
    HDR("deep-nesting-metadata", "value must be a string",
        "{\"__metadata__\":{\"k\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        "[]}",
        0);
    HDR("invalid-utf8", "invalid UTF-8", "{\"a\xc3(\":{}}", 0);
    HDR("overlong-utf8", "invalid UTF-8", "{\"a\xc0\xaf\":{}}", 0);
    HDR("utf8-surrogate", "invalid UTF-8", "{\"a\xed\xa0\x80\":{}}", 0);
    HDR("utf8-above-max", "invalid UTF-8", "{\"a\xf4\x90\x80\x80\":{}}", 0);
    HDR("utf8-truncated", "invalid UTF-8", "{\"a\xe2\x82\":{}}", 0);
    HDR("utf8-outside-string", "unexpected byte 0xc3", "{\xc3\xa9}", 0);
    HDR("invalid-escape", "invalid escape '\\x'", "{\"a\\x41\":{}}", 0);
    HDR("bad-unicode-escape", "invalid \\u escape", "{\"a\\u12G4\":{}}", 0);
    HDR("lone-high-surrogate", "unpaired high surrogate", "{\"a\\ud800x\":{}}", 0);
    HDR("lone-low-surrogate", "unpaired low surrogate", "{\"a\\udc00\":{}}", 0);
    HDR("escape-at-end", "invalid \\u escape", "{\"a\\u12", 0);
    HDR("raw-control-char", "raw control character 0x09", "{\"a\tb\":{}}", 0);
    HDR("raw-nul-in-name", "raw control character 0x00", "{\"a\0b\":{}}", 0);
    HDR("escaped-nul-in-name", "contains a NUL character", "{\"a\\u0000b\":{}}", 0);
    HDR("escaped-nul-in-meta-value", "contains a NUL character", "{\"__metadata__\":{\"k\":\"v\\u0000\"}}", 0);
    HDR("escaped-nul-in-meta-key", "contains a NUL character", "{\"__metadata__\":{\"k\\u0000\":\"v\"}}", 0);
    HDR("trailing-comma-object", "trailing comma", "{" T("a", "F32", "[1]", "[0,4]") ",}", 4);
    HDR("trailing-comma-array", "trailing comma", "{" T("a", "F32", "[1,]", "[0,4]") "}", 4);
    HDR("unterminated-string", "unterminated string", "{\"abc", 0);
    HDR("bad-literal", "value must be a string, found boolean", "{\"__metadata__\":{\"k\":tru}}", 0);
    HDR("missing-colon", "expected ':'", "{\"a\" {}}", 0);
}

// Files that must be accepted (with checks on what was read).
static void test_valid_headers(void) {
    printf("# valid headers\n");
    const char ws[] = "{ \"b\" : {\"dtype\":\"F32\",\n\t\"shape\" : [ 1 ] , \"data_offsets\":[4,8]},\r\n"
                      " \"a\":{\"data_offsets\":[0,4],\"shape\":[4],\"dtype\":\"U8\"},"
                      " \"z\":{\"dtype\":\"BF16\",\"shape\":[0,3],\"data_offsets\":[8,8]}}      ";
    const char uni[] = "{\"\\ud83d\\ude00 x\\u00e9\\n\\\"\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]},"
                       "\"__metadata__\":{\"\\u00e9\":\"\\t\"}}";
    g_ncases = 0;
    HDR("good-whitespace-unordered", "", ws, 8);
    HDR("good-unicode", "", uni, 1);
    HDR("good-empty", "", "{}", 0);
    HDR("good-empty-padded", "", "{}      ", 0);
    HDR("good-zero-size-only", "", "{" T("e", "I64", "[0]", "[0,0]") "," T("f", "F16", "[2,0]", "[0,0]") "}", 0);
    ditc_safetensors st;
    ditc_status s;
    for (int i = 0; i < g_ncases; i++) {
        corpus_case *c = &g_cases[i];
        int rc = ditc_st_parse(&st, c->buf, c->len, c->name, &s);
        check(rc == 0, "%s accepted%s%s", c->name, rc ? ": " : "", rc ? s.message : "");
        if (rc == 0 && i == 0)
            check(st.n_tensors == 3 && strcmp(st.tensors[0].name, "b") == 0 &&
                      st.tensors[1].data == c->buf + 8 + sizeof ws - 1,
                  "header order kept, data pointers follow offsets");
        if (rc == 0 && i == 1)
            check(st.n_tensors == 1 && strcmp(st.tensors[0].name, "\xf0\x9f\x98\x80 x\xc3\xa9\n\"") == 0 &&
                      st.tensors[0].ndim == 0 && ditc_st_meta(&st, "\xc3\xa9") &&
                      strcmp(ditc_st_meta(&st, "\xc3\xa9"), "\t") == 0,
                  "escaped names and metadata decoded");
        ditc_st_close(&st);
    }
    if (g_seed_dir)
        for (int i = 0; i < g_ncases; i++) {
            char p[512];
            snprintf(p, sizeof p, "%s/%s.safetensors", g_seed_dir, g_cases[i].name);
            write_file(p, g_cases[i].buf, g_cases[i].len);
        }
    for (int i = 0; i < g_ncases; i++) free(g_cases[i].buf);
    g_ncases = 0;
}

static void test_corpus(void) {
    printf("# malformed corpus\n");
    build_corpus();
    ditc_safetensors st;
    ditc_status s;
    for (int i = 0; i < g_ncases; i++) {
        corpus_case *c = &g_cases[i];
        const char *label = strcmp(c->name, "shape-size-mismatch") == 0 ? "model.safetensors" : c->name;
        memset(&s, 0, sizeof s);
        int rc = ditc_st_parse(&st, c->buf, c->len, label, &s);
        size_t ll = strlen(label);
        int named = strncmp(s.message, label, ll) == 0 && s.message[ll] == ':';
        check(rc != 0 && s.code == rc && named && strstr(s.message, c->expect) && st.n_tensors == 0 && !st.tensors,
              "%-28s rejected: %s", c->name, s.message);
        ditc_st_close(&st);
        if (g_seed_dir) {
            char p[512];
            snprintf(p, sizeof p, "%s/bad_%02d_%s.safetensors", g_seed_dir, i, c->name);
            write_file(p, c->buf, c->len);
        }
    }
    check(strcmp(s.message, "") != 0, "messages are non-empty");
    // The example message of the spec, verbatim.
    for (int i = 0; i < g_ncases; i++)
        if (strcmp(g_cases[i].name, "shape-size-mismatch") == 0) {
            ditc_st_parse(&st, g_cases[i].buf, g_cases[i].len, "model.safetensors", &s);
            check(strcmp(s.message, "model.safetensors: tensor \"blocks.0.attn.qkv.weight\": data_offsets [0, 12] span "
                                    "12 bytes but shape [3, 2] of F32 needs 24") == 0,
                  "message format as in the spec");
        }
    // Every strict prefix of a valid file is rejected (truncation anywhere).
    char path[256];
    path_in(path, sizeof path, g_dir, "rt.safetensors");
    size_t len;
    unsigned char *full = read_file(path, &len);
    int all = full != NULL;
    for (size_t n = 0; full && n < len; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, full, n);
        if (ditc_st_parse(&st, cut, n, "cut", &s) == 0) all = 0;
        ditc_st_close(&st);
        free(cut);
    }
    check(all, "all %zu truncations of a valid file rejected", len);
    free(full);
    ditc_status_ok(&s);
    check(ditc_st_open(&st, "/nonexistent/x.safetensors", &s) != 0 && strstr(s.message, "/nonexistent/x.safetensors"),
          "missing file: %s", s.message);
    check(ditc_st_open(&st, g_dir, &s) != 0 && strstr(s.message, "regular file"), "directory: %s", s.message);
    for (int i = 0; i < g_ncases; i++) free(g_cases[i].buf);
}

static void cleanup_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[512];
        path_in(p, sizeof p, dir, e->d_name);
        remove(p);
    }
    closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv) {
    snprintf(g_dir, sizeof g_dir, "/tmp/ditc_st_test.XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (argc > 1) {
        g_seed_dir = argv[1];
        mkdir(g_seed_dir, 0755);
    }
    test_round_trip();
    test_conversions();
    test_atomic();
    test_json();
    test_valid_headers();
    test_corpus();
    cleanup_dir(g_dir);
    return check_summary("test_safetensors");
}

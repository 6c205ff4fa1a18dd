// test_tfevents.c — the TensorBoard event-file writer (core/util/tfevents.c): CRC32C check values, a file of
// known scalars re-parsed by an independent TFRecord + protobuf parser (framing, both CRCs, every field
// bit-exact), every corrupted byte and every truncation detected, file naming, and errors as return codes
// (missing directory, /dev/full, a file size limit mid-file: the file is cut back to its complete records).
//
//   test_tfevents             the unit tests (exit 0 pass, 1 fail)
//   test_tfevents write PATH  writes the known scalars to the file PATH (or a new events.out.tfevents.* in the
//                             directory PATH) and prints "tag,step,value,wall_time" per scalar (%.17g) in write
//                             order, for tests/test_tfevents.sh (TensorBoard's own reader)
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "tfevents.h"

#include "test_check.h"
#include "test_fs.h"

// ---- the known scalars -------------------------------------------------------------------------------------

#define MAX_VALUES 8
typedef struct {
    int64_t step;
    double wall_time;
    int n;
    ditc_tfevents_scalar_value v[MAX_VALUES];
} known_event;

static char long_tag[201]; // a 200-byte tag: two-byte varint lengths

static int known_events(known_event *e) {
    memset(long_tag, 'x', 200);
    memcpy(long_tag, "long/", 5);
    long_tag[200] = '\0';
    int n = 0;
    e[n++] = (known_event){0, 1700000000.125, 1, {{"train/loss", 0.1f}}};
    e[n++] = (known_event){1,
                           1700000001.5,
                           6,
                           {{"train/loss", 0.0999f},
                            {"train/lr", 1e-4f},
                            {"train/grad_norm", 3.4028235e38f},
                            {"perf/images_per_s", 12345.678f},
                            {"perf/data_wait_s", 1e-45f},
                            {"train/skipped_updates", 0.0f}}};
    e[n++] = (known_event){
        100, 1700000123.0625, 3, {{"train/loss", NAN}, {"train/grad_norm", INFINITY}, {"train/skipped_updates", 1.0f}}};
    e[n++] = (known_event){INT64_C(1) << 40, 1.7e9 + 1.0 / 3, 2, {{"eval/fid", 2.5f}, {"train/loss", -0.0f}}};
    e[n++] = (known_event){(INT64_C(1) << 40) + 1, 1800000000.0, 2, {{"损失/ünïcode", -7.25f}, {long_tag, 42.0f}}};
    return n;
}

static int write_known(ditc_tfevents *w, const known_event *e, int n, ditc_status *st) {
    for (int i = 0; i < n; i++) {
        int rc = e[i].n == 1 ? ditc_tfevents_scalar(w, e[i].v[0].tag, e[i].step, e[i].wall_time, e[i].v[0].value, st)
                             : ditc_tfevents_scalars(w, e[i].step, e[i].wall_time, e[i].v, e[i].n, st);
        if (rc) return rc;
    }
    return 0;
}

// ---- an independent reader: TFRecord framing + the Event fields we write ------------------------------------

typedef struct {
    int has_wall_time, has_step, nval;
    double wall_time;
    int64_t step;
    char version[32];
    char tag[MAX_VALUES][256];
    float val[MAX_VALUES];
} parsed_event;

static uint64_t get_le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

// Varint at *p (< end); 0 on success.
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

// One field: its number and wire type, with a pointer to the payload (LEN: *len bytes; I64/I32: 8/4 bytes).
static int get_field(const uint8_t **p, const uint8_t *end, unsigned *field, unsigned *wire, const uint8_t **payload,
                     uint64_t *len, uint64_t *varint) {
    uint64_t key;
    if (get_varint(p, end, &key)) return -1;
    *field = (unsigned)(key >> 3);
    *wire = (unsigned)(key & 7);
    switch (*wire) {
    case 0: return get_varint(p, end, varint);
    case 1: *len = 8; break;
    case 5: *len = 4; break;
    case 2:
        if (get_varint(p, end, len)) return -1;
        break;
    default: return -1;
    }
    if (*len > (uint64_t)(end - *p)) return -1;
    *payload = *p;
    *p += *len;
    return 0;
}

static int parse_value(const uint8_t *p, const uint8_t *end, parsed_event *e) {
    if (e->nval == MAX_VALUES) return -1;
    int have_tag = 0, have_val = 0;
    while (p < end) {
        unsigned f, wt;
        const uint8_t *q = NULL;
        uint64_t len = 0, x = 0;
        if (get_field(&p, end, &f, &wt, &q, &len, &x)) return -1;
        if (f == 1 && wt == 2 && len < sizeof e->tag[0]) {
            memcpy(e->tag[e->nval], q, len);
            e->tag[e->nval][len] = '\0';
            have_tag = 1;
        } else if (f == 2 && wt == 5) {
            uint32_t u = (uint32_t)get_le(q, 4);
            memcpy(&e->val[e->nval], &u, 4);
            have_val = 1;
        } else return -1; // we write nothing else
    }
    if (!have_tag || !have_val) return -1;
    e->nval++;
    return 0;
}

static int parse_event(const uint8_t *p, const uint8_t *end, parsed_event *e) {
    memset(e, 0, sizeof *e);
    while (p < end) {
        unsigned f, wt;
        const uint8_t *q = NULL;
        uint64_t len = 0, x = 0;
        if (get_field(&p, end, &f, &wt, &q, &len, &x)) return -1;
        if (f == 1 && wt == 1) {
            uint64_t u = get_le(q, 8);
            memcpy(&e->wall_time, &u, 8);
            e->has_wall_time = 1;
        } else if (f == 2 && wt == 0) {
            e->step = (int64_t)x;
            e->has_step = 1;
        } else if (f == 3 && wt == 2 && len < sizeof e->version) {
            memcpy(e->version, q, len);
            e->version[len] = '\0';
        } else if (f == 5 && wt == 2) {
            const uint8_t *s = q, *send = q + len;
            while (s < send) {
                const uint8_t *v = NULL;
                if (get_field(&s, send, &f, &wt, &v, &len, &x) || f != 1 || wt != 2) return -1;
                if (parse_value(v, v + len, e)) return -1;
            }
        } else return -1;
    }
    return 0;
}

// Parses the records of buf[0..n): 0 if all are complete and valid, else -1 with why (what and where);
// *count = the records read before the first bad or incomplete one.
static int parse_file(const uint8_t *buf, size_t n, parsed_event *ev, int max, int *count, char *why, size_t why_n) {
    size_t off = 0;
    *count = 0;
    while (off < n) {
        if (n - off < 12) return snprintf(why, why_n, "truncated header at %zu", off), -1;
        uint64_t len = get_le(buf + off, 8);
        if ((uint32_t)get_le(buf + off + 8, 4) != ditc_crc32c_masked(buf + off, 8))
            return snprintf(why, why_n, "header crc mismatch at %zu", off), -1;
        if (len > n - off - 12 || n - off - 12 - len < 4) return snprintf(why, why_n, "truncated data at %zu", off), -1;
        const uint8_t *data = buf + off + 12;
        if ((uint32_t)get_le(data + len, 4) != ditc_crc32c_masked(data, len))
            return snprintf(why, why_n, "data crc mismatch at %zu", off), -1;
        if (*count == max) return snprintf(why, why_n, "more than %d records", max), -1;
        if (parse_event(data, data + len, &ev[*count])) return snprintf(why, why_n, "bad Event at %zu", off), -1;
        ++*count;
        off += 12 + len + 4;
    }
    return 0;
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(sz > 0 ? (size_t)sz : 1);
    *n = sz > 0 ? fread(b, 1, (size_t)sz, f) : 0;
    fclose(f);
    return b;
}

static int same_bits(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

// The events of the file (after the file_version record) are exactly e[0..n).
static int matches_known(const parsed_event *got, int ngot, const known_event *e, int n) {
    if (ngot != n + 1) return 0;
    if (strcmp(got[0].version, "brain.Event:2") || !got[0].has_wall_time || got[0].nval) return 0;
    for (int i = 0; i < n; i++) {
        const parsed_event *g = &got[i + 1];
        if (!g->has_wall_time || !same_bits(&g->wall_time, &e[i].wall_time, 8)) return 0;
        if (!g->has_step || g->step != e[i].step || g->nval != e[i].n || g->version[0]) return 0;
        for (int k = 0; k < g->nval; k++)
            if (strcmp(g->tag[k], e[i].v[k].tag) || !same_bits(&g->val[k], &e[i].v[k].value, 4)) return 0;
    }
    return 1;
}

// ---- tests -----------------------------------------------------------------------------------------------

static void test_crc(void) {
    // RFC 3720 (iSCSI) appendix B.4 and the usual check value
    uint8_t zeros[32] = {0}, ones[32], inc[32];
    for (int i = 0; i < 32; i++) ones[i] = 0xff, inc[i] = (uint8_t)i;
    check(ditc_crc32c("123456789", 9) == 0xE3069283u, "crc32c(\"123456789\") = %08x (want e3069283)",
          ditc_crc32c("123456789", 9));
    check(ditc_crc32c("", 0) == 0, "crc32c of nothing = 0");
    check(ditc_crc32c(zeros, 32) == 0x8A9136AAu && ditc_crc32c(ones, 32) == 0x62A8AB43u &&
              ditc_crc32c(inc, 32) == 0x46DD794Eu,
          "crc32c RFC 3720 B.4: 32 zeros %08x, 32 x 0xff %08x, 0..31 %08x", ditc_crc32c(zeros, 32),
          ditc_crc32c(ones, 32), ditc_crc32c(inc, 32));
    uint32_t c = ditc_crc32c("123456789", 9);
    check(ditc_crc32c_masked("123456789", 9) == ((c >> 15) | (c << 17)) + 0xa282ead8u,
          "masked crc = rotr15 + 0xa282ead8");
}

static void test_roundtrip(const char *dir) {
    known_event e[8];
    int n = known_events(e);
    ditc_status st;
    ditc_tfevents *w = ditc_tfevents_open(dir, &st);
    if (!check(w != NULL, "open %s: %s", dir, w ? "ok" : st.message)) return;
    const char *path = ditc_tfevents_path(w);
    char host[256] = "", want[600];
    gethostname(host, sizeof host - 1);
    snprintf(want, sizeof want, "%s/events.out.tfevents.", dir);
    const char *rest = path + strlen(want);
    char tail[300];
    snprintf(tail, sizeof tail, ".%s.%ld.0", host[0] ? host : "localhost", (long)getpid());
    check(!strncmp(path, want, strlen(want)) && strtoll(rest, NULL, 10) > 1600000000 && strlen(rest) > strlen(tail) &&
              !strcmp(rest + strlen(rest) - strlen(tail), tail),
          "file name %s is <dir>/events.out.tfevents.<unix seconds>.<host>.<pid>.0", path);
    ditc_tfevents *w2 = ditc_tfevents_open(dir, &st);
    check(w2 && strcmp(ditc_tfevents_path(w2), path), "a second writer in the same directory gets another file (%s)",
          w2 ? ditc_tfevents_path(w2) : st.message);
    ditc_tfevents_close(w2, NULL);

    check(write_known(w, e, n, &st) == 0, "write %d events", n);
    check(ditc_tfevents_flush(w, &st) == 0, "flush");
    char *keep = ditc_xstrdup(path);
    check(ditc_tfevents_close(w, &st) == 0, "close");

    size_t len;
    uint8_t *buf = slurp(keep, &len);
    parsed_event got[16];
    int count;
    char why[128] = "";
    int rc = parse_file(buf, len, got, 16, &count, why, sizeof why);
    check(rc == 0, "%zu bytes parse as %d records (framing, both CRCs)%s%s", len, count, rc ? ": " : "", why);
    check(matches_known(got, count, e, n),
          "file_version \"brain.Event:2\" first, then every wall_time, step, tag and value bit-exact");

    // Every single corrupted byte is detected (CRC32C catches every burst of up to 32 bits).
    int undetected = 0;
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0xff;
        if (parse_file(buf, len, got, 16, &count, why, sizeof why) == 0) undetected++;
        buf[i] ^= 0xff;
    }
    check(undetected == 0, "each of the %zu bytes corrupted (xor 0xff): %d undetected", len, undetected);
    buf[len - 1] ^= 1;
    parse_file(buf, len, got, 16, &count, why, sizeof why);
    check(strstr(why, "data crc mismatch") && count == n, "a flipped bit of the last data crc: \"%s\" after %d records",
          why, count);
    buf[len - 1] ^= 1;
    buf[12 + 3] ^= 0x10;
    parse_file(buf, len, got, 16, &count, why, sizeof why);
    check(strstr(why, "data crc mismatch at 0") && count == 0, "a flipped bit in the first record's data: \"%s\"", why);
    buf[12 + 3] ^= 0x10;
    buf[2] ^= 1;
    parse_file(buf, len, got, 16, &count, why, sizeof why);
    check(strstr(why, "header crc mismatch at 0") != NULL, "a flipped bit in the first length: \"%s\"", why);
    buf[2] ^= 1;

    // Every truncation: the complete records before the cut parse, a partial one is reported.
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        size_t ends = 0, off = 0; // records that end at or before cut
        while (off < len) {
            off += 16 + get_le(buf + off, 8);
            if (off <= cut) ends++;
        }
        int r = parse_file(buf, cut, got, 16, &count, why, sizeof why);
        int boundary = 0;
        for (size_t o = 0; o <= cut; o += 16 + get_le(buf + o, 8))
            if (o == cut) boundary = 1;
        if ((size_t)count != ends || (r == 0) != boundary || (r && !strstr(why, "truncated"))) bad++;
    }
    check(bad == 0, "each of the %zu truncations: the complete records read, a partial one reported (%d wrong)", len,
          bad);
    free(buf);
    free(keep);
}

static void test_errors(const char *dir) {
    ditc_status st;
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such/dir", dir);
    ditc_tfevents *w = ditc_tfevents_open(missing, &st);
    check(!w && st.code == DITC_ERR_IO && strstr(st.message, missing) && strstr(st.message, strerror(ENOENT)),
          "open in a missing directory: NULL, \"%s\"", w ? "(opened)" : st.message);
    ditc_tfevents_close(w, NULL);

    struct stat sb;
    if (stat("/dev/full", &sb) == 0 && S_ISCHR(sb.st_mode)) {
        w = ditc_tfevents_open_file("/dev/full", &st);
        check(!w && st.code == DITC_ERR_IO && strstr(st.message, "/dev/full") && strstr(st.message, strerror(ENOSPC)),
              "open_file /dev/full: NULL, \"%s\"", w ? "(opened)" : st.message);
        ditc_tfevents_close(w, NULL);
    } else printf("[NOTE] no /dev/full here: its check is left out\n");

    // A file size limit reached mid-file: an error, the file cut back to its complete records, and the
    // writer keeps working once there is room again.
    char path[600];
    snprintf(path, sizeof path, "%s/limited.tfevents", dir);
    w = ditc_tfevents_open_file(path, &st);
    if (!check(w != NULL, "open_file %s", path)) return;
    check(ditc_tfevents_scalar(w, "a", 1, 1.0, 1.0f, &st) == 0, "a first scalar");
    struct stat before;
    stat(path, &before);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)before.st_size + 10; // the next record (~30 bytes) is cut at 10 bytes
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    int rc = setrlimit(RLIMIT_FSIZE, &lim);
    int wrc = rc ? -1 : ditc_tfevents_scalar(w, "b", 2, 2.0, 2.0f, &st);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    struct stat after;
    stat(path, &after);
    check(rc == 0 && wrc == DITC_ERR_IO && strstr(st.message, path) && strstr(st.message, strerror(EFBIG)),
          "a write past RLIMIT_FSIZE returns DITC_ERR_IO: \"%s\"", st.message);
    check(after.st_size == before.st_size, "the partial record is cut off (%lld bytes, %lld before)",
          (long long)after.st_size, (long long)before.st_size);
    check(ditc_tfevents_scalar(w, "c", 3, 3.0, 3.0f, &st) == 0, "the next write succeeds");

    // Bad arguments: errors, nothing written.
    ditc_tfevents_scalar_value none[1] = {{"", 1.0f}};
    check(ditc_tfevents_scalars(w, 4, 4.0, none, 1, &st) == DITC_ERR_ARG && strstr(st.message, "no tag"),
          "an empty tag: DITC_ERR_ARG \"%s\"", st.message);
    check(ditc_tfevents_scalar(w, NULL, 4, 4.0, 1.0f, &st) == DITC_ERR_ARG, "a NULL tag: DITC_ERR_ARG");
    check(ditc_tfevents_scalars(w, 4, 4.0, none, 0, &st) == DITC_ERR_ARG, "no scalars: DITC_ERR_ARG");
    check(ditc_tfevents_scalar(w, "d", -5, 5.0, 5.0f, NULL) == 0, "a negative step (10-byte varint), st NULL");
    ditc_tfevents_close(w, NULL);

    size_t len;
    uint8_t *buf = slurp(path, &len);
    parsed_event got[8];
    int count;
    char why[128] = "";
    rc = parse_file(buf, len, got, 8, &count, why, sizeof why);
    check(rc == 0 && count == 4 && !strcmp(got[1].tag[0], "a") && !strcmp(got[2].tag[0], "c") && got[2].step == 3 &&
              got[3].step == -5 && got[3].val[0] == 5.0f,
          "the file holds file_version, a, c, d (%d records)%s%s", count, rc ? ": " : "", why);
    free(buf);
    check(ditc_tfevents_close(NULL, NULL) == 0 && ditc_tfevents_path(NULL) == NULL, "close(NULL), path(NULL)");
}

static int write_mode(const char *path) {
    known_event e[8];
    int n = known_events(e);
    ditc_status st;
    struct stat sb;
    int is_dir = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    ditc_tfevents *w = is_dir ? ditc_tfevents_open(path, &st) : ditc_tfevents_open_file(path, &st);
    if (!w || write_known(w, e, n, &st) || ditc_tfevents_close(w, &st)) {
        fprintf(stderr, "test_tfevents write: %s\n", st.message);
        return 1;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < e[i].n; k++)
            printf("%s,%" PRId64 ",%.17g,%.17g\n", e[i].v[k].tag, e[i].step, (double)e[i].v[k].value, e[i].wall_time);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "write")) return write_mode(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: test_tfevents [write FILE|DIR]\n");
        return 2;
    }
    char dir[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ditc-tfevents.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    test_crc();
    test_roundtrip(dir);
    test_errors(dir);
    rm_tree(dir);
    return check_summary("test_tfevents");
}

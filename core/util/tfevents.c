// tfevents.c — TensorBoard event-file writer (tfevents.h): TFRecord framing with masked CRC32C around
// hand-encoded Event protobufs.
#include "tfevents.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

struct ditc_tfevents {
    int fd;
    int64_t size; // bytes of complete records: the next record starts here
    char *path;
};

// ---- CRC32C ----------------------------------------------------------------------------------------------

uint32_t ditc_crc32c(const void *data, size_t n) {
    const uint8_t *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

uint32_t ditc_crc32c_masked(const void *data, size_t n) {
    uint32_t c = ditc_crc32c(data, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

// ---- protobuf encoding into a growing buffer -------------------------------------------------------------

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = b->n + n > 2 * b->cap ? b->n + n : 2 * b->cap;
        b->p = ditc_xrealloc(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_le(buf *b, uint64_t v, int bytes) {
    uint8_t t[8];
    for (int i = 0; i < bytes; i++) t[i] = (uint8_t)(v >> (8 * i));
    put(b, t, (size_t)bytes);
}

static void put_varint(buf *b, uint64_t v) {
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) t[n] |= 0x80;
        n++;
    } while (v);
    put(b, t, n);
}

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

static void put_key(buf *b, unsigned field, unsigned wire) { put_varint(b, field << 3 | wire); }

static void put_len_field(buf *b, unsigned field, const void *p, size_t n) {
    put_key(b, field, WIRE_LEN);
    put_varint(b, n);
    put(b, p, n);
}

static void put_double_field(buf *b, unsigned field, double x) {
    uint64_t u;
    memcpy(&u, &x, 8);
    put_key(b, field, WIRE_I64);
    put_le(b, u, 8);
}

static void put_float_field(buf *b, unsigned field, float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    put_key(b, field, WIRE_I32);
    put_le(b, u, 4);
}

// ---- records ---------------------------------------------------------------------------------------------

// Frames data as one TFRecord and writes it after the complete records; on failure the file is cut back.
static int write_record(ditc_tfevents *w, const buf *data, ditc_status *st) {
    buf r = {0};
    put_le(&r, data->n, 8);
    put_le(&r, ditc_crc32c_masked(r.p, 8), 4);
    put(&r, data->p, data->n);
    put_le(&r, ditc_crc32c_masked(data->p, data->n), 4);
    size_t done = 0;
    int err = 0;
    while (done < r.n) {
        ssize_t k = pwrite(w->fd, r.p + done, r.n - done, (off_t)(w->size + (int64_t)done));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            err = k < 0 ? errno : EIO;
            break;
        }
        done += (size_t)k;
    }
    free(r.p);
    if (err) {
        // cut the partial record off (fails harmlessly on a special file such as /dev/full)
        int cut = done ? ftruncate(w->fd, (off_t)w->size) : 0;
        (void)cut;
        return ditc_fail(st, DITC_ERR_IO, "%s: cannot write an event record: %s", w->path, strerror(err));
    }
    w->size += (int64_t)r.n;
    return 0;
}

int ditc_tfevents_scalars(ditc_tfevents *w, int64_t step, double wall_time, const ditc_tfevents_scalar_value *v, int n,
                          ditc_status *st) {
    DITC_CHECK(w && (v || n == 0), "tfevents: no writer or no values");
    if (n < 1) return ditc_fail(st, DITC_ERR_ARG, "%s: an event needs at least one scalar", w->path);
    buf summary = {0}, value = {0}, event = {0};
    for (int i = 0; i < n; i++) {
        if (!v[i].tag || !v[i].tag[0]) {
            free(summary.p);
            free(value.p);
            return ditc_fail(st, DITC_ERR_ARG, "%s: scalar %d of step %" PRId64 " has no tag", w->path, i, step);
        }
        value.n = 0;
        put_len_field(&value, 1, v[i].tag, strlen(v[i].tag)); // Summary.Value.tag
        put_float_field(&value, 2, v[i].value);               // Summary.Value.simple_value
        put_len_field(&summary, 1, value.p, value.n);         // Summary.value
    }
    put_double_field(&event, 1, wall_time); // Event.wall_time
    put_key(&event, 2, WIRE_VARINT);        // Event.step
    put_varint(&event, (uint64_t)step);
    put_len_field(&event, 5, summary.p, summary.n); // Event.summary
    int rc = write_record(w, &event, st);
    free(summary.p);
    free(value.p);
    free(event.p);
    return rc;
}

int ditc_tfevents_scalar(ditc_tfevents *w, const char *tag, int64_t step, double wall_time, float value,
                         ditc_status *st) {
    ditc_tfevents_scalar_value v = {tag, value};
    return ditc_tfevents_scalars(w, step, wall_time, &v, 1, st);
}

// ---- files -----------------------------------------------------------------------------------------------

// Takes fd; writes the file_version record. On failure closes fd and, if unlink_on_error, removes the file.
static ditc_tfevents *start(int fd, const char *path, int unlink_on_error, ditc_status *st) {
    ditc_tfevents *w = ditc_xcalloc(1, sizeof *w);
    w->fd = fd;
    w->path = ditc_xstrdup(path);
    buf event = {0};
    static const char version[] = "brain.Event:2";
    put_double_field(&event, 1, ditc_tfevents_wall_time()); // Event.wall_time
    put_len_field(&event, 3, version, sizeof version - 1);  // Event.file_version
    int rc = write_record(w, &event, st);
    free(event.p);
    if (rc) {
        if (unlink_on_error) unlink(path);
        ditc_tfevents_close(w, NULL);
        return NULL;
    }
    return w;
}

ditc_tfevents *ditc_tfevents_open_file(const char *path, ditc_status *st) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ditc_fail(st, DITC_ERR_IO, "%s: cannot create the event file: %s", path, strerror(errno));
        return NULL;
    }
    return start(fd, path, 0, st);
}

ditc_tfevents *ditc_tfevents_open(const char *dir, ditc_status *st) {
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0]) snprintf(host, sizeof host, "localhost");
    long long now = (long long)time(NULL);
    for (int n = 0; n < 1000; n++) {
        char name[400];
        snprintf(name, sizeof name, "events.out.tfevents.%lld.%s.%ld.%d", now, host, (long)getpid(), n);
        char *path = ditc_path_join(dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno == EEXIST) {
            free(path);
            continue;
        }
        ditc_tfevents *w = NULL;
        if (fd < 0) ditc_fail(st, DITC_ERR_IO, "%s: cannot create the event file: %s", path, strerror(errno));
        else w = start(fd, path, 1, st);
        free(path);
        return w;
    }
    ditc_fail(st, DITC_ERR_IO, "%s: 1000 event files of this second and process exist already", dir);
    return NULL;
}

int ditc_tfevents_flush(ditc_tfevents *w, ditc_status *st) {
    DITC_CHECK(w, "tfevents: no writer");
    if (fdatasync(w->fd) != 0 && errno != EINVAL) // EINVAL: a special file, nothing to sync
        return ditc_fail(st, DITC_ERR_IO, "%s: cannot sync the event file: %s", w->path, strerror(errno));
    return 0;
}

int ditc_tfevents_close(ditc_tfevents *w, ditc_status *st) {
    if (!w) return 0;
    int rc = 0;
    if (close(w->fd) != 0)
        rc = ditc_fail(st, DITC_ERR_IO, "%s: cannot close the event file: %s", w->path, strerror(errno));
    free(w->path);
    free(w);
    return rc;
}

const char *ditc_tfevents_path(const ditc_tfevents *w) { return w ? w->path : NULL; }

double ditc_tfevents_wall_time(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

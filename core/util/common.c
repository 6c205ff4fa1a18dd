// common.c — fatal error reporting, checked allocation, status messages.
#include "common.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

// Prints "ditc internal error at file:line: <prefix><message>" and aborts.
__attribute__((noreturn)) static void vfatal(const char *file, int line, const char *prefix, const char *fmt,
                                             va_list ap) {
    fprintf(stderr, "ditc internal error at %s:%d: %s", file, line, prefix);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

void ditc_fatal(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfatal(file, line, "", fmt, ap);
}

void ditc_check_failed(const char *file, int line, const char *cond, const char *fmt, ...) {
    char prefix[256];
    snprintf(prefix, sizeof prefix, "check failed: %s — ", cond);
    va_list ap;
    va_start(ap, fmt);
    vfatal(file, line, prefix, fmt, ap);
}

void *ditc_xmalloc_at(size_t bytes, const char *file, int line) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) ditc_fatal(file, line, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *ditc_xcalloc_at(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) ditc_fatal(file, line, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *ditc_xrealloc_at(void *p, size_t bytes, const char *file, int line) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) ditc_fatal(file, line, "out of memory reallocating %zu bytes", bytes);
    return q;
}

double ditc_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *ditc_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = ditc_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

char *ditc_path_join(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    char *s = ditc_xmalloc(na + nb + 2);
    memcpy(s, a, na);
    s[na] = '/';
    memcpy(s + na + 1, b, nb + 1);
    return s;
}

int ditc_fail(ditc_status *st, int code, const char *fmt, ...) {
    if (st) {
        st->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->message, sizeof st->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

int ditc_fail_labelled_v(ditc_status *st, int code, const char *label, const char *fmt, va_list ap) {
    if (st) {
        st->code = code;
        int n = snprintf(st->message, sizeof st->message, "%s: ", label);
        if (n >= 0 && (size_t)n < sizeof st->message)
            vsnprintf(st->message + n, sizeof st->message - (size_t)n, fmt, ap);
    }
    return code;
}

int ditc_env_off(const char *name, int *cache) {
    if (*cache < 0) {
        const char *e = getenv(name);
        *cache = e && !strcmp(e, "0");
    }
    return *cache;
}

const char *ditc_printable(char out[112], const char *s, size_t n, int ascii_only) {
    size_t o = 0, i = 0;
    for (; i < n && o < 96; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || (ascii_only && ch >= 0x80)) o += (size_t)snprintf(out + o, 8, "\\x%02x", ch);
        else out[o++] = (char)ch;
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

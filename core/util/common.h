// common.h — error-check macros (internal invariants, file:line) and the user-facing status type.
//
// Two kinds of failure (architecture invariant 6):
//  * internal invariants: DITC_CHECK / DITC_ALLOC_CHECK abort with file:line — a bug in ditc;
//  * bad user input (files, flags, values): functions return a ditc_status with one clear message that
//    names the file or flag; apps print it and exit non-zero. User input must never hit DITC_CHECK.
#ifndef DITC_COMMON_H
#define DITC_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DITC_VERSION "0.1.0"

void ditc_fatal(const char *file, int line, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));

void ditc_check_failed(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

// Internal invariant: aborts with file:line, the failed condition and a printf-style message.
#define DITC_CHECK(cond, ...)                                                                                          \
    do {                                                                                                               \
        if (!(cond)) ditc_check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__);                                        \
    } while (0)

// Allocation check in llm.c's mallocCheck style.
#define DITC_ALLOC_CHECK(ptr, bytes)                                                                                   \
    do {                                                                                                               \
        if ((ptr) == NULL) ditc_fatal(__FILE__, __LINE__, "out of memory allocating %zu bytes", (size_t)(bytes));      \
    } while (0)

void *ditc_xmalloc_at(size_t bytes, const char *file, int line);
void *ditc_xcalloc_at(size_t n, size_t size, const char *file, int line);
void *ditc_xrealloc_at(void *p, size_t bytes, const char *file, int line);
#define ditc_xmalloc(bytes) ditc_xmalloc_at((bytes), __FILE__, __LINE__)
double ditc_now_s(void);           // monotonic clock, seconds
char *ditc_xstrdup(const char *s); // checked strdup
// s[0, n) made printable for a message into out (at most ~100 characters, then "..."): control bytes, 0x7f and,
// with ascii_only, every byte >= 0x80 as \xNN. Returns out.
const char *ditc_printable(char out[112], const char *s, size_t n, int ascii_only);
char *ditc_path_join(const char *dir, const char *name); // malloc'd dir + "/" + name
// 1 when the environment variable `name` is "0" (an A/B switch that turns a default path off), read once into
// *cache (-1 until then).
int ditc_env_off(const char *name, int *cache);
#define ditc_xcalloc(n, size)   ditc_xcalloc_at((n), (size), __FILE__, __LINE__)
#define ditc_xrealloc(p, bytes) ditc_xrealloc_at((p), (bytes), __FILE__, __LINE__)

// ---- user-facing status -------------------------------------------------------------------------
typedef struct {
    int code;          // 0 = ok
    char message[512]; // one line naming the file/flag and what is wrong
} ditc_status;

enum { DITC_OK = 0, DITC_ERR_IO = 1, DITC_ERR_FORMAT = 2, DITC_ERR_ARG = 3, DITC_ERR_UNSUPPORTED = 4 };

// Sets st (if non-NULL) and returns code, so callers can write `return ditc_fail(st, ...)`.
int ditc_fail(ditc_status *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
// The same with the message "LABEL: <fmt, ap>" (a file reader's failure naming its file).
int ditc_fail_labelled_v(ditc_status *st, int code, const char *label, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static inline void ditc_status_ok(ditc_status *st) {
    if (st) {
        st->code = 0;
        st->message[0] = '\0';
    }
}

#endif

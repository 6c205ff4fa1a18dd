// json.h — a small strict pull parser for JSON (RFC 8259) and JSON writing helpers, sized for
// safetensors headers.
//
// The parser walks a byte buffer that is NOT NUL-terminated and never reads past its length. The caller
// drives it value by value (object_begin / object_next / array_begin / array_next / string / number /
// skip), so nothing is built beyond what the caller keeps. Strict: UTF-8 is validated, raw control
// characters and invalid escapes are rejected, \uXXXX (incl. surrogate pairs) decodes to UTF-8, numbers
// follow the JSON grammar (no leading zeros), nesting is bounded by DITC_JSON_MAX_DEPTH. The first error
// is kept in `err` together with the byte offset where it was found; every later call fails.
#ifndef DITC_JSON_H
#define DITC_JSON_H

#include <stddef.h>
#include <stdint.h>

#define DITC_JSON_MAX_DEPTH 64

typedef enum {
    DITC_JSON_END = 0, // no more input (only whitespace left)
    DITC_JSON_OBJECT,
    DITC_JSON_ARRAY,
    DITC_JSON_STRING,
    DITC_JSON_NUMBER,
    DITC_JSON_BOOL,
    DITC_JSON_NULL,
    DITC_JSON_INVALID, // the next byte cannot start a value
} ditc_json_kind;

typedef enum {
    DITC_JSON_NUM_UINT = 0, // non-negative integer that fits uint64 (value in `u`)
    DITC_JSON_NUM_OVERFLOW, // non-negative integer larger than UINT64_MAX
    DITC_JSON_NUM_OTHER,    // negative, fraction or exponent
} ditc_json_num_kind;

typedef struct {
    ditc_json_num_kind kind;
    uint64_t u;
    size_t pos, len; // the number's text is buf[pos, pos+len)
} ditc_json_num;

typedef struct {
    const unsigned char *buf;
    size_t len, pos;
    int depth;                                    // current nesting (0 = top level)
    unsigned char first[DITC_JSON_MAX_DEPTH + 1]; // per level: no member/element read yet
    unsigned char is_obj[DITC_JSON_MAX_DEPTH + 1];
    int failed;
    size_t err_pos; // byte offset of the first error
    char err[200];  // its description (without the offset)
} ditc_json;

void ditc_json_init(ditc_json *j, const void *buf, size_t len);

// Kind of the next value after whitespace (does not consume it). INVALID also when already failed.
ditc_json_kind ditc_json_peek(ditc_json *j);
const char *ditc_json_kind_name(ditc_json_kind k); // "object", "array", "string", ...

// All of these return 0 on success and -1 on error (then j->err / j->err_pos say why and where).
int ditc_json_object_begin(ditc_json *j);
// 1: a member follows; its key is decoded into *key (malloc'd, NUL-terminated, caller frees; *key_len
// excludes the terminator and may count embedded NULs from \u0000) and the ':' is consumed.
// 0: the object ended ('}' consumed). -1: error. key/key_len/key_pos may be NULL when not wanted.
int ditc_json_object_next(ditc_json *j, char **key, size_t *key_len, size_t *key_pos);
int ditc_json_array_begin(ditc_json *j);
// 1: another element follows (the cursor is at it); 0: the array ended (']' consumed); -1: error.
int ditc_json_array_next(ditc_json *j);
// Decodes a string value into *out (malloc'd, NUL-terminated; *len excludes the terminator).
int ditc_json_string(ditc_json *j, char **out, size_t *len);
int ditc_json_number(ditc_json *j, ditc_json_num *out);
int ditc_json_bool(ditc_json *j, int *out);
int ditc_json_null(ditc_json *j);
// Validates and skips any value (nesting bounded by DITC_JSON_MAX_DEPTH).
int ditc_json_skip(ditc_json *j);
// Records an error at `pos` (if none yet) and returns -1. For callers' semantic errors.
int ditc_json_fail(ditc_json *j, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// 1 if s[0, n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF); else 0 and *bad = offset.
int ditc_json_utf8_valid(const unsigned char *s, size_t n, size_t *bad);

// ---- writing ------------------------------------------------------------------------------------
typedef struct {
    char *p;
    size_t len, cap;
} ditc_json_buf;

void ditc_json_buf_put(ditc_json_buf *b, const char *s, size_t n);
void ditc_json_buf_puts(ditc_json_buf *b, const char *s);
void ditc_json_buf_u64(ditc_json_buf *b, uint64_t v);
// Appends s[0, n) as a quoted JSON string: '"' and '\\' escaped, control characters as \n \t ... or
// \u00XX. Bytes >= 0x80 are copied as they are (the caller validates UTF-8).
void ditc_json_buf_string(ditc_json_buf *b, const char *s, size_t n);
void ditc_json_buf_free(ditc_json_buf *b);

#endif

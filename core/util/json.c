// json.c — strict JSON pull parser over a length-bounded buffer, and JSON writing helpers.
#include "json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

// ---- growable output buffer (always NUL-terminated once non-empty) ------------------------------

static void buf_reserve(ditc_json_buf *b, size_t extra) {
    DITC_CHECK(extra < SIZE_MAX - b->len - 1, "JSON buffer size overflow");
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->p = ditc_xrealloc(b->p, cap);
    b->cap = cap;
}

void ditc_json_buf_put(ditc_json_buf *b, const char *s, size_t n) {
    buf_reserve(b, n);
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void ditc_json_buf_puts(ditc_json_buf *b, const char *s) { ditc_json_buf_put(b, s, strlen(s)); }

void ditc_json_buf_u64(ditc_json_buf *b, uint64_t v) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    ditc_json_buf_put(b, tmp, (size_t)n);
}

static const char *short_escape(unsigned char c) {
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: return NULL;
    }
}

void ditc_json_buf_string(ditc_json_buf *b, const char *s, size_t n) {
    ditc_json_buf_put(b, "\"", 1);
    size_t run = 0; // start of the pending run of bytes copied verbatim
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        ditc_json_buf_put(b, s + run, i - run);
        run = i + 1;
        const char *esc = short_escape(c);
        if (esc) {
            ditc_json_buf_puts(b, esc);
        } else {
            char tmp[8];
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            ditc_json_buf_puts(b, tmp);
        }
    }
    ditc_json_buf_put(b, s + run, n - run);
    ditc_json_buf_put(b, "\"", 1);
}

void ditc_json_buf_free(ditc_json_buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

// ---- UTF-8 --------------------------------------------------------------------------------------

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length of the valid UTF-8 sequence at s (n bytes available), or 0 if invalid/truncated.
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0; // continuation byte or overlong 2-byte lead
    if (c < 0xE0) return n >= 2 && is_cont(s[1]) ? 2 : 0;
    if (c < 0xF0) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF; // no overlong/surrogate
        return n >= 3 && s[1] >= lo && s[1] <= hi && is_cont(s[2]) ? 3 : 0;
    }
    if (c < 0xF5) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF; // no overlong, <= 10FFFF
        return n >= 4 && s[1] >= lo && s[1] <= hi && is_cont(s[2]) && is_cont(s[3]) ? 4 : 0;
    }
    return 0;
}

int ditc_json_utf8_valid(const unsigned char *s, size_t n, size_t *bad) {
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq_len(s + i, n - i);
        if (k == 0) {
            if (bad) *bad = i;
            return 0;
        }
        i += k;
    }
    return 1;
}

static void put_utf8(ditc_json_buf *b, uint32_t cp) {
    char t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    ditc_json_buf_put(b, t, n);
}

// ---- parser state and errors --------------------------------------------------------------------

void ditc_json_init(ditc_json *j, const void *buf, size_t len) {
    memset(j, 0, sizeof *j);
    j->buf = buf;
    j->len = len;
}

int ditc_json_fail(ditc_json *j, size_t pos, const char *fmt, ...) {
    if (j->failed) return -1;
    j->failed = 1;
    j->err_pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err, sizeof j->err, fmt, ap);
    va_end(ap);
    return -1;
}

static int at_end(const ditc_json *j) { return j->pos >= j->len; }

static void skip_ws(ditc_json *j) {
    while (j->pos < j->len) {
        unsigned char c = j->buf[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        j->pos++;
    }
}

// Error for the byte at the cursor (or end of input) when `expected` was wanted.
static int fail_unexpected(ditc_json *j, const char *expected) {
    if (at_end(j)) return ditc_json_fail(j, j->pos, "unexpected end of input, expected %s", expected);
    unsigned char c = j->buf[j->pos];
    if (c > 0x20 && c < 0x7f) return ditc_json_fail(j, j->pos, "unexpected '%c', expected %s", c, expected);
    return ditc_json_fail(j, j->pos, "unexpected byte 0x%02x, expected %s", c, expected);
}

const char *ditc_json_kind_name(ditc_json_kind k) {
    switch (k) {
    case DITC_JSON_END: return "end of input";
    case DITC_JSON_OBJECT: return "object";
    case DITC_JSON_ARRAY: return "array";
    case DITC_JSON_STRING: return "string";
    case DITC_JSON_NUMBER: return "number";
    case DITC_JSON_BOOL: return "boolean";
    case DITC_JSON_NULL: return "null";
    default: return "invalid token";
    }
}

ditc_json_kind ditc_json_peek(ditc_json *j) {
    if (j->failed) return DITC_JSON_INVALID;
    skip_ws(j);
    if (at_end(j)) return DITC_JSON_END;
    unsigned char c = j->buf[j->pos];
    if (c == '{') return DITC_JSON_OBJECT;
    if (c == '[') return DITC_JSON_ARRAY;
    if (c == '"') return DITC_JSON_STRING;
    if (c == '-' || (c >= '0' && c <= '9')) return DITC_JSON_NUMBER;
    if (c == 't' || c == 'f') return DITC_JSON_BOOL;
    if (c == 'n') return DITC_JSON_NULL;
    return DITC_JSON_INVALID;
}

// ---- strings ------------------------------------------------------------------------------------

static int hex4(const ditc_json *j, size_t at, uint32_t *out) {
    if (at > j->len || j->len - at < 4) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = j->buf[at + (size_t)i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return 0;
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return 1;
}

// Decodes the \uXXXX escape (plus a low surrogate if needed) at the cursor ('\\').
static int decode_u_escape(ditc_json *j, ditc_json_buf *b) {
    size_t at = j->pos;
    uint32_t cp, lo;
    if (!hex4(j, at + 2, &cp)) return ditc_json_fail(j, at, "invalid \\u escape (needs 4 hex digits)");
    j->pos += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return ditc_json_fail(j, at, "unpaired low surrogate \\u%04X in string", (unsigned)cp);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (j->len - j->pos < 6 || j->buf[j->pos] != '\\' || j->buf[j->pos + 1] != 'u' || !hex4(j, j->pos + 2, &lo) ||
            lo < 0xDC00 || lo > 0xDFFF)
            return ditc_json_fail(j, at, "unpaired high surrogate \\u%04X in string", (unsigned)cp);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        j->pos += 6;
    }
    put_utf8(b, cp);
    return 0;
}

static int decode_escape(ditc_json *j, ditc_json_buf *b) {
    if (j->len - j->pos < 2) return ditc_json_fail(j, j->pos, "unterminated escape at end of input");
    unsigned char e = j->buf[j->pos + 1];
    const char *simple = NULL;
    switch (e) {
    case '"': simple = "\""; break;
    case '\\': simple = "\\"; break;
    case '/': simple = "/"; break;
    case 'b': simple = "\b"; break;
    case 'f': simple = "\f"; break;
    case 'n': simple = "\n"; break;
    case 'r': simple = "\r"; break;
    case 't': simple = "\t"; break;
    case 'u': return decode_u_escape(j, b);
    default:
        if (e > 0x20 && e < 0x7f) return ditc_json_fail(j, j->pos, "invalid escape '\\%c' in string", e);
        return ditc_json_fail(j, j->pos, "invalid escape (backslash then byte 0x%02x) in string", e);
    }
    ditc_json_buf_put(b, simple, 1);
    j->pos += 2;
    return 0;
}

// Parses the string whose opening quote is at the cursor into b.
static int parse_string_into(ditc_json *j, ditc_json_buf *b) {
    size_t start = j->pos++;
    for (;;) {
        size_t run = j->pos; // copy plain ASCII runs in one go
        while (j->pos < j->len) {
            unsigned char c = j->buf[j->pos];
            if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
            j->pos++;
        }
        ditc_json_buf_put(b, (const char *)j->buf + run, j->pos - run);
        if (at_end(j)) return ditc_json_fail(j, start, "unterminated string");
        unsigned char c = j->buf[j->pos];
        if (c == '"') {
            j->pos++;
            return 0;
        }
        if (c == '\\') {
            if (decode_escape(j, b) < 0) return -1;
        } else if (c < 0x20) {
            return ditc_json_fail(j, j->pos, "raw control character 0x%02x in string (must be escaped)", c);
        } else {
            size_t k = utf8_seq_len(j->buf + j->pos, j->len - j->pos);
            if (k == 0) return ditc_json_fail(j, j->pos, "invalid UTF-8 (byte 0x%02x) in string", c);
            ditc_json_buf_put(b, (const char *)j->buf + j->pos, k);
            j->pos += k;
        }
    }
}

static int parse_string(ditc_json *j, char **out, size_t *len) {
    ditc_json_buf b = {0};
    buf_reserve(&b, 16);
    b.p[0] = '\0';
    if (parse_string_into(j, &b) < 0) {
        ditc_json_buf_free(&b);
        return -1;
    }
    if (len) *len = b.len;
    if (out) *out = b.p;
    else ditc_json_buf_free(&b);
    return 0;
}

int ditc_json_string(ditc_json *j, char **out, size_t *len) {
    if (ditc_json_peek(j) != DITC_JSON_STRING) return fail_unexpected(j, "a string");
    return parse_string(j, out, len);
}

// ---- numbers and literals -----------------------------------------------------------------------

static int is_digit_at(const ditc_json *j, size_t at) { return at < j->len && j->buf[at] >= '0' && j->buf[at] <= '9'; }

static void skip_digits(ditc_json *j) {
    while (is_digit_at(j, j->pos)) j->pos++;
}

// Integer part (no sign): accumulates into out->u while it fits.
static int parse_int_part(ditc_json *j, size_t start, ditc_json_num *out) {
    if (!is_digit_at(j, j->pos)) return ditc_json_fail(j, start, "invalid number (expected a digit)");
    if (j->buf[j->pos] == '0') {
        j->pos++;
        if (is_digit_at(j, j->pos)) return ditc_json_fail(j, start, "leading zeros are not allowed in numbers");
        return 0;
    }
    while (is_digit_at(j, j->pos)) {
        unsigned d = (unsigned)(j->buf[j->pos] - '0');
        if (out->kind == DITC_JSON_NUM_UINT && out->u > (UINT64_MAX - d) / 10) out->kind = DITC_JSON_NUM_OVERFLOW;
        if (out->kind == DITC_JSON_NUM_UINT) out->u = out->u * 10 + d;
        j->pos++;
    }
    return 0;
}

int ditc_json_number(ditc_json *j, ditc_json_num *out) {
    if (ditc_json_peek(j) != DITC_JSON_NUMBER) return fail_unexpected(j, "a number");
    size_t start = j->pos;
    ditc_json_num n = {.kind = DITC_JSON_NUM_UINT, .u = 0, .pos = start, .len = 0};
    int other = 0;
    if (j->buf[j->pos] == '-') {
        j->pos++;
        other = 1;
    }
    if (parse_int_part(j, start, &n) < 0) return -1;
    if (j->pos < j->len && j->buf[j->pos] == '.') {
        j->pos++;
        if (!is_digit_at(j, j->pos)) return ditc_json_fail(j, j->pos, "invalid number (expected a digit after '.')");
        skip_digits(j);
        other = 1;
    }
    if (j->pos < j->len && (j->buf[j->pos] == 'e' || j->buf[j->pos] == 'E')) {
        j->pos++;
        if (j->pos < j->len && (j->buf[j->pos] == '+' || j->buf[j->pos] == '-')) j->pos++;
        if (!is_digit_at(j, j->pos)) return ditc_json_fail(j, j->pos, "invalid number (expected exponent digits)");
        skip_digits(j);
        other = 1;
    }
    if (other) {
        n.kind = DITC_JSON_NUM_OTHER;
        n.u = 0;
    }
    n.len = j->pos - start;
    if (out) *out = n;
    return 0;
}

static int match_literal(ditc_json *j, const char *lit) {
    size_t n = strlen(lit);
    if (j->len - j->pos < n || memcmp(j->buf + j->pos, lit, n) != 0)
        return ditc_json_fail(j, j->pos, "invalid literal (expected %s)", lit);
    j->pos += n;
    return 0;
}

int ditc_json_bool(ditc_json *j, int *out) {
    if (ditc_json_peek(j) != DITC_JSON_BOOL) return fail_unexpected(j, "true or false");
    int v = j->buf[j->pos] == 't';
    if (match_literal(j, v ? "true" : "false") < 0) return -1;
    if (out) *out = v;
    return 0;
}

int ditc_json_null(ditc_json *j) {
    if (ditc_json_peek(j) != DITC_JSON_NULL) return fail_unexpected(j, "null");
    return match_literal(j, "null");
}

// ---- containers ---------------------------------------------------------------------------------

static int container_begin(ditc_json *j, unsigned char open, int is_obj) {
    if (j->failed) return -1;
    skip_ws(j);
    if (at_end(j) || j->buf[j->pos] != open) return fail_unexpected(j, is_obj ? "'{'" : "'['");
    if (j->depth >= DITC_JSON_MAX_DEPTH)
        return ditc_json_fail(j, j->pos, "nesting deeper than %d levels", DITC_JSON_MAX_DEPTH);
    j->pos++;
    j->depth++;
    j->first[j->depth] = 1;
    j->is_obj[j->depth] = (unsigned char)is_obj;
    return 0;
}

int ditc_json_object_begin(ditc_json *j) { return container_begin(j, '{', 1); }
int ditc_json_array_begin(ditc_json *j) { return container_begin(j, '[', 0); }

// Shared step of object_next/array_next: 0 = container closed, 1 = an item follows, -1 = error.
static int container_step(ditc_json *j, int is_obj) {
    if (j->failed) return -1;
    DITC_CHECK(j->depth > 0 && j->is_obj[j->depth] == is_obj, "JSON %s iteration outside one",
               is_obj ? "object" : "array");
    unsigned char close = is_obj ? '}' : ']';
    int first = j->first[j->depth];
    skip_ws(j);
    if (!at_end(j) && j->buf[j->pos] == close) {
        j->pos++;
        j->depth--;
        return 0;
    }
    if (!first) {
        if (at_end(j) || j->buf[j->pos] != ',') return fail_unexpected(j, is_obj ? "',' or '}'" : "',' or ']'");
        j->pos++;
        skip_ws(j);
        if (!at_end(j) && j->buf[j->pos] == close) return ditc_json_fail(j, j->pos, "trailing comma");
    }
    j->first[j->depth] = 0;
    return 1;
}

int ditc_json_object_next(ditc_json *j, char **key, size_t *key_len, size_t *key_pos) {
    int r = container_step(j, 1);
    if (r <= 0) return r;
    if (at_end(j) || j->buf[j->pos] != '"') return fail_unexpected(j, "a string key");
    size_t kp = j->pos;
    char *k = NULL;
    size_t kl = 0;
    if (parse_string(j, &k, &kl) < 0) return -1;
    skip_ws(j);
    if (at_end(j) || j->buf[j->pos] != ':') {
        free(k);
        return fail_unexpected(j, "':' after the object key");
    }
    j->pos++;
    if (key) *key = k;
    else free(k);
    if (key_len) *key_len = kl;
    if (key_pos) *key_pos = kp;
    return 1;
}

int ditc_json_array_next(ditc_json *j) { return container_step(j, 0); }

int ditc_json_skip(ditc_json *j) {
    int r;
    switch (ditc_json_peek(j)) {
    case DITC_JSON_OBJECT:
        if (ditc_json_object_begin(j) < 0) return -1;
        while ((r = ditc_json_object_next(j, NULL, NULL, NULL)) == 1)
            if (ditc_json_skip(j) < 0) return -1;
        return r;
    case DITC_JSON_ARRAY:
        if (ditc_json_array_begin(j) < 0) return -1;
        while ((r = ditc_json_array_next(j)) == 1)
            if (ditc_json_skip(j) < 0) return -1;
        return r;
    case DITC_JSON_STRING: return parse_string(j, NULL, NULL);
    case DITC_JSON_NUMBER: return ditc_json_number(j, NULL);
    case DITC_JSON_BOOL: return ditc_json_bool(j, NULL);
    case DITC_JSON_NULL: return ditc_json_null(j);
    default: return fail_unexpected(j, "a value");
    }
}

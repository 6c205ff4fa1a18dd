// pickle.c — restricted unpickler (see pickle.h). One pass over the opcodes with an object stack, a mark stack
// and a memo; calls (REDUCE, NEWOBJ, BUILD, BINPERSID) are interpreted only for the allowed globals and build
// plain values. Objects may be shared (memo) and even cyclic: the tree's users bound their own recursion.
#include "pickle.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

typedef struct {
    ditc_pickle *p;
    const unsigned char *buf;
    size_t size, pos, op_pos;
    const char *label;
    ditc_status *s;
    ditc_pk_obj **stack;
    int64_t n_stack, cap_stack;
    int64_t *marks, n_marks, cap_marks;
    ditc_pk_obj **memo;
    int64_t cap_memo, n_memo; // n_memo: distinct indices stored (MEMOIZE's next index)
    int64_t n_built;          // items BUILD has copied into Namespaces so far (bounded by the bytes read)
    int legacy;               // persistent ids in the legacy format's form
} pk_ctx;

const char *ditc_pk_kind_name(ditc_pk_kind k) {
    static const char *const names[] = {"None",  "bool", "int",  "float",  "str",     "bytes",
                                        "tuple", "list", "dict", "global", "storage", "tensor"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

__attribute__((format(printf, 2, 3))) static int perr(pk_ctx *c, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ditc_fail(c->s, DITC_ERR_FORMAT, "%s: %s (pickle byte %zu)", c->label, msg, c->op_pos);
}

// Printable rendering of pickle text for messages.
static const char *show(char out[112], const char *s, size_t n) { return ditc_printable(out, s, n, 1); }

static ditc_pk_obj *new_obj(pk_ctx *c, ditc_pk_kind k) {
    ditc_pickle *p = c->p;
    if (p->n_all == p->cap_all) {
        p->cap_all = p->cap_all ? p->cap_all * 2 : 64;
        p->all = ditc_xrealloc(p->all, (size_t)p->cap_all * sizeof *p->all);
    }
    ditc_pk_obj *o = ditc_xcalloc(1, sizeof *o);
    o->kind = k;
    p->all[p->n_all++] = o;
    return o;
}

static void add_item(ditc_pk_obj *o, ditc_pk_obj *v) {
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 4;
        o->items = ditc_xrealloc(o->items, (size_t)o->cap * sizeof *o->items);
    }
    o->items[o->n++] = v;
}

static void push(pk_ctx *c, ditc_pk_obj *o) {
    if (c->n_stack == c->cap_stack) {
        c->cap_stack = c->cap_stack ? c->cap_stack * 2 : 64;
        c->stack = ditc_xrealloc(c->stack, (size_t)c->cap_stack * sizeof *c->stack);
    }
    c->stack[c->n_stack++] = o;
}

static int pop(pk_ctx *c, ditc_pk_obj **o, const char *op) {
    *o = NULL;
    int64_t floor = c->n_marks ? c->marks[c->n_marks - 1] : 0;
    if (c->n_stack <= floor) return perr(c, "%s with an empty stack", op);
    *o = c->stack[--c->n_stack];
    return 0;
}

static int top(pk_ctx *c, ditc_pk_obj **o, const char *op) {
    *o = NULL;
    int64_t floor = c->n_marks ? c->marks[c->n_marks - 1] : 0;
    if (c->n_stack <= floor) return perr(c, "%s with an empty stack", op);
    *o = c->stack[c->n_stack - 1];
    return 0;
}

// Pops the objects above the last mark and the mark: they are c->stack[*from, n_stack_before).
static int pop_mark(pk_ctx *c, int64_t *from, const char *op) {
    *from = 0;
    if (!c->n_marks) return perr(c, "%s without a MARK", op);
    *from = c->marks[--c->n_marks];
    return 0;
}

static int need(pk_ctx *c, size_t n, const char *what) {
    if (c->size - c->pos < n) return perr(c, "%s runs past the end of the pickle (truncated?)", what);
    return 0;
}

static uint64_t rd_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

// ---- the allowed globals ----------------------------------------------------------------------------

typedef struct {
    const char *module, *name;
    ditc_pk_global g;
    ditc_dtype dtype;
} allowed_global;

static const allowed_global allowed[] = {
    {"collections", "OrderedDict", DITC_PKG_ORDERED_DICT, DITC_F32},
    {"argparse", "Namespace", DITC_PKG_NAMESPACE, DITC_F32},
    {"torch._utils", "_rebuild_tensor_v2", DITC_PKG_REBUILD_TENSOR_V2, DITC_F32},
    {"torch._utils", "_rebuild_parameter", DITC_PKG_REBUILD_PARAMETER, DITC_F32},
    {"torch._tensor", "_rebuild_from_type_v2", DITC_PKG_REBUILD_FROM_TYPE_V2, DITC_F32},
    {"torch", "Tensor", DITC_PKG_TENSOR_TYPE, DITC_F32},
    {"torch.nn.parameter", "Parameter", DITC_PKG_TENSOR_TYPE, DITC_F32},
    {"torch", "FloatStorage", DITC_PKG_STORAGE_TYPE, DITC_F32},
    {"torch", "HalfStorage", DITC_PKG_STORAGE_TYPE, DITC_F16},
    {"torch", "BFloat16Storage", DITC_PKG_STORAGE_TYPE, DITC_BF16},
    {"torch", "DoubleStorage", DITC_PKG_STORAGE_TYPE, DITC_F64},
    {"torch", "LongStorage", DITC_PKG_STORAGE_TYPE, DITC_I64},
    {"torch", "IntStorage", DITC_PKG_STORAGE_TYPE, DITC_I32},
    {"torch", "ByteStorage", DITC_PKG_STORAGE_TYPE, DITC_U8},
};

static int make_global(pk_ctx *c, const char *mod, size_t ml, const char *name, size_t nl) {
    char m1[112], n1[112];
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        const allowed_global *a = &allowed[i];
        if (strlen(a->module) == ml && !memcmp(a->module, mod, ml) && strlen(a->name) == nl &&
            !memcmp(a->name, name, nl)) {
            ditc_pk_obj *o = new_obj(c, DITC_PK_GLOBAL);
            o->g = a->g;
            o->dtype = a->dtype;
            o->len = ml + 1 + nl;
            o->s = ditc_xmalloc(o->len + 1);
            snprintf(o->s, o->len + 1, "%s.%s", a->module, a->name);
            push(c, o);
            return 0;
        }
    }
    show(m1, mod, ml);
    show(n1, name, nl);
    if (ml == 5 && !memcmp(mod, "torch", 5) && nl > 7 && !memcmp(name + nl - 7, "Storage", 7))
        return perr(c,
                    "storage type torch.%s is not supported (supported: Float, Half, BFloat16, Double, Long, Int and "
                    "Byte storages)",
                    n1);
    return perr(c,
                "global '%s.%s' is not allowed: a torch.save state_dict or checkpoint holds only tensors, dicts, "
                "lists, tuples, numbers, strings and argparse.Namespace; refusing to unpickle anything else",
                m1, n1);
}

// GLOBAL: "module\nname\n".
static int op_global(pk_ctx *c) {
    const char *p[2];
    size_t l[2];
    for (int k = 0; k < 2; k++) {
        const unsigned char *nl = memchr(c->buf + c->pos, '\n', c->size - c->pos);
        if (!nl) return perr(c, "GLOBAL runs past the end of the pickle (truncated?)");
        p[k] = (const char *)c->buf + c->pos;
        l[k] = (size_t)(nl - (c->buf + c->pos));
        c->pos += l[k] + 1;
    }
    return make_global(c, p[0], l[0], p[1], l[1]);
}

static int op_stack_global(pk_ctx *c) {
    ditc_pk_obj *name, *mod;
    int r = pop(c, &name, "STACK_GLOBAL");
    if (!r) r = pop(c, &mod, "STACK_GLOBAL");
    if (r) return r;
    if (name->kind != DITC_PK_STR || mod->kind != DITC_PK_STR) return perr(c, "STACK_GLOBAL of non-strings");
    return make_global(c, mod->s, mod->len, name->s, name->len);
}

// ---- calls --------------------------------------------------------------------------------------------

static int is_int(const ditc_pk_obj *o) { return o->kind == DITC_PK_INT || o->kind == DITC_PK_BOOL; }

static int int_tuple(pk_ctx *c, const ditc_pk_obj *t, const char *what, int64_t *out, int *n) {
    if (t->kind != DITC_PK_TUPLE && t->kind != DITC_PK_LIST)
        return perr(c, "_rebuild_tensor_v2: %s is a %s, not a tuple", what, ditc_pk_kind_name(t->kind));
    if (t->n > DITC_PK_MAX_DIMS)
        return perr(c, "_rebuild_tensor_v2: %s has %" PRId64 " dimensions (at most %d)", what, t->n, DITC_PK_MAX_DIMS);
    for (int64_t i = 0; i < t->n; i++) {
        if (t->items[i]->kind != DITC_PK_INT || t->items[i]->i < 0)
            return perr(c, "_rebuild_tensor_v2: %s entry %" PRId64 " is not a non-negative int", what, i);
        out[i] = t->items[i]->i;
    }
    *n = (int)t->n;
    return 0;
}

// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
static int rebuild_tensor(pk_ctx *c, const ditc_pk_obj *a, ditc_pk_obj **out) {
    if (a->n != 6 && a->n != 7) return perr(c, "_rebuild_tensor_v2 takes 6 or 7 arguments, got %" PRId64, a->n);
    const ditc_pk_obj *st = a->items[0], *off = a->items[1];
    if (st->kind != DITC_PK_STORAGE)
        return perr(c, "_rebuild_tensor_v2: argument 1 is a %s, not a storage", ditc_pk_kind_name(st->kind));
    if (off->kind != DITC_PK_INT || off->i < 0)
        return perr(c, "_rebuild_tensor_v2: the storage offset is not a non-negative int");
    ditc_pk_obj *t = new_obj(c, DITC_PK_TENSOR);
    int ns = 0;
    int r = int_tuple(c, a->items[2], "size", t->shape, &t->ndim);
    if (!r) r = int_tuple(c, a->items[3], "stride", t->stride, &ns);
    if (r) return r;
    if (ns != t->ndim) return perr(c, "_rebuild_tensor_v2: size has %d dimensions but stride %d", t->ndim, ns);
    if (!is_int(a->items[4])) return perr(c, "_rebuild_tensor_v2: requires_grad is not a bool");
    add_item(t, (ditc_pk_obj *)st);
    t->i = off->i;
    t->dtype = st->dtype;
    *out = t;
    return 0;
}

static int call(pk_ctx *c, const ditc_pk_obj *f, const ditc_pk_obj *a, ditc_pk_obj **out, int depth) {
    if (f->kind != DITC_PK_GLOBAL) return perr(c, "REDUCE of a %s (not a callable global)", ditc_pk_kind_name(f->kind));
    if (a->kind != DITC_PK_TUPLE)
        return perr(c, "REDUCE of %s with a %s of arguments", f->s, ditc_pk_kind_name(a->kind));
    switch (f->g) {
    case DITC_PKG_ORDERED_DICT:
        if (a->n != 0)
            return perr(c, "collections.OrderedDict called with %" PRId64 " arguments (expected none)", a->n);
        *out = new_obj(c, DITC_PK_DICT);
        return 0;
    case DITC_PKG_REBUILD_TENSOR_V2: return rebuild_tensor(c, a, out);
    case DITC_PKG_REBUILD_PARAMETER: // (data, requires_grad, backward_hooks)
        if (a->n != 3 || a->items[0]->kind != DITC_PK_TENSOR)
            return perr(c, "torch._utils._rebuild_parameter takes (tensor, requires_grad, hooks)");
        *out = a->items[0];
        return 0;
    case DITC_PKG_REBUILD_FROM_TYPE_V2: // (func, new_type, args, state)
        if (a->n != 4 || a->items[0]->kind != DITC_PK_GLOBAL || a->items[1]->kind != DITC_PK_GLOBAL ||
            a->items[1]->g != DITC_PKG_TENSOR_TYPE || depth > 0)
            return perr(c, "torch._tensor._rebuild_from_type_v2 takes (rebuild function, torch.Tensor or "
                           "torch.nn.Parameter, args, state)");
        if (a->items[0]->g != DITC_PKG_REBUILD_TENSOR_V2 && a->items[0]->g != DITC_PKG_REBUILD_PARAMETER)
            return perr(c, "torch._tensor._rebuild_from_type_v2 of %s", a->items[0]->s);
        return call(c, a->items[0], a->items[2], out, depth + 1);
    default: return perr(c, "%s cannot be called here", f->s);
    }
}

static int op_reduce(pk_ctx *c) {
    ditc_pk_obj *a = NULL, *f = NULL, *o = NULL;
    int r = pop(c, &a, "REDUCE");
    if (!r) r = pop(c, &f, "REDUCE");
    if (!r) r = call(c, f, a, &o, 0);
    if (!r) push(c, o);
    return r;
}

static int op_newobj(pk_ctx *c) {
    ditc_pk_obj *a, *cls;
    int r = pop(c, &a, "NEWOBJ");
    if (!r) r = pop(c, &cls, "NEWOBJ");
    if (r) return r;
    if (cls->kind != DITC_PK_GLOBAL || (cls->g != DITC_PKG_NAMESPACE && cls->g != DITC_PKG_ORDERED_DICT))
        return perr(c, "NEWOBJ of %s (only argparse.Namespace and collections.OrderedDict)",
                    cls->kind == DITC_PK_GLOBAL ? cls->s : ditc_pk_kind_name(cls->kind));
    if (a->kind != DITC_PK_TUPLE || a->n != 0) return perr(c, "NEWOBJ of %s with arguments", cls->s);
    ditc_pk_obj *o = new_obj(c, DITC_PK_DICT);
    o->i = cls->g == DITC_PKG_NAMESPACE; // its fields arrive by BUILD
    push(c, o);
    return 0;
}

// BUILD: an argparse.Namespace takes its fields; an OrderedDict's instance state (a state_dict's _metadata) and a
// tensor's state are dropped.
static int op_build(pk_ctx *c) {
    ditc_pk_obj *st, *o;
    int r = pop(c, &st, "BUILD");
    if (!r) r = top(c, &o, "BUILD");
    if (r) return r;
    if (o->kind == DITC_PK_DICT && o->i == 1) {
        if (st->kind != DITC_PK_DICT)
            return perr(c, "BUILD of an argparse.Namespace from a %s", ditc_pk_kind_name(st->kind));
        // A Namespace built from itself, or from one large dict many times, would grow without bound.
        if (st == o) return perr(c, "BUILD of an argparse.Namespace from itself");
        c->n_built += st->n;
        if (c->n_built > (int64_t)c->pos)
            return perr(c,
                        "BUILD copies more fields into argparse.Namespace objects (%" PRId64
                        ") than the pickle has bytes so far",
                        c->n_built);
        for (int64_t i = 0; i < st->n; i++) add_item(o, st->items[i]);
        return 0;
    }
    if (o->kind == DITC_PK_DICT || o->kind == DITC_PK_TENSOR) return 0;
    return perr(c, "BUILD on a %s", ditc_pk_kind_name(o->kind));
}

static int nonneg_int(const ditc_pk_obj *o) { return o->kind == DITC_PK_INT && o->i >= 0; }

// A legacy persistent id's view_metadata: None, or (view_key, offset, size) in elements of the storage.
static int legacy_view(pk_ctx *c, const ditc_pk_obj *v, ditc_pk_obj *o) {
    o->view_numel = -1;
    if (v->kind == DITC_PK_NONE) return 0;
    if (v->kind != DITC_PK_TUPLE || v->n != 3 || v->items[0]->kind != DITC_PK_STR || !nonneg_int(v->items[1]) ||
        !nonneg_int(v->items[2]))
        return perr(c, "persistent id: the storage view is not None or (key, offset, size)");
    o->view_offset = v->items[1]->i;
    o->view_numel = v->items[2]->i;
    return 0;
}

// BINPERSID: torch.save's ('storage', storage_type, key, location, numel), with a sixth item view_metadata in the
// legacy format.
static int op_persid(pk_ctx *c) {
    ditc_pk_obj *t;
    int r = pop(c, &t, "BINPERSID");
    if (r) return r;
    if (t->kind != DITC_PK_TUPLE || t->n != 5 + c->legacy || t->items[0]->kind != DITC_PK_STR ||
        strcmp(t->items[0]->s, "storage"))
        return perr(c, c->legacy ? "persistent id is not legacy torch.save's ('storage', type, key, location, numel, "
                                   "view_metadata)"
                                 : "persistent id is not torch.save's ('storage', type, key, location, numel)");
    const ditc_pk_obj *ty = t->items[1], *key = t->items[2], *num = t->items[4];
    if (ty->kind != DITC_PK_GLOBAL || ty->g != DITC_PKG_STORAGE_TYPE)
        return perr(c, "persistent id: %s is not a storage type",
                    ty->kind == DITC_PK_GLOBAL ? ty->s : ditc_pk_kind_name(ty->kind));
    if (key->kind != DITC_PK_STR || key->len == 0 || key->len > 64 || memchr(key->s, '/', key->len) ||
        strlen(key->s) != key->len)
        return perr(c, "persistent id: the storage key is not a short string");
    if (!nonneg_int(num)) return perr(c, "persistent id: numel is not a non-negative int");
    ditc_pk_obj *o = new_obj(c, DITC_PK_STORAGE);
    o->view_numel = -1;
    if (c->legacy && (r = legacy_view(c, t->items[5], o))) return r;
    o->dtype = ty->dtype;
    o->s = ditc_xmalloc(key->len + 1);
    memcpy(o->s, key->s, key->len + 1);
    o->len = key->len;
    o->i = num->i;
    push(c, o);
    return 0;
}

// ---- containers -------------------------------------------------------------------------------------

static int op_tuple_n(pk_ctx *c, int n) {
    int64_t floor = c->n_marks ? c->marks[c->n_marks - 1] : 0;
    if (c->n_stack - floor < n) return perr(c, "TUPLE%d with %" PRId64 " objects on the stack", n, c->n_stack - floor);
    ditc_pk_obj *t = new_obj(c, DITC_PK_TUPLE);
    for (int i = 0; i < n; i++) add_item(t, c->stack[c->n_stack - n + i]);
    c->n_stack -= n;
    push(c, t);
    return 0;
}

// TUPLE, LIST, DICT: a new container of the objects above the mark.
static int op_from_mark(pk_ctx *c, ditc_pk_kind k, const char *op) {
    int64_t from;
    int r = pop_mark(c, &from, op);
    if (r) return r;
    if (k == DITC_PK_DICT && (c->n_stack - from) % 2) return perr(c, "DICT with an odd number of objects");
    ditc_pk_obj *t = new_obj(c, k);
    for (int64_t i = from; i < c->n_stack; i++) add_item(t, c->stack[i]);
    c->n_stack = from;
    push(c, t);
    return 0;
}

// SETITEM(S) / APPEND(S): objects stack[from, n_stack) go into the container below them.
static int fill(pk_ctx *c, int64_t from, int dict, const char *op) {
    int64_t floor = c->n_marks ? c->marks[c->n_marks - 1] : 0;
    if (from <= floor || from > c->n_stack) return perr(c, "%s without a container", op);
    ditc_pk_obj *o = c->stack[from - 1];
    if (dict) {
        if (o->kind != DITC_PK_DICT) return perr(c, "%s on a %s", op, ditc_pk_kind_name(o->kind));
        if ((c->n_stack - from) % 2) return perr(c, "%s with an odd number of objects", op);
    } else if (o->kind != DITC_PK_LIST) return perr(c, "%s on a %s", op, ditc_pk_kind_name(o->kind));
    for (int64_t i = from; i < c->n_stack; i++) add_item(o, c->stack[i]);
    c->n_stack = from;
    return 0;
}

static int op_fill_mark(pk_ctx *c, int dict, const char *op) {
    int64_t from;
    int r = pop_mark(c, &from, op);
    if (r) return r;
    return fill(c, from, dict, op); // the container sits just below the mark
}

// ---- memo -------------------------------------------------------------------------------------------

static int memo_put(pk_ctx *c, uint64_t idx) {
    ditc_pk_obj *o = NULL;
    int r = top(c, &o, "PUT");
    if (r) return r;
    // Python numbers the memo from 0, one index per stored object: an index is below the bytes read so far
    if (idx >= c->pos) return perr(c, "memo index %" PRIu64 " is larger than the pickle so far", idx);
    if ((int64_t)idx >= c->cap_memo) {
        int64_t n = c->cap_memo ? c->cap_memo : 64;
        while (n <= (int64_t)idx) n *= 2;
        if (n > (int64_t)c->pos) n = (int64_t)c->pos;
        c->memo = ditc_xrealloc(c->memo, (size_t)n * sizeof *c->memo);
        memset(c->memo + c->cap_memo, 0, (size_t)(n - c->cap_memo) * sizeof *c->memo);
        c->cap_memo = n;
    }
    if (!c->memo[idx]) c->n_memo++;
    c->memo[idx] = o;
    return 0;
}

static int memo_get(pk_ctx *c, uint64_t idx) {
    if ((int64_t)idx >= c->cap_memo || idx >= c->size || !c->memo[idx])
        return perr(c, "memo index %" PRIu64 " was never stored", idx);
    push(c, c->memo[idx]);
    return 0;
}

// ---- scalars ----------------------------------------------------------------------------------------

static int op_int_bytes(pk_ctx *c, uint64_t n) {
    if (n > 8) return perr(c, "an integer of %" PRIu64 " bytes does not fit in 64 bits", n);
    int r = need(c, (size_t)n, "LONG");
    if (r) return r;
    uint64_t v = n ? rd_le(c->buf + c->pos, (int)n) : 0;
    if (n && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~0ull << (8 * n); // sign-extend
    c->pos += (size_t)n;
    ditc_pk_obj *o = new_obj(c, DITC_PK_INT);
    o->i = (int64_t)v;
    push(c, o);
    return 0;
}

static int op_text(pk_ctx *c, int len_bytes, ditc_pk_kind k) {
    int r = need(c, (size_t)len_bytes, "string length");
    if (r) return r;
    uint64_t n = rd_le(c->buf + c->pos, len_bytes);
    c->pos += (size_t)len_bytes;
    if (n > c->size - c->pos)
        return perr(c, "a %" PRIu64 "-byte string runs past the end of the pickle (truncated?)", n);
    ditc_pk_obj *o = new_obj(c, k);
    o->s = ditc_xmalloc((size_t)n + 1);
    memcpy(o->s, c->buf + c->pos, (size_t)n);
    o->s[n] = '\0';
    o->len = (size_t)n;
    c->pos += (size_t)n;
    push(c, o);
    return 0;
}

static ditc_pk_obj *push_new(pk_ctx *c, ditc_pk_kind k) {
    ditc_pk_obj *o = new_obj(c, k);
    push(c, o);
    return o;
}

// Names of the opcodes this reader refuses, for the message.
static const char *refused_name(unsigned char op) {
    switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 'P': return "PERSID";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x92: return "NEWOBJ_EX";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'F': return "FLOAT";
    case 'g': return "GET";
    case 'p': return "PUT";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return NULL;
    }
}

// ---- the loop ----------------------------------------------------------------------------------------

static int step(pk_ctx *c, int *done) {
    c->op_pos = c->pos;
    unsigned char op = c->buf[c->pos++];
    int r;
    double d;
    uint64_t u;
    switch (op) {
    case 0x80: // PROTO
        if ((r = need(c, 1, "PROTO"))) return r;
        if (c->buf[c->pos] > 5) return perr(c, "pickle protocol %d is not supported", c->buf[c->pos]);
        c->pos++;
        return 0;
    case 0x95: // FRAME
        if ((r = need(c, 8, "FRAME"))) return r;
        c->pos += 8;
        return 0;
    case '.': { // STOP
        ditc_pk_obj *o = NULL;
        if ((r = pop(c, &o, "STOP"))) return r;
        c->p->root = o;
        *done = 1;
        return 0;
    }
    case '(': // MARK
        if (c->n_marks == c->cap_marks) {
            c->cap_marks = c->cap_marks ? c->cap_marks * 2 : 16;
            c->marks = ditc_xrealloc(c->marks, (size_t)c->cap_marks * sizeof *c->marks);
        }
        c->marks[c->n_marks++] = c->n_stack;
        return 0;
    case '0': { // POP
        ditc_pk_obj *o = NULL;
        return pop(c, &o, "POP");
    }
    case '1': { // POP_MARK
        int64_t from;
        if ((r = pop_mark(c, &from, "POP_MARK"))) return r;
        c->n_stack = from;
        return 0;
    }
    case '2': { // DUP
        ditc_pk_obj *o = NULL;
        if ((r = top(c, &o, "DUP"))) return r;
        push(c, o);
        return 0;
    }
    case 'N': push_new(c, DITC_PK_NONE); return 0;
    case 0x88: push_new(c, DITC_PK_BOOL)->i = 1; return 0;
    case 0x89: push_new(c, DITC_PK_BOOL)->i = 0; return 0;
    case 'J': // BININT
        if ((r = need(c, 4, "BININT"))) return r;
        push_new(c, DITC_PK_INT)->i = (int32_t)(uint32_t)rd_le(c->buf + c->pos, 4);
        c->pos += 4;
        return 0;
    case 'K': // BININT1
        if ((r = need(c, 1, "BININT1"))) return r;
        push_new(c, DITC_PK_INT)->i = c->buf[c->pos++];
        return 0;
    case 'M': // BININT2
        if ((r = need(c, 2, "BININT2"))) return r;
        push_new(c, DITC_PK_INT)->i = (int64_t)rd_le(c->buf + c->pos, 2);
        c->pos += 2;
        return 0;
    case 0x8a: // LONG1
        if ((r = need(c, 1, "LONG1"))) return r;
        return op_int_bytes(c, c->buf[c->pos++]);
    case 0x8b: // LONG4
        if ((r = need(c, 4, "LONG4"))) return r;
        u = rd_le(c->buf + c->pos, 4);
        c->pos += 4;
        return op_int_bytes(c, u);
    case 'G': // BINFLOAT (big-endian)
        if ((r = need(c, 8, "BINFLOAT"))) return r;
        u = 0;
        for (int i = 0; i < 8; i++) u = u << 8 | c->buf[c->pos + (size_t)i];
        memcpy(&d, &u, 8);
        push_new(c, DITC_PK_FLOAT)->f = d;
        c->pos += 8;
        return 0;
    case 'X': return op_text(c, 4, DITC_PK_STR);    // BINUNICODE
    case 0x8c: return op_text(c, 1, DITC_PK_STR);   // SHORT_BINUNICODE
    case 0x8d: return op_text(c, 8, DITC_PK_STR);   // BINUNICODE8
    case 'B': return op_text(c, 4, DITC_PK_BYTES);  // BINBYTES
    case 'C': return op_text(c, 1, DITC_PK_BYTES);  // SHORT_BINBYTES
    case 0x8e: return op_text(c, 8, DITC_PK_BYTES); // BINBYTES8
    case ')': push_new(c, DITC_PK_TUPLE); return 0; // EMPTY_TUPLE
    case 't': return op_from_mark(c, DITC_PK_TUPLE, "TUPLE");
    case 0x85: return op_tuple_n(c, 1);
    case 0x86: return op_tuple_n(c, 2);
    case 0x87: return op_tuple_n(c, 3);
    case ']': push_new(c, DITC_PK_LIST); return 0; // EMPTY_LIST
    case 'l': return op_from_mark(c, DITC_PK_LIST, "LIST");
    case '}': push_new(c, DITC_PK_DICT); return 0; // EMPTY_DICT
    case 'd': return op_from_mark(c, DITC_PK_DICT, "DICT");
    case 'a': return fill(c, c->n_stack - 1, 0, "APPEND");
    case 'e': return op_fill_mark(c, 0, "APPENDS");
    case 's': return fill(c, c->n_stack - 2, 1, "SETITEM");
    case 'u': return op_fill_mark(c, 1, "SETITEMS");
    case 'q': // BINPUT
        if ((r = need(c, 1, "BINPUT"))) return r;
        return memo_put(c, c->buf[c->pos++]);
    case 'r': // LONG_BINPUT
        if ((r = need(c, 4, "LONG_BINPUT"))) return r;
        c->pos += 4;
        return memo_put(c, rd_le(c->buf + c->pos - 4, 4));
    case 0x94: return memo_put(c, (uint64_t)c->n_memo); // MEMOIZE
    case 'h':                                           // BINGET
        if ((r = need(c, 1, "BINGET"))) return r;
        return memo_get(c, c->buf[c->pos++]);
    case 'j': // LONG_BINGET
        if ((r = need(c, 4, "LONG_BINGET"))) return r;
        c->pos += 4;
        return memo_get(c, rd_le(c->buf + c->pos - 4, 4));
    case 'c': return op_global(c);
    case 0x93: return op_stack_global(c);
    case 'R': return op_reduce(c);
    case 0x81: return op_newobj(c);
    case 'b': return op_build(c);
    case 'Q': return op_persid(c);
    default: {
        const char *nm = refused_name(op);
        if (nm) return perr(c, "pickle opcode %s (0x%02x) is not supported in a torch.save file", nm, op);
        return perr(c, "unknown pickle opcode 0x%02x", op);
    }
    }
}

int ditc_pickle_load_next(ditc_pickle *p, const unsigned char *buf, size_t size, int legacy, size_t *used,
                          const char *label, ditc_status *s) {
    DITC_CHECK(p != NULL && (buf != NULL || size == 0), "ditc_pickle_load: bad arguments");
    memset(p, 0, sizeof *p);
    ditc_status_ok(s);
    pk_ctx c = {.p = p, .buf = buf, .size = size, .label = label ? label : "<pickle>", .s = s, .legacy = !!legacy};
    int done = 0, r = 0;
    while (!r && !done) {
        if (c.pos >= c.size) {
            c.op_pos = c.pos;
            r = perr(&c, "the pickle ends without STOP (truncated?)");
        } else r = step(&c, &done);
    }
    free(c.stack);
    free(c.marks);
    free(c.memo);
    if (r) ditc_pickle_free(p);
    if (used) *used = r ? 0 : c.pos;
    return r;
}

int ditc_pickle_load(ditc_pickle *p, const unsigned char *buf, size_t size, const char *label, ditc_status *s) {
    return ditc_pickle_load_next(p, buf, size, 0, NULL, label, s);
}

void ditc_pickle_free(ditc_pickle *p) {
    if (!p) return;
    for (int64_t i = 0; i < p->n_all; i++) {
        free(p->all[i]->s);
        free(p->all[i]->items);
        free(p->all[i]);
    }
    free(p->all);
    memset(p, 0, sizeof *p);
}

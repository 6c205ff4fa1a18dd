// inception_net.c — the FID Inception graph (inception_net.h): loading (validate every tensor, fold BatchNorm into
// the convolution) and the forward pass, block by block as pytorch-fid's InceptionV3 runs them. Each BasicConv2d
// is conv (no bias) + BN(eps 0.001, eval) + ReLU = one convolution with folded weights and bias, then ReLU.
// Activations are heap tensors freed as soon as consumed: the peak is a few (B, C, H, W) maps of the stem.
#include "inception_net.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "inception_ops.h"
#include "safetensors.h"
#include "vae_ops.h"
#include "weights_file.h"

typedef struct {
    ditc_tensor *w, *b; // folded: w (O, C, kh, kw), b (O)
    int cin, cout, kh, kw, stride, ph, pw;
} conv_unit;

typedef struct { // FIDInceptionA (Mixed_5b/c/d), 35×35
    conv_unit b1, b5_1, b5_2, d1, d2, d3, pool;
    int cout;
} block_a;
typedef struct { // InceptionB (Mixed_6a), 35 → 17
    conv_unit b3, d1, d2, d3;
    int cout;
} block_b;
typedef struct { // FIDInceptionC (Mixed_6b/c/d/e), 17×17
    conv_unit b1, s1, s2, s3, d1, d2, d3, d4, d5, pool;
    int cout;
} block_c;
typedef struct { // InceptionD (Mixed_7a), 17 → 8
    conv_unit b3_1, b3_2, s1, s2, s3, s4;
    int cout;
} block_d;
typedef struct { // FIDInceptionE_1 (Mixed_7b, average pool) / FIDInceptionE_2 (Mixed_7c, max pool), 8×8
    conv_unit b1, b3_1, b3_2a, b3_2b, d1, d2, d3a, d3b, pool;
    int cout, max_pool;
} block_e;

struct ditc_inception {
    ditc_backend *be;
    conv_unit c1a, c2a, c2b, c3b, c4a; // the stem
    block_a m5b, m5c, m5d;
    block_b m6a;
    block_c m6b, m6c, m6d, m6e;
    block_d m7a;
    block_e m7b, m7c;
    int64_t params;
};

// ---- loading ----------------------------------------------------------------------------------------------
typedef struct {
    ditc_safetensors st;
    unsigned char *used; // per tensor of the file
    ditc_backend *be;
    ditc_status *s;
    int err;
    int64_t params;
} loader;

static const ditc_st_tensor *get(loader *L, const char *name, int ndim, const int64_t *shape, const char *want) {
    if (L->err) return NULL;
    const ditc_st_tensor *t = ditc_st_find(&L->st, name);
    if (!t) {
        L->err = ditc_fail(L->s, DITC_ERR_FORMAT, "%s: tensor '%s' is missing (an Inception3 state_dict is expected)",
                           L->st.label, name);
        return NULL;
    }
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = shape[i] < 0 ? t->shape[i] >= 1 : t->shape[i] == shape[i];
    if (!ok) {
        char got[128] = "", *p = got;
        for (int i = 0; i < t->ndim; i++)
            p += snprintf(p, (size_t)(got + sizeof got - p), "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        L->err = ditc_fail(L->s, DITC_ERR_FORMAT, "%s: tensor '%s' has shape [%s], expected %s", L->st.label, name, got,
                           want);
        return NULL;
    }
    if (t->dtype != DITC_F32 && t->dtype != DITC_F16 && t->dtype != DITC_BF16) {
        L->err = ditc_fail(L->s, DITC_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected F32, F16 or BF16",
                           L->st.label, name, ditc_dtype_name(t->dtype));
        return NULL;
    }
    L->used[t - L->st.tensors] = 1;
    return t;
}

static float *read_f32(loader *L, const ditc_st_tensor *t) {
    float *v = ditc_xmalloc((size_t)ditc_st_numel(t) * sizeof(float));
    if (!L->err && ditc_st_read_f32(&L->st, t, v, L->s)) L->err = L->s->code;
    return v;
}

// prefix.conv.weight (O, cin, kh, kw) + prefix.bn.* (O) → u with BN folded (in double, rounded once).
static void load_conv(loader *L, conv_unit *u, const char *prefix, int cin, int kh, int kw, int stride, int ph,
                      int pw) {
    memset(u, 0, sizeof *u);
    u->cin = cin, u->kh = kh, u->kw = kw, u->stride = stride, u->ph = ph, u->pw = pw;
    if (L->err) return;
    char name[DITC_NAME_MAX], want[96];
    snprintf(name, sizeof name, "%s.conv.weight", prefix);
    snprintf(want, sizeof want, "[out, %d, %d, %d]", cin, kh, kw);
    const int64_t ws[4] = {-1, cin, kh, kw};
    const ditc_st_tensor *tw = get(L, name, 4, ws, want);
    if (!tw) return;
    int64_t O = tw->shape[0], K = (int64_t)cin * kh * kw;
    const char *bn_names[4] = {"weight", "bias", "running_mean", "running_var"};
    const ditc_st_tensor *tb[4];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s.bn.%s", prefix, bn_names[i]);
        snprintf(want, sizeof want, "[%lld] (the conv's output channels)", (long long)O);
        const int64_t bs[1] = {O};
        if (!(tb[i] = get(L, name, 1, bs, want))) return;
    }
    float *w = read_f32(L, tw), *g = read_f32(L, tb[0]), *beta = read_f32(L, tb[1]), *mean = read_f32(L, tb[2]),
          *var = read_f32(L, tb[3]);
    float *bias = ditc_xmalloc((size_t)O * sizeof(float));
    for (int64_t o = 0; o < O && !L->err; o++) {
        double a = (double)g[o] / sqrt((double)var[o] + 0.001);
        for (int64_t k = 0; k < K; k++) w[o * K + k] = (float)((double)w[o * K + k] * a);
        bias[o] = (float)((double)beta[o] - (double)mean[o] * a);
    }
    if (!L->err) {
        int64_t s4[4] = {O, cin, kh, kw}, s1[1] = {O};
        u->w = ditc_vt_new(L->be, 4, s4);
        u->b = ditc_vt_new(L->be, 1, s1);
        L->be->copy_h2d(L->be, u->w->data, w, (size_t)(O * K) * sizeof(float));
        L->be->copy_h2d(L->be, u->b->data, bias, (size_t)O * sizeof(float));
        u->cout = (int)O;
        L->params += O * K + 4 * O;
    }
    free(w), free(g), free(beta), free(mean), free(var), free(bias);
}

static void cat(char *dst, size_t cap, const char *block, const char *branch) {
    snprintf(dst, cap, "%s.%s", block, branch);
}

#define LOAD(u, branch, cin, kh, kw, s, ph, pw)                                                                        \
    do {                                                                                                               \
        cat(n, sizeof n, name, branch);                                                                                \
        load_conv(L, u, n, cin, kh, kw, s, ph, pw);                                                                    \
    } while (0)

static int load_a(loader *L, block_a *m, const char *name, int cin) {
    char n[DITC_NAME_MAX];
    LOAD(&m->b1, "branch1x1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->b5_1, "branch5x5_1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->b5_2, "branch5x5_2", m->b5_1.cout, 5, 5, 1, 2, 2);
    LOAD(&m->d1, "branch3x3dbl_1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->d2, "branch3x3dbl_2", m->d1.cout, 3, 3, 1, 1, 1);
    LOAD(&m->d3, "branch3x3dbl_3", m->d2.cout, 3, 3, 1, 1, 1);
    LOAD(&m->pool, "branch_pool", cin, 1, 1, 1, 0, 0);
    return m->cout = m->b1.cout + m->b5_2.cout + m->d3.cout + m->pool.cout;
}

static int load_b(loader *L, block_b *m, const char *name, int cin) {
    char n[DITC_NAME_MAX];
    LOAD(&m->b3, "branch3x3", cin, 3, 3, 2, 0, 0);
    LOAD(&m->d1, "branch3x3dbl_1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->d2, "branch3x3dbl_2", m->d1.cout, 3, 3, 1, 1, 1);
    LOAD(&m->d3, "branch3x3dbl_3", m->d2.cout, 3, 3, 2, 0, 0);
    return m->cout = m->b3.cout + m->d3.cout + cin;
}

static int load_c(loader *L, block_c *m, const char *name, int cin) {
    char n[DITC_NAME_MAX];
    LOAD(&m->b1, "branch1x1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->s1, "branch7x7_1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->s2, "branch7x7_2", m->s1.cout, 1, 7, 1, 0, 3);
    LOAD(&m->s3, "branch7x7_3", m->s2.cout, 7, 1, 1, 3, 0);
    LOAD(&m->d1, "branch7x7dbl_1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->d2, "branch7x7dbl_2", m->d1.cout, 7, 1, 1, 3, 0);
    LOAD(&m->d3, "branch7x7dbl_3", m->d2.cout, 1, 7, 1, 0, 3);
    LOAD(&m->d4, "branch7x7dbl_4", m->d3.cout, 7, 1, 1, 3, 0);
    LOAD(&m->d5, "branch7x7dbl_5", m->d4.cout, 1, 7, 1, 0, 3);
    LOAD(&m->pool, "branch_pool", cin, 1, 1, 1, 0, 0);
    return m->cout = m->b1.cout + m->s3.cout + m->d5.cout + m->pool.cout;
}

static int load_d(loader *L, block_d *m, const char *name, int cin) {
    char n[DITC_NAME_MAX];
    LOAD(&m->b3_1, "branch3x3_1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->b3_2, "branch3x3_2", m->b3_1.cout, 3, 3, 2, 0, 0);
    LOAD(&m->s1, "branch7x7x3_1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->s2, "branch7x7x3_2", m->s1.cout, 1, 7, 1, 0, 3);
    LOAD(&m->s3, "branch7x7x3_3", m->s2.cout, 7, 1, 1, 3, 0);
    LOAD(&m->s4, "branch7x7x3_4", m->s3.cout, 3, 3, 2, 0, 0);
    return m->cout = m->b3_2.cout + m->s4.cout + cin;
}

static int load_e(loader *L, block_e *m, const char *name, int cin, int max_pool) {
    char n[DITC_NAME_MAX];
    m->max_pool = max_pool;
    LOAD(&m->b1, "branch1x1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->b3_1, "branch3x3_1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->b3_2a, "branch3x3_2a", m->b3_1.cout, 1, 3, 1, 0, 1);
    LOAD(&m->b3_2b, "branch3x3_2b", m->b3_1.cout, 3, 1, 1, 1, 0);
    LOAD(&m->d1, "branch3x3dbl_1", cin, 1, 1, 1, 0, 0);
    LOAD(&m->d2, "branch3x3dbl_2", m->d1.cout, 3, 3, 1, 1, 1);
    LOAD(&m->d3a, "branch3x3dbl_3a", m->d2.cout, 1, 3, 1, 0, 1);
    LOAD(&m->d3b, "branch3x3dbl_3b", m->d2.cout, 3, 1, 1, 1, 0);
    LOAD(&m->pool, "branch_pool", cin, 1, 1, 1, 0, 0);
    return m->cout = m->b1.cout + m->b3_2a.cout + m->b3_2b.cout + m->d3a.cout + m->d3b.cout + m->pool.cout;
}
#undef LOAD

// Tensors of the file the graph does not use but an Inception3 state_dict has.
static int ignorable(const char *name) {
    size_t n = strlen(name);
    const char *nbt = ".num_batches_tracked";
    return !strncmp(name, "fc.", 3) || !strncmp(name, "AuxLogits.", 10) ||
           (n > strlen(nbt) && !strcmp(name + n - strlen(nbt), nbt));
}

static void free_unit(conv_unit *u) { ditc_vt_free(u->w), ditc_vt_free(u->b); }

void ditc_inception_free(ditc_inception *m) {
    if (!m) return;
    // every conv_unit of the struct, in declaration order (the blocks hold only conv_units and ints)
    conv_unit *stem[] = {&m->c1a, &m->c2a, &m->c2b, &m->c3b, &m->c4a};
    for (int i = 0; i < 5; i++) free_unit(stem[i]);
    block_a *a[] = {&m->m5b, &m->m5c, &m->m5d};
    for (int i = 0; i < 3; i++)
        free_unit(&a[i]->b1), free_unit(&a[i]->b5_1), free_unit(&a[i]->b5_2), free_unit(&a[i]->d1),
            free_unit(&a[i]->d2), free_unit(&a[i]->d3), free_unit(&a[i]->pool);
    free_unit(&m->m6a.b3), free_unit(&m->m6a.d1), free_unit(&m->m6a.d2), free_unit(&m->m6a.d3);
    block_c *c[] = {&m->m6b, &m->m6c, &m->m6d, &m->m6e};
    for (int i = 0; i < 4; i++) {
        conv_unit *u[] = {&c[i]->b1, &c[i]->s1, &c[i]->s2, &c[i]->s3, &c[i]->d1,
                          &c[i]->d2, &c[i]->d3, &c[i]->d4, &c[i]->d5, &c[i]->pool};
        for (int j = 0; j < 10; j++) free_unit(u[j]);
    }
    block_d *d = &m->m7a;
    free_unit(&d->b3_1), free_unit(&d->b3_2), free_unit(&d->s1), free_unit(&d->s2), free_unit(&d->s3),
        free_unit(&d->s4);
    block_e *e[] = {&m->m7b, &m->m7c};
    for (int i = 0; i < 2; i++) {
        conv_unit *u[] = {&e[i]->b1, &e[i]->b3_1, &e[i]->b3_2a, &e[i]->b3_2b, &e[i]->d1,
                          &e[i]->d2, &e[i]->d3a,  &e[i]->d3b,   &e[i]->pool};
        for (int j = 0; j < 9; j++) free_unit(u[j]);
    }
    free(m);
}

ditc_inception *ditc_inception_load(ditc_backend *be, const char *path, ditc_status *st) {
    if (!ditc_inception_ops_supported(be)) {
        ditc_fail(st, DITC_ERR_UNSUPPORTED,
                  "--device: the %s backend lacks the FID Inception's kernels (conv2d_fwd, relu_fwd, pool2d_fwd, "
                  "resize_bilinear_fwd); use --device cpu",
                  be->name);
        return NULL;
    }
    loader L = {.be = be, .s = st};
    if (ditc_weights_open(&L.st, path, NULL, st)) return NULL; // .safetensors or a .pt/.pth (zip or legacy)
    L.used = ditc_xcalloc((size_t)L.st.n_tensors + 1, 1);
    ditc_inception *m = ditc_xcalloc(1, sizeof *m);
    m->be = be;
    load_conv(&L, &m->c1a, "Conv2d_1a_3x3", 3, 3, 3, 2, 0, 0);
    load_conv(&L, &m->c2a, "Conv2d_2a_3x3", m->c1a.cout, 3, 3, 1, 0, 0);
    load_conv(&L, &m->c2b, "Conv2d_2b_3x3", m->c2a.cout, 3, 3, 1, 1, 1);
    load_conv(&L, &m->c3b, "Conv2d_3b_1x1", m->c2b.cout, 1, 1, 1, 0, 0);
    load_conv(&L, &m->c4a, "Conv2d_4a_3x3", m->c3b.cout, 3, 3, 1, 0, 0);
    int c = m->c4a.cout;
    c = load_a(&L, &m->m5b, "Mixed_5b", c);
    c = load_a(&L, &m->m5c, "Mixed_5c", c);
    c = load_a(&L, &m->m5d, "Mixed_5d", c);
    c = load_b(&L, &m->m6a, "Mixed_6a", c);
    c = load_c(&L, &m->m6b, "Mixed_6b", c);
    c = load_c(&L, &m->m6c, "Mixed_6c", c);
    c = load_c(&L, &m->m6d, "Mixed_6d", c);
    c = load_c(&L, &m->m6e, "Mixed_6e", c);
    c = load_d(&L, &m->m7a, "Mixed_7a", c);
    c = load_e(&L, &m->m7b, "Mixed_7b", c, 0);
    load_e(&L, &m->m7c, "Mixed_7c", c, 1);
    for (int i = 0; i < L.st.n_tensors && !L.err; i++)
        if (!L.used[i] && !ignorable(L.st.tensors[i].name))
            L.err = ditc_fail(st, DITC_ERR_FORMAT, "%s: unexpected tensor '%s' (not part of the FID Inception)", path,
                              L.st.tensors[i].name);
    m->params = L.params;
    free(L.used);
    ditc_st_close(&L.st);
    if (L.err) {
        ditc_inception_free(m);
        return NULL;
    }
    return m;
}

int ditc_inception_dim(const ditc_inception *m) { return m->m7c.cout; }
int64_t ditc_inception_params(const ditc_inception *m) { return m->params; }

// ---- forward ------------------------------------------------------------------------------------------------
// conv + folded BN + ReLU; x is kept
static ditc_tensor *conv(ditc_inception *m, const conv_unit *u, const ditc_tensor *x) {
    ditc_tensor *y = ditc_conv2d(m->be, x, u->w, u->b, u->stride, u->ph, u->pw, u->ph, u->pw);
    ditc_relu_inplace(m->be, y);
    return y;
}
// the same, freeing x
static ditc_tensor *conv_f(ditc_inception *m, const conv_unit *u, ditc_tensor *x) {
    ditc_tensor *y = conv(m, u, x);
    ditc_vt_free(x);
    return y;
}
// channels [*c0, *c0 + C_t) of y = t; frees t
static void put(ditc_inception *m, ditc_tensor *y, int64_t *c0, ditc_tensor *t) {
    ditc_concat_into(m->be, y, *c0, t);
    *c0 += t->shape[1];
    ditc_vt_free(t);
}
static ditc_tensor *out_like(ditc_inception *m, const ditc_tensor *x, int64_t C, int64_t H, int64_t W) {
    int64_t s[4] = {x->shape[0], C, H, W};
    return ditc_vt_new(m->be, 4, s);
}

// (B, cin, 35, 35) → (B, 64 + 64 + 96 + pool_features, 35, 35)
static ditc_tensor *fwd_a(ditc_inception *m, const block_a *b, const ditc_tensor *x) {
    ditc_tensor *y = out_like(m, x, b->cout, x->shape[2], x->shape[3]);
    int64_t c0 = 0;
    put(m, y, &c0, conv(m, &b->b1, x));
    put(m, y, &c0, conv_f(m, &b->b5_2, conv(m, &b->b5_1, x)));
    put(m, y, &c0, conv_f(m, &b->d3, conv_f(m, &b->d2, conv(m, &b->d1, x))));
    put(m, y, &c0, conv_f(m, &b->pool, ditc_pool2d(m->be, x, 3, 1, 1, 1)));
    return y;
}

// (B, 288, 35, 35) → (B, 384 + 96 + 288, 17, 17)
static ditc_tensor *fwd_b(ditc_inception *m, const block_b *b, const ditc_tensor *x) {
    int64_t H = (x->shape[2] - 3) / 2 + 1, W = (x->shape[3] - 3) / 2 + 1;
    ditc_tensor *y = out_like(m, x, b->cout, H, W);
    int64_t c0 = 0;
    put(m, y, &c0, conv(m, &b->b3, x));
    put(m, y, &c0, conv_f(m, &b->d3, conv_f(m, &b->d2, conv(m, &b->d1, x))));
    put(m, y, &c0, ditc_pool2d(m->be, x, 3, 2, 0, 0));
    return y;
}

// (B, 768, 17, 17) → (B, 192·4, 17, 17)
static ditc_tensor *fwd_c(ditc_inception *m, const block_c *b, const ditc_tensor *x) {
    ditc_tensor *y = out_like(m, x, b->cout, x->shape[2], x->shape[3]);
    int64_t c0 = 0;
    put(m, y, &c0, conv(m, &b->b1, x));
    put(m, y, &c0, conv_f(m, &b->s3, conv_f(m, &b->s2, conv(m, &b->s1, x))));
    ditc_tensor *t = conv_f(m, &b->d3, conv_f(m, &b->d2, conv(m, &b->d1, x)));
    put(m, y, &c0, conv_f(m, &b->d5, conv_f(m, &b->d4, t)));
    put(m, y, &c0, conv_f(m, &b->pool, ditc_pool2d(m->be, x, 3, 1, 1, 1)));
    return y;
}

// (B, 768, 17, 17) → (B, 320 + 192 + 768, 8, 8)
static ditc_tensor *fwd_d(ditc_inception *m, const block_d *b, const ditc_tensor *x) {
    int64_t H = (x->shape[2] - 3) / 2 + 1, W = (x->shape[3] - 3) / 2 + 1;
    ditc_tensor *y = out_like(m, x, b->cout, H, W);
    int64_t c0 = 0;
    put(m, y, &c0, conv_f(m, &b->b3_2, conv(m, &b->b3_1, x)));
    ditc_tensor *t = conv_f(m, &b->s2, conv(m, &b->s1, x));
    put(m, y, &c0, conv_f(m, &b->s4, conv_f(m, &b->s3, t)));
    put(m, y, &c0, ditc_pool2d(m->be, x, 3, 2, 0, 0));
    return y;
}

// (B, cin, 8, 8) → (B, 320 + 384·2 + 384·2 + 192, 8, 8)
static ditc_tensor *fwd_e(ditc_inception *m, const block_e *b, const ditc_tensor *x) {
    ditc_tensor *y = out_like(m, x, b->cout, x->shape[2], x->shape[3]);
    int64_t c0 = 0;
    put(m, y, &c0, conv(m, &b->b1, x));
    ditc_tensor *t = conv(m, &b->b3_1, x);
    put(m, y, &c0, conv(m, &b->b3_2a, t));
    put(m, y, &c0, conv_f(m, &b->b3_2b, t));
    t = conv_f(m, &b->d2, conv(m, &b->d1, x));
    put(m, y, &c0, conv(m, &b->d3a, t));
    put(m, y, &c0, conv_f(m, &b->d3b, t));
    put(m, y, &c0, conv_f(m, &b->pool, ditc_pool2d(m->be, x, 3, 1, 1, !b->max_pool)));
    return y;
}

ditc_tensor *ditc_inception_input(ditc_inception *m, int64_t B) {
    int64_t s[4] = {B, 3, DITC_INCEPTION_SIDE, DITC_INCEPTION_SIDE};
    return ditc_vt_new(m->be, 4, s);
}

void ditc_inception_put(ditc_inception *m, ditc_tensor *in, int64_t b, const ditc_tensor *img) {
    ditc_resize_bilinear_into(m->be, in, b, img, 2.0f, -1.0f); // F.interpolate(299), then 2x − 1
}

void ditc_inception_forward(ditc_inception *m, const ditc_tensor *in, float *feats) {
    ditc_backend *be = m->be;
    ditc_tensor *x = conv(m, &m->c1a, in);           // (B, 32, 149, 149)
    x = conv_f(m, &m->c2a, x);                       // (B, 32, 147, 147)
    x = conv_f(m, &m->c2b, x);                       // (B, 64, 147, 147)
    ditc_tensor *p = ditc_pool2d(be, x, 3, 2, 0, 0); // (B, 64, 73, 73)
    ditc_vt_free(x);
    x = conv_f(m, &m->c3b, p);          // (B, 80, 73, 73)
    x = conv_f(m, &m->c4a, x);          // (B, 192, 71, 71)
    p = ditc_pool2d(be, x, 3, 2, 0, 0); // (B, 192, 35, 35)
    ditc_vt_free(x);
    x = p;
    const block_a *A[3] = {&m->m5b, &m->m5c, &m->m5d}; // → (B, 256), (B, 288), (B, 288, 35, 35)
    for (int i = 0; i < 3; i++) p = fwd_a(m, A[i], x), ditc_vt_free(x), x = p;
    p = fwd_b(m, &m->m6a, x), ditc_vt_free(x), x = p; // (B, 768, 17, 17)
    const block_c *C[4] = {&m->m6b, &m->m6c, &m->m6d, &m->m6e};
    for (int i = 0; i < 4; i++) p = fwd_c(m, C[i], x), ditc_vt_free(x), x = p;
    p = fwd_d(m, &m->m7a, x), ditc_vt_free(x), x = p; // (B, 1280, 8, 8)
    p = fwd_e(m, &m->m7b, x), ditc_vt_free(x), x = p; // (B, 2048, 8, 8)
    p = fwd_e(m, &m->m7c, x), ditc_vt_free(x), x = p; // (B, 2048, 8, 8)
    ditc_tensor *f = ditc_global_avg_pool(be, x);     // (B, 2048)
    ditc_vt_free(x);
    be->copy_d2h(be, feats, f->data, ditc_nbytes(f));
    ditc_vt_free(f);
}

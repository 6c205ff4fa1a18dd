// ops_linear.c — linear (x·Wᵀ + b) and batched matmul, both on the backend GEMM.
//
// At bf16 precision the GEMMs would round every F32 operand to bf16 on each call. The linear reads its weight's
// copy kept for the training pass (w->bf16: rounded once per step, or written by the optimizer, params.h), else
// rounds it once per forward; the copy serves the backward's dx GEMM too. dy is rounded once for the two backward
// GEMMs that read it (the same bf16 values, so the same results). An input x that its producer wrote as BF16
// (ditc_operand_dtype) is read as it is, in the forward and for dW. The GEMM epilogues (backend.h) add the bias,
// GELU (ditc_linear_gelu_to) and the bias gradient (of a bf16 dy) without passes of their own.
#include <string.h>

#include "ops_internal.h"

// The GEMM with its optional epilogues (backend.h): bias, GELU with the pre-activation into gelu_aux, bias_grad.
typedef struct {
    const ditc_tensor *bias;
    ditc_tensor *gelu_aux, *bias_grad;
    const ditc_tensor *dgelu_aux;
} epilogue;

static void gemm_epi(ditc_ctx *c, int ta, int tb, int64_t m, int64_t n, int64_t k, int64_t batch, const ditc_tensor *A,
                     int64_t lda, int64_t sa, const ditc_tensor *B, int64_t ldb, int64_t sb, ditc_tensor *C,
                     int64_t ldc, int64_t sc, float beta, epilogue e) {
    ditc_gemm g = {.trans_a = ta,
                   .trans_b = tb,
                   .m = m,
                   .n = n,
                   .k = k,
                   .batch = batch,
                   .alpha = 1.0f,
                   .beta = beta,
                   .a = A->data,
                   .lda = lda,
                   .stride_a = sa,
                   .a_dtype = A->dtype,
                   .b = B->data,
                   .ldb = ldb,
                   .stride_b = sb,
                   .b_dtype = B->dtype,
                   .c = C->data,
                   .ldc = ldc,
                   .stride_c = sc,
                   .c_dtype = C->dtype,
                   .bias = e.bias ? (const float *)e.bias->data : NULL,
                   .gelu_aux = e.gelu_aux ? e.gelu_aux->data : NULL,
                   .bias_grad = e.bias_grad ? (float *)e.bias_grad->data : NULL,
                   .dgelu_aux = e.dgelu_aux ? e.dgelu_aux->data : NULL};
    BE->gemm(BE, &g);
}

static void gemm(ditc_ctx *c, int ta, int tb, int64_t m, int64_t n, int64_t k, int64_t batch, const ditc_tensor *A,
                 int64_t lda, int64_t sa, const ditc_tensor *B, int64_t ldb, int64_t sb, ditc_tensor *C, int64_t ldc,
                 int64_t sc, float beta) {
    gemm_epi(c, ta, tb, m, n, k, batch, A, lda, sa, B, ldb, sb, C, ldc, sc, beta, (epilogue){0});
}

ditc_dtype ditc_operand_dtype(const ditc_ctx *c) {
    static int off = -1; // DITC_BF16_OPERANDS=0: every op writes F32 (the results are the same)
    return c->be->precision == DITC_PREC_BF16 && !ditc_env_off("DITC_BF16_OPERANDS", &off) ? DITC_BF16 : DITC_F32;
}

ditc_dtype ditc_activation_dtype(const ditc_ctx *c) {
    static int off = -1; // DITC_BF16_ACTIVATIONS=0: F32
    return ditc_env_off("DITC_BF16_ACTIVATIONS", &off) ? DITC_F32 : ditc_operand_dtype(c);
}

ditc_tensor *ditc_bf16_grad(ditc_ctx *c, ditc_tensor *t) {
    static int off = -1; // DITC_BF16_GRADS=0: F32 output gradients
    if (!ditc_env_off("DITC_BF16_GRADS", &off) && ditc_operand_dtype(c) == DITC_BF16) t->grad_dtype = DITC_BF16;
    return t;
}

// t rounded to bf16 (a new tensor of the step), the GEMM operand at bf16 precision.
static ditc_tensor *bf16_copy(ditc_ctx *c, const ditc_tensor *t) {
    ditc_tensor *h = ditc_new(c, DITC_BF16, t->ndim, t->shape);
    BE->cast(BE, h, t);
    return h;
}

// x (M, K) rows, w (N, K) — or (N, ...) read as (N, numel/N), e.g. a conv kernel — b (N) → y (M, N)
ditc_tensor *ditc_linear(ditc_ctx *c, ditc_tensor *x, ditc_tensor *w, ditc_tensor *b) {
    return ditc_linear_to(c, x, w, b, DITC_F32);
}

// DITC_GELU_RECOMPUTE=1: the MLP's GELU output is not kept for the backward (ditc_gelu_drop)
static int gelu_recompute(void) {
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("DITC_GELU_RECOMPUTE");
        on = e && !strcmp(e, "1");
    }
    return on;
}

// Whether a GELU output made now in c's current arena may be dropped after its reader (ditc_gelu_drop): the
// recorded top-level pass (a checkpointed segment's re-run lives in the scratch arena, reset after it).
static int gelu_droppable(const ditc_ctx *c) { return gelu_recompute() && c->cur == &c->arena && !c->in_checkpoint; }

void ditc_gelu_drop(ditc_ctx *c, ditc_tensor *g) {
    if (!g->gelu_pre || g->gelu_dropped || g->n_readers != 1 || !gelu_droppable(c)) return;
    ditc_arena_release(&c->arena, g->data, ditc_nbytes(g));
    g->data = NULL;
    g->gelu_dropped = 1;
}

// The linear's forward: y (M, N) = x·Wᵀ + b in dtype `out`; with `gelu` (the fused GELU) y is the pre-activation and
// *gelu = GELU(y) in dtype gelu_dt from the same GEMM. Records the linear (and GELU) node.
static ditc_tensor *linear_fwd(ditc_ctx *c, ditc_tensor *x, ditc_tensor *w, ditc_tensor *b, ditc_dtype out,
                               ditc_tensor **gelu, ditc_dtype gelu_dt) {
    DITC_CHECK(w->ndim >= 2, "linear weight %s must be at least 2-D", w->name);
    int64_t K = ditc_last_dim(x), N = w->shape[0], M = ditc_rows(x);
    DITC_CHECK(w->numel == N * K, "linear %s: input width %lld != weight in %lld", w->name, (long long)K,
               (long long)(w->numel / N));
    DITC_CHECK(!b || (b->numel == N && b->dtype == DITC_F32), "linear bias size/dtype");
    DITC_CHECK(x->dtype == DITC_F32 || x->dtype == DITC_BF16, "linear input must be F32 or BF16");
    DITC_CHECK(out == DITC_F32 || out == DITC_BF16, "linear output must be F32 or BF16");
    int64_t shape[DITC_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = N;
    ditc_tensor *y = ditc_new(c, out, x->ndim, shape);
    ditc_tensor *wg = w->bf16 ? w->bf16 // the pass's weight copy (params.h ditc_params_bf16_begin)
                      : BE->precision == DITC_PREC_BF16 && w->dtype == DITC_F32 ? bf16_copy(c, w)
                                                                                : w;
    epilogue e = {.bias = b}; // the bias in the GEMM's epilogue
    ditc_tensor *g = NULL;
    if (gelu) { // the GEMM writes GELU(x·Wᵀ + b) as its result and the pre-activation y as the aux output
        // (a block the previous MLP's dropped GELU output handed back, when this one will be dropped too)
        g = *gelu = gelu_droppable(c) ? ditc_arena_tensor_reuse(c->cur, gelu_dt, x->ndim, shape)
                                      : ditc_new(c, gelu_dt, x->ndim, shape);
        e.gelu_aux = y;
    }
    gemm_epi(c, 0, 1, M, N, K, 1, x, K, 0, wg, K, 0, g ? g : y, N, 0, 0.0f, e);
    ditc_tensor *in[3] = {x, w, b};
    ditc_node *n = ditc_record(c, DITC_OP_LINEAR, 3, in, 1, &y);
    if (n && wg != w) n->saved[0] = wg; // the weight's bf16 copy for the dx GEMM
    if (g) {
        ditc_record(c, DITC_OP_GELU, 1, &y, 1, &g); // GELU's node, as ditc_gelu_to records it
        g->gelu_pre = y;                            // (for the reader's GELU-gradient epilogue: ditc_bwd_linear)
    }
    return y;
}

ditc_tensor *ditc_linear_to(ditc_ctx *c, ditc_tensor *x, ditc_tensor *w, ditc_tensor *b, ditc_dtype out) {
    return linear_fwd(c, x, w, b, out, NULL, DITC_F32);
}

ditc_tensor *ditc_linear_gelu_to(ditc_ctx *c, ditc_tensor *x, ditc_tensor *w, ditc_tensor *b, ditc_dtype pre,
                                 ditc_dtype out) {
    static int off = -1; // DITC_GELU_EPILOGUE=0: the linear, then GELU from its stored output (A/B)
    // The GELU output's gradient is bf16 at bf16 precision (ditc_bf16_grad), as autocast's: the consuming GEMM's dx
    // writes it, GELU's backward reads it (2 bytes, not 4, written and read per element of the (B, T, 4D) hidden).
    if (ditc_env_off("DITC_GELU_EPILOGUE", &off) || pre != out) // (the epilogue writes both in C's dtype)
        return ditc_bf16_grad(c, ditc_gelu_to(c, ditc_bf16_grad(c, ditc_linear_to(c, x, w, b, pre)), out));
    ditc_tensor *g;
    ditc_bf16_grad(c, linear_fwd(c, x, w, b, pre, &g, out));
    return ditc_bf16_grad(c, g);
}

void ditc_bwd_linear(ditc_ctx *c, ditc_node *n) {
    ditc_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *dy = ditc_grad_src(n->out[0]);
    int64_t K = ditc_last_dim(x), N = w->shape[0], M = ditc_rows(x);
    DITC_CHECK(w->numel == N * K, "linear weight shape");
    int acc, acc_w;
    // x = GELU(pre) from the GELU epilogue, read only here: GELU's backward folds into the dx GEMM (DGELU epilogue,
    // backend.h) — pre's gradient written straight, x's never (so GELU's node has nothing to do); the same values at
    // F32, at bf16 the product not rounded before the derivative multiplies it. DITC_DGELU_EPILOGUE=0: the two passes.
    static int dgelu_off = -1;
    ditc_tensor *pre = x->gelu_pre, *dpre = NULL;
    if (!pre || x->n_readers != 1 || !x->requires_grad || x->grad_ready || !pre->requires_grad || pre->grad_ready ||
        pre->dtype != (pre->grad_dtype == DITC_BF16 ? DITC_BF16 : DITC_F32) ||
        ditc_env_off("DITC_DGELU_EPILOGUE", &dgelu_off))
        pre = NULL;
    if (pre) dpre = ditc_grad_dst_any(c, pre, &acc);              // (acc 0: pre's one reader is GELU)
    ditc_tensor *dx = pre ? NULL : ditc_grad_dst_any(c, x, &acc); // BF16 where x's consumer asked (ditc_bf16_grad)
    ditc_tensor *dw = ditc_grad_dst(c, w, &acc_w);
    // bf16: dy rounded once when both GEMMs read it (unless its producer wrote it as BF16), the weight's copy from
    // the forward
    ditc_tensor *dyg =
        (dx || pre) && dw && BE->precision == DITC_PREC_BF16 && dy->dtype == DITC_F32 ? bf16_copy(c, dy) : dy;
    ditc_tensor *wg = n->saved[0] ? n->saved[0] : w;
    int acc_b;
    ditc_tensor *db = ditc_grad_dst(c, b, &acc_b);
    // the bias gradient in the dW GEMM's epilogue when it sums what that GEMM reads: a bf16 output gradient (from
    // its producer, ditc_bf16_grad), written not added (DITC_BGRAD_EPILOGUE=0: bias_bwd after the GEMMs)
    static int off = -1;
    epilogue e = {0};
    if (db && dw && !acc_b && dyg == dy && dy->dtype == DITC_BF16 && !ditc_env_off("DITC_BGRAD_EPILOGUE", &off))
        e.bias_grad = db;
    if (dx) gemm(c, 0, 0, M, K, N, 1, dyg, N, 0, wg, K, 0, dx, K, 0, (float)acc); // dy·W
    else if (pre) gemm_epi(c, 0, 0, M, K, N, 1, dyg, N, 0, wg, K, 0, dpre, K, 0, 0.0f, (epilogue){.dgelu_aux = pre});
    ditc_tensor *xr = x; // x dropped after the forward (ditc_gelu_drop): GELU(pre) again, for the dW GEMM only
    if (dw && x->gelu_dropped) {
        xr = ditc_arena_tensor_reuse(&c->arena, x->dtype, x->ndim, x->shape);
        BE->unary_fwd(BE, DITC_UN_GELU_TANH, xr, x->gelu_pre);
    }
    if (dw) gemm_epi(c, 1, 0, N, K, M, 1, dyg, N, 0, xr, K, 0, dw, K, 0, (float)acc_w, e); // dyᵀ·x
    if (xr != x) ditc_arena_release(&c->arena, xr->data, ditc_nbytes(xr));
    if (db && !e.bias_grad) BE->bias_bwd(BE, db, dy, acc_b);
}

// a: (Bt, M, K) or stored (Bt, K, M) if ta; b: (Bt, K, N) or stored (Bt, N, K) if tb; 2-D = Bt 1.
static void mm_dims(const ditc_tensor *t, int64_t *batch, int64_t *r, int64_t *cdim) {
    DITC_CHECK(t->ndim == 2 || t->ndim == 3, "matmul operands must be 2-D or 3-D");
    *batch = t->ndim == 3 ? t->shape[0] : 1;
    *r = t->shape[t->ndim - 2];
    *cdim = t->shape[t->ndim - 1];
}

ditc_tensor *ditc_matmul(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b, int ta, int tb) {
    int64_t ba, ar, ac, bb, br, bc;
    mm_dims(a, &ba, &ar, &ac);
    mm_dims(b, &bb, &br, &bc);
    DITC_CHECK(ba == bb, "matmul batch %lld vs %lld", (long long)ba, (long long)bb);
    int64_t M = ta ? ac : ar, K = ta ? ar : ac, N = tb ? br : bc;
    DITC_CHECK((tb ? bc : br) == K, "matmul inner dims");
    int64_t shape3[3] = {ba, M, N};
    int nd = (a->ndim == 3 || b->ndim == 3) ? 3 : 2;
    ditc_tensor *y = ditc_new(c, DITC_F32, nd, nd == 3 ? shape3 : shape3 + 1);
    gemm(c, ta, tb, M, N, K, ba, a, ac, ar * ac, b, bc, br * bc, y, N, M * N, 0.0f);
    ditc_tensor *in[2] = {a, b};
    ditc_node *node = ditc_record(c, DITC_OP_MATMUL, 2, in, 1, &y);
    if (node) {
        node->iarg[0] = ta;
        node->iarg[1] = tb;
    }
    return y;
}

void ditc_bwd_matmul(ditc_ctx *c, ditc_node *n) {
    ditc_tensor *a = n->in[0], *b = n->in[1], *dC = ditc_grad_src(n->out[0]);
    int ta = (int)n->iarg[0], tb = (int)n->iarg[1];
    int64_t bt, ar, ac, br, bc;
    mm_dims(a, &bt, &ar, &ac);
    mm_dims(b, &bt, &br, &bc);
    int64_t M = ta ? ac : ar, K = ta ? ar : ac, N = tb ? br : bc;
    int acc;
    ditc_tensor *da = ditc_grad_dst(c, a, &acc);
    if (da) {
        if (!ta) gemm(c, 0, !tb, M, K, N, bt, dC, N, M * N, b, bc, br * bc, da, K, M * K, (float)acc);
        else gemm(c, tb, 1, K, M, N, bt, b, bc, br * bc, dC, N, M * N, da, M, M * K, (float)acc);
    }
    ditc_tensor *db = ditc_grad_dst(c, b, &acc);
    if (db) {
        if (!tb) gemm(c, !ta, 0, K, N, M, bt, a, ac, ar * ac, dC, N, M * N, db, N, K * N, (float)acc);
        else gemm(c, 1, ta, N, K, M, bt, dC, N, M * N, a, ac, ar * ac, db, K, K * N, (float)acc);
    }
}

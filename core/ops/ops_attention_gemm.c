// ops_attention_gemm.c — multi-head attention on the packed qkv (B, T, 3D) as strided-batched GEMMs on the head
// slices and row softmax kernels (ops_attention_gemm.h). Per chunk of batch elements and heads (their T² scores
// within a memory budget; one GEMM call per chunk: a few launches per layer, not a few per batch element), with
// scale = 1/√hd:
//   forward   S (n, T, T) = scale·Q Kᵀ;  P = softmax(S) rows, lse (B, H, T) = log Σ exp(S);  O = P V
//   backward  P = exp(scale·Q Kᵀ − lse);  dV (+)= Pᵀ dO;  dP = dO Vᵀ;  dS = P ∘ (dP − rowsum(P ∘ dP));
//             dQ (+)= scale·dS K;  dK (+)= scale·dSᵀ Q
// (rowsum(P ∘ dP) = rowsum(dO ∘ O), the D_i of the fused kernels.) The scores live in the context's temporary
// buffer, reused by every call; the GEMMs run at the backend's precision (tensor cores for tf32/bf16 on CUDA).
#include "ops_attention_gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ops.h"

// Bytes of score matrices per chunk of heads (S and dP in backward): 256 MiB, or DITC_ATTN_SCORE_MB (tests: chunks
// of a few heads at small T).
static int64_t score_budget(void) {
    static int64_t budget = -1;
    if (budget < 0) {
        const char *e = getenv("DITC_ATTN_SCORE_MB");
        budget = (int64_t)((e && *e ? atof(e) : 256.0) * 1048576.0);
    }
    return budget;
}

// DITC_ATTN: -1 not set; 0 fused; 1 gemm; 2 flash (read once)
static int attn_forced(void) {
    static int forced = -2;
    if (forced == -2) {
        const char *e = getenv("DITC_ATTN");
        forced = !e ? -1 : !strcmp(e, "gemm") ? 1 : !strcmp(e, "fused") ? 0 : !strcmp(e, "flash") ? 2 : -1;
    }
    return forced;
}

int ditc_attention_gemm_wanted(const ditc_backend *be) {
    int forced = attn_forced();
    if (forced == 0 || forced == 1) return forced;
    return be->precision != DITC_PREC_FP32; // (the CPU's bf16 emulation follows the GPU's choice)
}

int ditc_attention_flash_wanted(const ditc_backend *be, int64_t hd) {
    (void)be;
    return attn_forced() == 2 && hd % 8 == 0 && hd <= 128;
}

// A chunk: nb batch elements × n heads whose score matrices (n·nb·T² floats, twice in backward) fit the budget —
// all heads of several batch elements (nb > 1 only when n = H) or some heads of one. Each GEMM of a chunk is one
// call: heads are its batch (strides hd in the packed rows, T² in the scores), batch elements its outer batch.
typedef struct {
    int64_t B, T, D, H, hd, n, nb;
    float scale;
} attn_dims;

// p16: the probabilities and dS also as bf16 (2 + 2 bytes more per score element)
static attn_dims dims_of(const ditc_tensor *qkv, int heads, int p16) {
    attn_dims d = {.B = qkv->shape[0], .T = qkv->shape[1], .D = qkv->shape[2] / 3, .H = heads};
    d.hd = d.D / d.H;
    d.scale = 1.0f / sqrtf((float)d.hd);
    int64_t per_head = d.T * d.T * (p16 ? 12 : 8), fit = score_budget() / per_head;
    if (fit < 1) fit = 1;
    d.n = fit < d.H ? fit : d.H;
    d.nb = fit >= d.H ? fit / d.H : 1;
    if (d.nb > d.B) d.nb = d.B;
    return d;
}

// A GEMM operand: backend memory of F32 or BF16 elements.
typedef struct {
    const void *p;
    ditc_dtype dt;
} operand;

// The operand `off` elements further on.
static operand at(operand o, int64_t off) {
    o.p = (const char *)o.p + off * (int64_t)ditc_dtype_size(o.dt);
    return o;
}

static operand f32(const float *p) { return (operand){p, DITC_F32}; }

// One operand's layout in a chunk: leading dimension, stride between heads (the GEMM batch), stride between batch
// elements (the outer batch).
typedef struct {
    int64_t ld, s, s2;
} layout;

// C[o][i] = alpha·op(A[o][i])·op(B[o][i]) + beta·C[o][i] over n heads i and nb batch elements o.
static void gemm_to(ditc_backend *be, int ta, int tb, int64_t m, int64_t nn, int64_t k, int64_t n, int64_t nb,
                    float alpha, operand a, layout la, operand b, layout lb, float beta, void *c, ditc_dtype c_dtype,
                    layout lc) {
    ditc_gemm g = {.trans_a = ta,
                   .trans_b = tb,
                   .m = m,
                   .n = nn,
                   .k = k,
                   .batch = n,
                   .alpha = alpha,
                   .beta = beta,
                   .a = a.p,
                   .lda = la.ld,
                   .stride_a = la.s,
                   .a_dtype = a.dt,
                   .b = b.p,
                   .ldb = lb.ld,
                   .stride_b = lb.s,
                   .b_dtype = b.dt,
                   .c = c,
                   .ldc = lc.ld,
                   .stride_c = lc.s,
                   .c_dtype = c_dtype,
                   .batch2 = nb,
                   .stride_a2 = la.s2,
                   .stride_b2 = lb.s2,
                   .stride_c2 = lc.s2};
    be->gemm(be, &g);
}
static void gemm(ditc_backend *be, int ta, int tb, int64_t m, int64_t nn, int64_t k, int64_t n, int64_t nb, float alpha,
                 operand a, layout la, operand b, layout lb, float beta, float *c, layout lc) {
    gemm_to(be, ta, tb, m, nn, k, n, nb, alpha, a, la, b, lb, beta, c, DITC_F32, lc);
}

// A header for rows (n, C) of backend memory at p (F32).
static ditc_tensor rows_view(ditc_backend *be, float *p, int64_t n, int64_t C) {
    ditc_tensor t;
    memset(&t, 0, sizeof t);
    int64_t shape[2] = {n, C};
    ditc_tensor_set_shape(&t, DITC_F32, n > 0 && C > 0 ? 2 : 1, shape);
    t.data = p;
    t.backend = be;
    return t;
}

// A BF16 header for rows (n, C) at p.
static ditc_tensor bf16_view(ditc_backend *be, const void *p, int64_t n, int64_t C) {
    ditc_tensor t = rows_view(be, NULL, n, C);
    t.dtype = DITC_BF16;
    t.data = (void *)p;
    return t;
}

// At bf16 precision (with the producers' bf16 operands, ops.h) the softmax kernels also write the probabilities and
// dS as bf16 — the values the GEMMs would round them to, without a cast of the F32 scores per GEMM.
static int probs_bf16(const ditc_ctx *c) { return ditc_operand_dtype(c) == DITC_BF16; }

// The temporaries: the score matrices (`scores` floats), then, at bf16 precision, bf16 copies of the F32 tensors the
// GEMMs read from the packed rows (qkv, dout: cast once per call instead of once per GEMM and batch element; a qkv
// its producer wrote as BF16 is read as it is).
static size_t align256(size_t n) { return (n + 255) / 256 * 256; }
static size_t bf16_bytes(const ditc_backend *be, const ditc_tensor *t) {
    return be->precision == DITC_PREC_BF16 && t->dtype == DITC_F32 ? align256((size_t)t->numel * 2) : 0;
}

// x as a GEMM operand: itself, or (bf16 precision) its bf16 copy written at dst.
static operand packed_operand(ditc_backend *be, const ditc_tensor *x, void *dst) {
    if (x->dtype == DITC_BF16) return (operand){x->data, DITC_BF16};
    if (be->precision != DITC_PREC_BF16) return f32((const float *)x->data);
    ditc_tensor h = *x;
    h.dtype = DITC_BF16;
    h.data = dst;
    h.requires_grad = 0;
    h.grad = NULL;
    be->cast(be, &h, x);
    return (operand){dst, DITC_BF16};
}

int ditc_attn_gemm_keep_probs(const ditc_ctx *c, const ditc_tensor *qkv, int heads) {
    static int off = -1; // DITC_ATTN_KEEP_P=0: the backward recomputes P (less memory: B·H·T²·2 bytes per layer)
    int64_t B = qkv->shape[0], T = qkv->shape[1];
    return !ditc_env_off("DITC_ATTN_KEEP_P", &off) && ditc_activation_dtype(c) == DITC_BF16 &&
           B * heads * T * T * 2 <= ((int64_t)512 << 20);
}

void ditc_attn_gemm_fwd(ditc_ctx *c, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv, int heads,
                        ditc_tensor *keep) {
    ditc_backend *be = c->be;
    int p16 = probs_bf16(c) || keep;
    attn_dims d = dims_of(qkv, heads, p16);
    int64_t T = d.T, D = d.D, hd = d.hd, ld = 3 * D, TT = T * T;
    size_t sbytes = align256((size_t)(d.nb * d.n * TT) * sizeof(float)), hbytes = p16 ? sbytes / 2 : 0;
    char *tmp = ditc_ctx_tmp(c, sbytes + hbytes + bf16_bytes(be, qkv));
    size_t es = ditc_dtype_size(out->dtype); // out F32, or BF16 (the projection's operand)
    float *S = (float *)tmp;
    operand P = p16 ? (operand){tmp + sbytes, DITC_BF16} : f32(S); // the P·V GEMM's operand
    operand x = packed_operand(be, qkv, tmp + sbytes + hbytes);
    const layout packed = {ld, hd, T * ld}, rows = {D, hd, T * D};
    for (int64_t b0 = 0; b0 < d.B; b0 += d.nb) {
        int64_t nb = d.B - b0 < d.nb ? d.B - b0 : d.nb;
        for (int64_t h0 = 0; h0 < d.H; h0 += d.n) {
            int64_t n = d.H - h0 < d.n ? d.H - h0 : d.n;
            const layout sc = {T, TT, n * TT}; // scores (nb, n, T, T)
            operand q = at(x, b0 * T * ld + h0 * hd), k = at(q, D), v = at(q, 2 * D);
            gemm(be, 0, 1, T, T, hd, n, nb, d.scale, q, packed, k, packed, 0.0f, S, sc);
            ditc_tensor s = rows_view(be, S, nb * n * T, T),
                        l = rows_view(be, (float *)lse->data + (b0 * d.H + h0) * T, nb * n * T, 1);
            // the bf16 probabilities: the call's temporary, or the chunk's rows of the kept (B, H, T, T)
            const void *hp = keep ? (const char *)keep->data + (size_t)(b0 * d.H + h0) * TT * 2 : P.p;
            ditc_tensor h = bf16_view(be, hp, nb * n * T, T);
            be->softmax_fwd(be, &s, &l, p16 ? &h : NULL, DITC_SOFTMAX_ONLY_P16);
            gemm_to(be, 0, 0, T, hd, T, n, nb, 1.0f, keep ? (operand){hp, DITC_BF16} : P, sc, v, packed, 0.0f,
                    (char *)out->data + (size_t)(b0 * T * D + h0 * hd) * es, out->dtype, rows);
        }
    }
}

void ditc_attn_gemm_bwd(ditc_ctx *c, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,
                        const ditc_tensor *lse, int heads, int acc, const ditc_tensor *keep) {
    ditc_backend *be = c->be;
    int p16 = probs_bf16(c) || keep;
    attn_dims d = dims_of(qkv, heads, p16);
    int64_t T = d.T, D = d.D, hd = d.hd, ld = 3 * D, TT = T * T;
    float beta = acc ? 1.0f : 0.0f;
    ditc_dtype gt = dqkv->dtype;
    size_t eg = ditc_dtype_size(gt);
    DITC_CHECK(gt == DITC_F32 || !acc, "attention: a BF16 dqkv is written once");
    size_t sbytes = align256((size_t)(2 * d.nb * d.n * TT) * sizeof(float)), hbytes = p16 ? sbytes / 2 : 0;
    char *tmp = ditc_ctx_tmp(c, sbytes + hbytes + bf16_bytes(be, qkv) + bf16_bytes(be, dout));
    float *P = (float *)tmp, *dP = P + d.nb * d.n * TT;
    // the GEMMs' operands: P and dS rounded once by the softmax kernels (p16), or the F32 P and dS (= dP in place)
    operand P16 = p16 ? (operand){tmp + sbytes, DITC_BF16} : f32(P);
    operand dS16 = p16 ? at(P16, d.nb * d.n * TT) : f32(dP);
    operand x = packed_operand(be, qkv, tmp + sbytes + hbytes);
    operand go = packed_operand(be, dout, tmp + sbytes + hbytes + bf16_bytes(be, qkv));
    const layout packed = {ld, hd, T * ld}, rows = {D, hd, T * D};
    for (int64_t b0 = 0; b0 < d.B; b0 += d.nb) {
        int64_t nb = d.B - b0 < d.nb ? d.B - b0 : d.nb;
        for (int64_t h0 = 0; h0 < d.H; h0 += d.n) {
            int64_t n = d.H - h0 < d.n ? d.H - h0 : d.n;
            const layout sc = {T, TT, n * TT};
            operand q = at(x, b0 * T * ld + h0 * hd), k = at(q, D), v = at(q, 2 * D);
            operand dO = at(go, b0 * T * D + h0 * hd);
            // dqkv F32, or BF16 (the qkv linear's output gradient, written once: beta 0)
            char *dq = (char *)dqkv->data + (size_t)(b0 * T * ld + h0 * hd) * eg, *dk = dq + D * eg, *dv = dk + D * eg;
            ditc_tensor p = rows_view(be, P, nb * n * T, T), dp = rows_view(be, dP, nb * n * T, T);
            ditc_tensor dh = bf16_view(be, dS16.p, nb * n * T, T);
            operand Pc = P16; // this chunk's probabilities as the dV GEMM reads them
            if (keep) {       // the forward's bf16 probabilities: neither the scores nor the softmax again
                Pc = (operand){(const char *)keep->data + (size_t)(b0 * d.H + h0) * TT * 2, DITC_BF16};
                p = bf16_view(be, Pc.p, nb * n * T, T);
            } else {
                gemm(be, 0, 1, T, T, hd, n, nb, d.scale, q, packed, k, packed, 0.0f, P, sc);
                ditc_tensor l = rows_view(be, (float *)lse->data + (b0 * d.H + h0) * T, nb * n * T, 1);
                ditc_tensor ph = bf16_view(be, P16.p, nb * n * T, T);
                be->softmax_fwd(be, &p, &l, p16 ? &ph : NULL, DITC_SOFTMAX_RECOMPUTE); // P from the saved lse
            }
            gemm_to(be, 1, 0, T, hd, T, n, nb, 1.0f, Pc, sc, dO, rows, beta, dv, gt, packed); // dV = Pᵀ dO
            gemm(be, 0, 1, T, T, hd, n, nb, 1.0f, dO, rows, v, packed, 0.0f, dP, sc);         // dP = dO Vᵀ
            be->softmax_bwd(be, &dp, &p, p16 ? &dh : NULL); // dS (from the F32 or the kept bf16 P)
            gemm_to(be, 0, 0, T, hd, T, n, nb, d.scale, dS16, sc, k, packed, beta, dq, gt, packed); // dQ = s·dS K
            gemm_to(be, 1, 0, T, hd, T, n, nb, d.scale, dS16, sc, q, packed, beta, dk, gt, packed); // dK = s·dSᵀQ
        }
    }
}

// backend.h — the backend interface: one C struct of function pointers (cf. ggml's ggml_backend_i).
//
// Everything that touches tensor memory goes through here (invariant 1). A backend owns its memory
// (host RAM, device memory), may run kernels asynchronously (ordered like one CUDA stream) and only has
// to be finished after `synchronize` or a device-to-host copy. Kernels receive tensor headers so that a
// backend can dispatch on dtype (the CPU backend computes in F32; CUDA may compute bf16 on tensor cores).
//
// Conventions for every kernel:
//  * all tensors contiguous, row-major; shapes are checked by the core before the call;
//  * gradient tensors are F32; `acc` = 1 means add into the destination, 0 means overwrite it;
//  * optional tensors are NULL when absent.
#ifndef DITC_BACKEND_H
#define DITC_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

// C[i] = alpha · op(A[i]) · op(B[i]) + beta · C[i] for i in [0, batch), row-major (C is m×n,
// op(A) m×k, op(B) k×n). Pointers are backend memory; ld* are row strides, stride_* batch strides,
// all in elements. The pointers may be offset into a tensor (e.g. one head of a packed qkv).
// An outer batch (batch2 > 1; 0 counts as 1) repeats the whole strided batch at strides stride_*2: matrix (o, i) of X
// starts at X + o·stride_x2 + i·stride_x — e.g. heads inside batch elements of a packed qkv, one call for all of them.
// A and B are F32 or BF16; C is F32, or BF16 with beta = 0 (the F32 result rounded once, to nearest even).
// Epilogue: with `bias` (F32, n; batch 1, beta 0) C = alpha · op(A) · op(B) + bias on every row, added in F32
// before any rounding to a BF16 C (cuBLASLt's BIAS epilogue on CUDA). At bf16 precision, or with a BF16 C, the bias
// added is the bias rounded to BF16 — like the operands, and as torch.autocast's linear casts its bias (cuBLASLt
// requires it too: a BF16 D takes a BF16 bias) — so a BF16 C equals the F32 C of the same call rounded.
// Two more epilogues of a single matrix (batch 1, no outer batch, alpha 1), as cuBLASLt's on CUDA at tf32/bf16:
//  - gelu_aux (beta 0, C dense: ldc = n): gelu_aux = op(A)·op(B) (+ bias) and C = GELU-tanh of that F32 value, both
//    (m, n) in C's dtype, each rounded once (GELU_AUX[_BIAS]) — a linear and its GELU in one pass, the
//    pre-activation kept for GELU's backward;
//  - bias_grad (F32, m; not with bias or gelu_aux): bias_grad[i] = Σ_k op(A)[i][k], written (not added), A stored
//    (k, m) dense (trans_a, lda = m) — the bias gradient of a linear whose output gradient is A, summed in the dW
//    GEMM that reads it (BGRADB), instead of one more pass over A;
//  - dgelu_aux (beta 0, C dense, no other epilogue): C = op(A)·op(B) ∘ GELU-tanh'(dgelu_aux), the product in F32,
//    times the derivative at the (m, n) pre-activation dgelu_aux (C's dtype: the GELU epilogue's aux output), rounded
//    once (DGELU) — GELU's backward in the dx GEMM of the linear that reads GELU's output, instead of writing that
//    gradient and reading it back; at F32 the two passes' results exactly.
typedef struct {
    int trans_a, trans_b;
    int64_t m, n, k, batch;
    float alpha, beta;
    const void *a;
    int64_t lda, stride_a;
    ditc_dtype a_dtype;
    const void *b;
    int64_t ldb, stride_b;
    ditc_dtype b_dtype;
    void *c;
    int64_t ldc, stride_c;
    ditc_dtype c_dtype;
    const float *bias;                               // NULL, or the epilogue's bias (n); not with several matrices
    void *gelu_aux;                                  // NULL, or the GELU epilogue's pre-activation output (m, n)
    float *bias_grad;                                // NULL, or the bias-gradient epilogue's output (m)
    const void *dgelu_aux;                           // NULL, or the GELU-gradient epilogue's pre-activation (m, n)
    int64_t batch2, stride_a2, stride_b2, stride_c2; // the outer batch (0 or 1: none)
} ditc_gemm;

// Matrices of g's outer batch (at least 1).
static inline int64_t ditc_gemm_outer(const ditc_gemm *g) { return g->batch2 > 1 ? g->batch2 : 1; }
// Outer matrix set o of g as a GEMM of its own (for backends that run an outer batch one set at a time).
static inline ditc_gemm ditc_gemm_outer_slice(const ditc_gemm *g, int64_t o) {
    ditc_gemm w = *g;
    w.batch2 = 1;
    w.a = (const char *)g->a + o * g->stride_a2 * (int64_t)ditc_dtype_size(g->a_dtype);
    w.b = (const char *)g->b + o * g->stride_b2 * (int64_t)ditc_dtype_size(g->b_dtype);
    w.c = (char *)g->c + o * g->stride_c2 * (int64_t)ditc_dtype_size(g->c_dtype);
    return w;
}

// Elements spanned by operand A (b = 0) or B (b = 1) of g from its pointer: the last matrix's start + (rows − 1)·ld +
// cols of its stored (untransposed) matrix (backends that convert an operand convert this range).
static inline int64_t ditc_gemm_span(const ditc_gemm *g, int b) {
    int t = b ? g->trans_b : g->trans_a;
    int64_t m = b ? g->k : g->m, k = b ? g->n : g->k; // op(X) is m×k
    int64_t rows = t ? k : m, cols = t ? m : k;
    return (ditc_gemm_outer(g) - 1) * (b ? g->stride_b2 : g->stride_a2) +
           (g->batch - 1) * (b ? g->stride_b : g->stride_a) + (rows - 1) * (b ? g->ldb : g->lda) + cols;
}

typedef enum { DITC_BIN_ADD = 0, DITC_BIN_MUL = 1 } ditc_binary_op;
#define DITC_FLASH_BLOCK 64 // keys per block of the flash attention's forward (flash_fwd)
typedef enum { DITC_UN_GELU_TANH = 0, DITC_UN_SILU = 1 } ditc_unary_op;
typedef enum { DITC_RNG_DIST_UNIFORM = 0, DITC_RNG_DIST_NORMAL = 1 } ditc_rng_dist;
enum { DITC_SOFTMAX_RECOMPUTE = 1, DITC_SOFTMAX_ONLY_P16 = 2 }; // softmax_fwd flags

// Per-sample diffusion coefficients (float32 from the float64 tables), DITC_DIFF_NCOEF per sample.
enum {
    DITC_DC_SQRT_AC,         // √ᾱ_t
    DITC_DC_SQRT_1M_AC,      // √(1 − ᾱ_t)
    DITC_DC_SQRT_RECIP_AC,   // √(1/ᾱ_t)
    DITC_DC_SQRT_RECIPM1_AC, // √(1/ᾱ_t − 1)
    DITC_DC_COEF1,           // posterior mean coefficient of x_0
    DITC_DC_COEF2,           // posterior mean coefficient of x_t
    DITC_DC_POST_LOGVAR,     // log σ̃²_t, clipped (= min_log of the learned range)
    DITC_DC_LOG_BETA,        // log β_t (= max_log)
    DITC_DC_AC,              // ᾱ_t
    DITC_DC_AC_PREV,         // ᾱ_{t−1}
    DITC_DC_IS_T0,           // 1 if t = 0 else 0
    DITC_DIFF_NCOEF
};
typedef struct {
    float c[DITC_DIFF_NCOEF];
} ditc_diff_coefs;

// AdamW hyper-parameters of one update (torch.optim.AdamW semantics) and the EMA decay fused with it.
// Complements (1 − x) are computed in double by the caller, as torch receives them from Python floats.
typedef struct {
    float beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
    float decay;                          // 1 − lr·weight_decay (1 = no decay)
    float step_size;                      // lr / (1 − β1^step)
    float bc2_sqrt;                       // √(1 − β2^step)
    float ema_decay, one_minus_ema_decay; // used when an EMA buffer is given
} ditc_adamw_args;

// Arithmetic of GEMMs and attention (`--precision`). Storage, master weights, optimizer state, norms,
// softmax statistics and reductions stay F32 in every mode; the CPU backend supports FP32 only.
typedef enum { DITC_PREC_FP32 = 0, DITC_PREC_TF32 = 1, DITC_PREC_BF16 = 2 } ditc_precision;

// SophiaG hyper-parameters of one update (Liuhong99/Sophia, the rho/bs version), as torch receives them.
typedef struct {
    float beta1, one_minus_beta1;
    float decay;                          // 1 − lr·weight_decay
    float neg_lr;                         // −lr
    float rho_bs;                         // rho·bs (bs: see core/optim/sophia.h)
    float ema_decay, one_minus_ema_decay; // used when an EMA buffer is given
} ditc_sophia_args;

typedef struct ditc_backend ditc_backend;

// ---- the entries of a backend: one list each, X(return type, name, (parameters), (arguments)) -------------
// These lists are the only place an entry is named: they generate the struct below, the completeness check
// (core/device/backend_open.c), the cpu-guard forwarders (backend_cpu/cpu_guard_backend.c) and the GPU parity
// suite's "every entry has a case" check. A backend fills the function pointers by name (cpu_backend.c,
// cuda_backend.cu). Parameters are named as the kernels see them; (arguments) repeats the names.

// clang-format off
// Lifetime and memory (each backend its own; the guard backend replaces them).
#define DITC_BACKEND_LIFETIME(X)                                                                              \
    X(void, destroy, (ditc_backend *be), (be))                                                                \
    /* 64-byte aligned, NULL on failure */                                                                    \
    X(void *, alloc, (ditc_backend *be, size_t bytes), (be, bytes))                                           \
    X(void, free, (ditc_backend *be, void *ptr), (be, ptr))                                                   \
    X(void, synchronize, (ditc_backend *be), (be))

// Copies between host and backend memory (d2h is synchronous) and fills.
#define DITC_BACKEND_TRANSFERS(X)                                                                             \
    X(void, copy_h2d, (ditc_backend *be, void *dst, const void *host_src, size_t bytes), (be, dst, host_src, bytes)) \
    X(void, copy_d2h, (ditc_backend *be, void *host_dst, const void *src, size_t bytes), (be, host_dst, src, bytes)) \
    X(void, copy_d2d, (ditc_backend *be, void *dst, const void *src, size_t bytes), (be, dst, src, bytes))    \
    X(void, fill, (ditc_backend *be, void *dst, ditc_dtype dtype, size_t n, float value), (be, dst, dtype, n, value))

// The kernels every backend must have (asynchronous, in stream order).
#define DITC_BACKEND_KERNELS(X)                                                                               \
    /* ---- GEMM (ditc_gemm above) */                                                                         \
    X(void, gemm, (ditc_backend *be, const ditc_gemm *g), (be, g))                                            \
    /* ---- elementwise: y = alpha·x + (acc ? y : 0) (same numel; scale, reshape/cast grads, accumulation) */ \
    X(void, axpy, (ditc_backend *be, ditc_tensor *y, float alpha, const ditc_tensor *x, int acc), (be, y, alpha, x, acc)) \
    /* dst = src converted to dst's dtype (F32 <-> BF16) */                                                   \
    X(void, cast, (ditc_backend *be, ditc_tensor *dst, const ditc_tensor *src), (be, dst, src))               \
    /* out = a ∘ b with 4-D numpy broadcasting (a dim of size 1 in a or b broadcasts) */                      \
    X(void, binary_fwd, (ditc_backend *be, ditc_binary_op op, ditc_tensor *out, const ditc_tensor *a,         \
                         const ditc_tensor *b), (be, op, out, a, b))                                          \
    /* grad of input `which` (0 = a, 1 = b): dx (+)= sum over broadcast dims of dout (· other for MUL) */      \
    X(void, binary_bwd, (ditc_backend *be, ditc_binary_op op, int which, ditc_tensor *dx, const ditc_tensor *dout, \
                         const ditc_tensor *a, const ditc_tensor *b, int acc), (be, op, which, dx, dout, a, b, acc)) \
    X(void, unary_fwd, (ditc_backend *be, ditc_unary_op op, ditc_tensor *y, const ditc_tensor *x), (be, op, y, x)) \
    X(void, unary_bwd, (ditc_backend *be, ditc_unary_op op, ditc_tensor *dx, const ditc_tensor *dy,           \
                        const ditc_tensor *x, int acc), (be, op, dx, dy, x, acc))                             \
    /* ---- linear's bias gradient (the forward's bias is the GEMM's epilogue): db (N) (+)= column sums of     \
       dy (M, N) */                                                                                           \
    X(void, bias_bwd, (ditc_backend *be, ditc_tensor *db, const ditc_tensor *dy, int acc), (be, db, dy, acc)) \
    /* ---- LayerNorm (no affine) fused with adaLN modulate: x (B, T, D); shift, scale (B, D) or NULL;        \
       y = LN(x)·(1 + scale[b]) + shift[b]; saves mean, rstd (B, T) */                                        \
    X(void, ln_mod_fwd, (ditc_backend *be, ditc_tensor *y, ditc_tensor *mean, ditc_tensor *rstd,              \
                         const ditc_tensor *x, const ditc_tensor *shift, const ditc_tensor *scale, float eps), \
      (be, y, mean, rstd, x, shift, scale, eps))                                                              \
    X(void, ln_mod_bwd, (ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale,         \
                         const ditc_tensor *dy, const ditc_tensor *x, const ditc_tensor *mean, const ditc_tensor *rstd, \
                         const ditc_tensor *scale, int acc_x, int acc_shift, int acc_scale),                  \
      (be, dx, dshift, dscale, dy, x, mean, rstd, scale, acc_x, acc_shift, acc_scale))                        \
    /* ---- gated residual: out = x + gate[b] · y;  x, y (B, T, D), gate (B, D) */                            \
    X(void, gated_res_fwd, (ditc_backend *be, ditc_tensor *out, const ditc_tensor *x, const ditc_tensor *gate, \
                            const ditc_tensor *y), (be, out, x, gate, y))                                     \
    X(void, gated_res_bwd, (ditc_backend *be, ditc_tensor *dx, ditc_tensor *dgate, ditc_tensor *dy,           \
                            const ditc_tensor *dout, const ditc_tensor *gate, const ditc_tensor *y, int acc_x, \
                            int acc_gate, int acc_y), (be, dx, dgate, dy, dout, gate, y, acc_x, acc_gate, acc_y)) \
    /* ---- fused multi-head attention on packed qkv (B, T, 3D): out (B, T, D), lse (B, H, T);               \
       q = qkv[..., 0:D], k = [D:2D], v = [2D:3D]; head h = columns [h·D/H, (h+1)·D/H) of each;               \
       out[b, t, h·hd + j] = softmax(q·kᵀ/sqrt(hd)) v; lse = log-sum-exp of the scaled scores */              \
    X(void, attn_fwd, (ditc_backend *be, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv, int heads), \
      (be, out, lse, qkv, heads))                                                                             \
    X(void, attn_bwd, (ditc_backend *be, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,  \
                       const ditc_tensor *out, const ditc_tensor *lse, int heads, int acc),                   \
      (be, dqkv, dout, qkv, out, lse, heads, acc))                                                            \
    /* ---- flash attention (DITC_ATTN=flash), the same layout: q, k, v rounded to bf16, scores in F32, the    \
       forward over blocks of DITC_FLASH_BLOCK keys with a running maximum m and sum l (p = exp(s − m), the   \
       output summed from bf16(p)·v, scaled by exp(m_old − m) per block, divided by l at the end), lse =       \
       m + log l; the backward recomputes p = exp(s − lse), dS = p·(dP − rowsum(dout ∘ out)) with dP from      \
       bf16(dout), dV from bf16(p), dQ and dK from bf16(dS) — the matrix units' operands. Nothing of size T²   \
       is stored. qkv, out, dout, dqkv F32 or BF16 (hd a multiple of 8, at most 128); dqkv is written */      \
    X(void, flash_fwd, (ditc_backend *be, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv,         \
                        int heads), (be, out, lse, qkv, heads))                                               \
    X(void, flash_bwd, (ditc_backend *be, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv, \
                        const ditc_tensor *out, const ditc_tensor *lse, int heads),                           \
      (be, dqkv, dout, qkv, out, lse, heads))                                                                 \
    /* ---- row softmax of the GEMM attention (core/ops/ops_attention_gemm.c), x viewed (R, C) F32: flags 0:    \
       the probabilities softmax(x) per row and lse (R) = log Σ_c exp(x); DITC_SOFTMAX_RECOMPUTE: exp(x − lse[r]). \
       They overwrite x, and p16 (R, C) BF16 (or NULL) receives them rounded (the next GEMM's operand); with       \
       DITC_SOFTMAX_ONLY_P16 x is left as it is */                                                            \
    X(void, softmax_fwd, (ditc_backend *be, ditc_tensor *x, ditc_tensor *lse, ditc_tensor *p16, int flags),   \
      (be, x, lse, p16, flags))                                                                               \
    /* its backward: dx (R, C) holds dy on entry; y ∘ (dy − Σ_c y·dy) (y the probabilities, F32 or BF16)      \
       overwrites it, \
       or, when ds16 (R, C) BF16 is given, goes there rounded and dx is left as it is */                      \
    X(void, softmax_bwd, (ditc_backend *be, ditc_tensor *dx, const ditc_tensor *y, ditc_tensor *ds16), (be, dx, y, ds16)) \
    /* ---- embedding: out (N, D) = table[idx[n]]; idx I32 (N); backward scatter-adds */                      \
    X(void, embed_fwd, (ditc_backend *be, ditc_tensor *out, const ditc_tensor *table, const ditc_tensor *idx), \
      (be, out, table, idx))                                                                                  \
    X(void, embed_bwd, (ditc_backend *be, ditc_tensor *dtable, const ditc_tensor *dout, const ditc_tensor *idx, \
                        int acc), (be, dtable, dout, idx, acc))                                               \
    /* ---- patch layout: img (B, C, S, S) <-> tokens (B, (S/p)², C·p²); token vector order (c, i, j) if      \
       !channel_last (patchify / conv order), (i, j, c) if channel_last (unpatchify). to_tokens: tokens (+)=  \
       gather(img); else img (+)= scatter(tokens) */                                                          \
    X(void, patch_copy, (ditc_backend *be, ditc_tensor *img, ditc_tensor *tokens, int p, int channel_last,    \
                         int to_tokens, int acc), (be, img, tokens, p, channel_last, to_tokens, acc))         \
    /* ---- strided block copy: dst[r·dst_ld + dst_off + c] (+)= src[r·src_ld + src_off + c] */               \
    X(void, copy_2d, (ditc_backend *be, ditc_tensor *dst, int64_t dst_off, int64_t dst_ld, const ditc_tensor *src, \
                      int64_t src_off, int64_t src_ld, int64_t rows, int64_t cols, int acc),                  \
      (be, dst, dst_off, dst_ld, src, src_off, src_ld, rows, cols, acc))                                      \
    /* ---- reductions over rows, x viewed (R, C): out (R) (+)= scale · Σ_c x[r, c] */                        \
    X(void, reduce_rows, (ditc_backend *be, ditc_tensor *out, const ditc_tensor *x, float scale, int acc),    \
      (be, out, x, scale, acc))                                                                               \
    /* dx (R, C) (+)= scale · dout[r] */                                                                      \
    X(void, expand_rows, (ditc_backend *be, ditc_tensor *dx, const ditc_tensor *dout, float scale, int acc),  \
      (be, dx, dout, scale, acc))                                                                             \
    /* out (R) = mean_c (a − b)²;  backward: da (+)= 2(a−b)/C·dout[r], db (+)= −that */                       \
    X(void, mse_fwd, (ditc_backend *be, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b), (be, out, a, b)) \
    X(void, mse_bwd, (ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *dout,            \
                      const ditc_tensor *a, const ditc_tensor *b, int acc_a, int acc_b),                      \
      (be, da, db, dout, a, b, acc_a, acc_b))                                                                 \
    /* ---- LLaMA-style (Large-DiT) pieces; x viewed (R, D) over its last dim.                               \
       RMSNorm: y = x·rstd·w (w (D) or NULL), rstd (R) = 1/√(mean_d x² + eps) */                              \
    X(void, rms_norm_fwd, (ditc_backend *be, ditc_tensor *y, ditc_tensor *rstd, const ditc_tensor *x,         \
                           const ditc_tensor *w, float eps), (be, y, rstd, x, w, eps))                        \
    X(void, rms_norm_bwd, (ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, const ditc_tensor *dy,         \
                           const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *rstd, int acc_x, int acc_w), \
      (be, dx, dw, dy, x, w, rstd, acc_x, acc_w))                                                             \
    /* LayerNorm with affine: y = (x − mean)·rstd·w + b (w, b (D) or NULL); saves mean, rstd (R) */           \
    X(void, layer_norm_fwd, (ditc_backend *be, ditc_tensor *y, ditc_tensor *mean, ditc_tensor *rstd,          \
                             const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *b, float eps),    \
      (be, y, mean, rstd, x, w, b, eps))                                                                      \
    X(void, layer_norm_bwd, (ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, ditc_tensor *db,             \
                             const ditc_tensor *dy, const ditc_tensor *x, const ditc_tensor *w,               \
                             const ditc_tensor *mean, const ditc_tensor *rstd, int acc_x, int acc_w, int acc_b), \
      (be, dx, dw, db, dy, x, w, mean, rstd, acc_x, acc_w, acc_b))                                            \
    /* 1-D RoPE on x (B, T, H·hd): per head, pairs (2i, 2i+1) rotated by angle t·theta^(−2i/hd) (t = token    \
       index); inverse = 1 rotates by −angle (the backward). y (+)= rot(x); y may be x if !acc */             \
    X(void, rope, (ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, int heads, float theta, int inverse, \
                   int acc), (be, y, x, heads, theta, inverse, acc))                                          \
    /* SwiGLU gate: out = silu(a)·b (same shapes); da, db (+)= its gradients (either may be NULL) */          \
    X(void, swiglu_fwd, (ditc_backend *be, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b),     \
      (be, out, a, b))                                                                                        \
    X(void, swiglu_bwd, (ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *dout,         \
                         const ditc_tensor *a, const ditc_tensor *b, int acc_a, int acc_b),                   \
      (be, da, db, dout, a, b, acc_a, acc_b))                                                                 \
    /* adaLN modulate without a norm: y = x·(1 + scale) + shift, x (B, T, D), shift/scale (B, D).             \
       Backward: dx (+)= dy·(1 + scale); dshift (+)= Σ_t dy; dscale (+)= Σ_t dy·x (any may be NULL) */        \
    X(void, modulate_fwd, (ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *shift,  \
                           const ditc_tensor *scale), (be, y, x, shift, scale))                               \
    X(void, modulate_bwd, (ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale,       \
                           const ditc_tensor *dy, const ditc_tensor *x, const ditc_tensor *scale, int acc_x,  \
                           int acc_shift, int acc_scale), (be, dx, dshift, dscale, dy, x, scale, acc_x, acc_shift, acc_scale)) \
    /* ---- Gaussian diffusion (coef: (B, DITC_DIFF_NCOEF) F32): x_t = √ᾱ·x0 + √(1−ᾱ)·noise per sample */      \
    X(void, q_sample, (ditc_backend *be, ditc_tensor *xt, const ditc_tensor *x0, const ditc_tensor *noise,    \
                       const ditc_tensor *coef), (be, xt, x0, noise, coef))                                   \
    /* hybrid loss of the reference per sample: out (B, 2C, H, W) = [ε | v]; mse, vb, loss (B) */            \
    X(void, diff_loss_fwd, (ditc_backend *be, ditc_tensor *mse, ditc_tensor *vb, ditc_tensor *loss,           \
                            const ditc_tensor *out, const ditc_tensor *x0, const ditc_tensor *xt,             \
                            const ditc_tensor *noise, const ditc_tensor *coef), (be, mse, vb, loss, out, x0, xt, noise, coef)) \
    /* dout (+)= d(Σ_b dloss[b]·loss[b]) / dout, with ε frozen inside vb (as the reference) */               \
    X(void, diff_loss_bwd, (ditc_backend *be, ditc_tensor *dout, const ditc_tensor *dloss, const ditc_tensor *out, \
                            const ditc_tensor *x0, const ditc_tensor *xt, const ditc_tensor *noise,           \
                            const ditc_tensor *coef, int acc), (be, dout, dloss, out, x0, xt, noise, coef, acc)) \
    /* classifier-free guidance on out (2N, 2C, H, W) = [cond; uncond]: channels [0, guided) of the first     \
       half become uncond + scale·(cond − uncond) */                                                          \
    X(void, cfg_combine, (ditc_backend *be, ditc_tensor *out, float scale, int guided), (be, out, scale, guided)) \
    /* one reverse step on x (N, C, H, W) in place, from out's first N samples; noise NULL at t = 0.          \
       ddim = 0: ancestral p_sample; 1: DDIM with η = 0 */                                                    \
    X(void, diff_step, (ditc_backend *be, ditc_tensor *x, const ditc_tensor *out, const ditc_tensor *noise,   \
                        ditc_diff_coefs coef, int ddim), (be, x, out, noise, coef, ddim))                     \
    /* ---- optimizer on flat buffers (n floats): AdamW on p with gradient g and moments m, v; then, if       \
       ema != NULL, ema = d·ema + (1 − d)·p; if p16 != NULL, p16 = p rounded to BF16 (as cast) */             \
    X(void, adamw, (ditc_backend *be, float *p, const float *g, float *m, float *v, float *ema, void *p16,    \
                    size_t n, ditc_adamw_args a), (be, p, g, m, v, ema, p16, n, a))                           \
    X(void, ema_update, (ditc_backend *be, float *ema, const float *p, size_t n, float decay,                 \
                         float one_minus_decay), (be, ema, p, n, decay, one_minus_decay))                     \
    X(void, scale_buffer, (ditc_backend *be, float *x, size_t n, float s), (be, x, n, s))                     \
    /* ---- counter-based RNG (invariant 5): element j = dist(seed, purpose, step, index0 + j) */             \
    X(void, rng_fill, (ditc_backend *be, ditc_tensor *t, ditc_rng_dist dist, uint64_t seed, uint32_t purpose, \
                       uint32_t step, uint64_t index0), (be, t, dist, seed, purpose, step, index0))           \
    /* *out (one double in backend memory) = Σ x² over n floats, in a fixed order (the same on every            \
       call); like every kernel it does not wait: the caller reads *out back when it needs it */              \
    X(void, sum_squares, (ditc_backend *be, double *out, const float *x, size_t n), (be, out, x, n))

// Optional: the VAE's forward-only inference ops (core/vae/vae_ops.h; no backward, not in the op registry).
// A backend may leave them NULL: the VAE refuses such a backend with a message (core/vae/vae_load.c).
#define DITC_BACKEND_VAE_KERNELS(X)                                                                           \
    /* 2-D convolution with zero padding pad = {top, left, bottom, right}: x (B, C, H, W), w (O, C, kh, kw),  \
       b (O) or NULL → y (B, O, Ho, Wo), Ho = (H + top + bottom − kh)/stride + 1 (Wo alike); y (+)= conv */   \
    X(void, conv2d_fwd, (ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *w,        \
                         const ditc_tensor *b, int stride, const int pad[4], int acc), (be, y, x, w, b, stride, pad, acc)) \
    /* GroupNorm over (C/groups)·H·W per sample and group (biased variance), affine w, b (C) or NULL, then    \
       SiLU if silu: x, y (B, C, H, W); y may be x */                                                         \
    X(void, group_norm_fwd, (ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *w,    \
                             const ditc_tensor *b, int groups, float eps, int silu), (be, y, x, w, b, groups, eps, silu)) \
    /* nearest-neighbour ×2: x (B, C, H, W) → y (B, C, 2H, 2W) */                                             \
    X(void, upsample2x_fwd, (ditc_backend *be, ditc_tensor *y, const ditc_tensor *x), (be, y, x))             \
    /* single-head attention over positions, channel-major: q, k, v, out (B, C, T);                          \
       out[:, t] = Σ_s softmax_s(scale · q[:, t]·k[:, s]) v[:, s] */                                          \
    X(void, spatial_attn_fwd, (ditc_backend *be, ditc_tensor *out, const ditc_tensor *q, const ditc_tensor *k, \
                               const ditc_tensor *v, float scale), (be, out, q, k, v, scale))

// Optional: the FID Inception's forward-only ops (core/eval/inception_ops.h; with the conv2d_fwd above). A backend
// may leave them NULL: `ditc fid` refuses such a backend with a message (core/eval/inception_net.c).
#define DITC_BACKEND_FID_KERNELS(X)                                                                           \
    /* y = max(x, 0) (same numel; y may be x) */                                                              \
    X(void, relu_fwd, (ditc_backend *be, ditc_tensor *y, const ditc_tensor *x), (be, y, x))                   \
    /* k×k pooling, zero padding pad on every side, floor mode: x (B, C, H, W) → y (B, C, Ho, Wo),            \
       Ho = (H + 2·pad − k)/stride + 1; avg = 0: max (padding never wins); 1: mean over the window's          \
       in-bounds elements only (torch's count_include_pad=False) */                                           \
    X(void, pool2d_fwd, (ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, int k, int stride, int pad,  \
                         int avg), (be, y, x, k, stride, pad, avg))                                           \
    /* bilinear resize, torch F.interpolate(mode='bilinear', align_corners=False) without antialias:         \
       x (B, C, H, W) → y (B, C, Ho, Wo), then y = scale·y + shift */                                         \
    X(void, resize_bilinear_fwd, (ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, float scale,        \
                                  float shift), (be, y, x, scale, shift))

// Optional: SophiaG on flat buffers (n floats); without them `--optimizer sophiag` is refused with a message
// (core/optim/sophia.c).
#define DITC_BACKEND_SOPHIA_KERNELS(X)                                                                        \
    /* p ·= decay; m = β1·m + (1 − β1)·g; p += −lr·sign(m)·min(|m| / (rho_bs·h + 1e-15), 1);                 \
       then, if ema != NULL, ema = d·ema + (1 − d)·p. h is only read */                                       \
    X(void, sophia, (ditc_backend *be, float *p, const float *g, float *m, const float *h, float *ema, size_t n, \
                     ditc_sophia_args a), (be, p, g, m, h, ema, n, a))                                        \
    /* Hessian EMA from a Gauss-Newton-Bartlett gradient: h = β2·h + (1 − β2)·g·g */                          \
    X(void, sophia_hessian, (ditc_backend *be, float *h, const float *g, size_t n, float beta2,               \
                             float one_minus_beta2), (be, h, g, n, beta2, one_minus_beta2))

// Optional: timestamps in the backend's queue order, for `ditc bench --profile` (core/device/profile_backend.c): a
// mark is taken when the queue reaches it (CUDA: an event recorded on the stream; CPU: the clock, its kernels being
// synchronous), so kernels are timed without synchronising between them.
#define DITC_BACKEND_TIMER_ENTRIES(X)                                                                         \
    /* a new mark (0, 1, … since the last reset) */                                                          \
    X(int, timer_mark, (ditc_backend *be), (be))                                                              \
    /* milliseconds from mark a to mark b (waits until b is reached) */                                        \
    X(double, timer_elapsed_ms, (ditc_backend *be, int a, int b), (be, a, b))                                 \
    /* forget every mark (their storage is reused) */                                                         \
    X(void, timer_reset, (ditc_backend *be), (be))

// Every entry a backend must provide, and the optional ones.
#define DITC_BACKEND_REQUIRED_ENTRIES(X)                                                                      \
    DITC_BACKEND_LIFETIME(X) DITC_BACKEND_TRANSFERS(X) DITC_BACKEND_KERNELS(X)
#define DITC_BACKEND_OPTIONAL_ENTRIES(X)                                                                      \
    DITC_BACKEND_VAE_KERNELS(X) DITC_BACKEND_FID_KERNELS(X) DITC_BACKEND_SOPHIA_KERNELS(X)                   \
    DITC_BACKEND_TIMER_ENTRIES(X)

// clang-format on
struct ditc_backend {
    const char *name;         // "cpu", "cuda"
    int host_memory;          // 1 if data pointers are host-addressable (communicators then need no staging)
    void *ctx;                // backend private state
    ditc_precision precision; // set by ditc_backend_open (core/device/backend_open.c); FP32 by default
    void *stream;             // the native queue the kernels run on (CUDA: its cudaStream_t; NULL on the CPU), for
                              // communicators that order their own streams after it (comm/comm_nccl.cu)
#define DITC_BACKEND_MEMBER_(ret, name, params, args) ret(*name) params;
    DITC_BACKEND_REQUIRED_ENTRIES(DITC_BACKEND_MEMBER_)
    DITC_BACKEND_OPTIONAL_ENTRIES(DITC_BACKEND_MEMBER_)
#undef DITC_BACKEND_MEMBER_
};

#endif

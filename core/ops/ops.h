// ops.h — the differentiable ops of the core: forward, backward, autograd recording.
//
// Every op has an id and a registry row (name + backward) generated from op_list.h; tests/test_op_grads.c
// checks that each op of the list has a finite-difference gradient test. Shapes in comments: B batch, T tokens, D width.
// Inputs/outputs are F32 unless stated; all results are new tensors in the context's current arena.
#ifndef DITC_OPS_H
#define DITC_OPS_H

#include "autograd.h"
#include "op_list.h"

// ---- linear algebra ----------------------------------------------------------------------
// x (..., K), w (N, K) or (N, ...) with numel N·K (read as (N, K)), b (N) or NULL → (..., N) = x·wᵀ + b.
// x may be BF16 (a producer's GEMM operand); the bias is the GEMM's epilogue.
ditc_tensor *ditc_linear(ditc_ctx *c, ditc_tensor *x, ditc_tensor *w, ditc_tensor *b);

// ---- GEMM operands at bf16 precision ---------------------------------------------------------
// The ops whose output only GEMMs read (LayerNorm+modulate, GELU, the qkv linear, attention; Large-DiT's modulate
// and SwiGLU) write it as the dtype
// ditc_operand_dtype gives: BF16 at `--precision bf16` — rounded once where it is produced, half the memory, no
// cast per GEMM (the values the GEMM would have rounded it to: the results are the same) — F32 otherwise, or with
// DITC_BF16_OPERANDS=0 (A/B runs). Their gradients are F32, except those the consuming linear writes (below).
// The *_to variants take that dtype (F32 or BF16).
ditc_dtype ditc_operand_dtype(const ditc_ctx *c);
// At bf16 precision the gradient of a linear's output is what its backward GEMMs read as bf16: ditc_bf16_grad marks t
// (a linear's output whose one consumer writes BF16 gradients: GELU, the gated residual's y, the GEMM attention's
// qkv) so that consumer writes it as BF16 — rounded once where produced, no cast in the linear's backward, half the
// memory; the bias gradient sums the same bf16 values the GEMMs read (as autocast PyTorch's). Also a GEMM operand
// whose one consumer is a linear (LayerNorm+modulate's output, the GELU's output, the attention output): the
// linear's dx GEMM writes its gradient as BF16, as autocast's bf16 matmul does, and the producer's backward reads it.
// F32 otherwise, or with DITC_BF16_GRADS=0 (or DITC_BF16_OPERANDS=0). Returns t.
ditc_tensor *ditc_bf16_grad(ditc_ctx *c, ditc_tensor *t);
// The dtype of a linear output that a pointwise op reads (fc1's, GELU's input): BF16 at bf16 precision, as autocast
// PyTorch stores it (the GELU and its backward see the rounded pre-activation: not the GEMM-only rounding above),
// F32 otherwise or with DITC_BF16_ACTIVATIONS=0 (or DITC_BF16_OPERANDS=0).
ditc_dtype ditc_activation_dtype(const ditc_ctx *c);
ditc_tensor *ditc_linear_to(ditc_ctx *c, ditc_tensor *x, ditc_tensor *w, ditc_tensor *b, ditc_dtype out);
ditc_tensor *ditc_gelu_to(ditc_ctx *c, ditc_tensor *x, ditc_dtype out);
// GELU(x·Wᵀ + b) — ditc_gelu_to(ditc_bf16_grad(ditc_linear_to(x, w, b, pre)), out) — from one GEMM when pre == out:
// the GELU epilogue (backend.h: cuBLASLt's on CUDA) writes GELU of the F32 pre-activation and keeps the pre-activation
// (in `pre`) for GELU's backward, so at bf16 GELU reads the unrounded value (the linear's bf16 output is not read
// back; at fp32 the results are the two ops' exactly). The same two tape nodes. DITC_GELU_EPILOGUE=0: the two ops.
ditc_tensor *ditc_linear_gelu_to(ditc_ctx *c, ditc_tensor *x, ditc_tensor *w, ditc_tensor *b, ditc_dtype pre,
                                 ditc_dtype out);
// After g's one reader (the MLP's second linear) has run its forward, with DITC_GELU_RECOMPUTE=1: g's memory goes back
// to the arena (the next MLP's GELU output takes it) and that linear's backward recomputes GELU(pre) for its dW GEMM
// only (GELU's own backward and the GELU-gradient epilogue read the pre-activation). B·T·4D elements less per block
// kept for the backward, one elementwise pass more per block. A no-op otherwise, in checkpointed segments, and where
// g did not come from the GELU epilogue (DITC_GELU_EPILOGUE=0; pre-activation and output of other dtypes, e.g.
// DITC_BF16_ACTIVATIONS=0 at bf16; Large-DiT's SwiGLU has no GELU).
void ditc_gelu_drop(ditc_ctx *c, ditc_tensor *g);
ditc_tensor *ditc_ln_modulate_to(ditc_ctx *c, ditc_tensor *x, ditc_tensor *shift, ditc_tensor *scale, float eps,
                                 ditc_dtype out);
// qkv F32 or BF16; the fused (fp32) kernels get F32 copies, the GEMM path reads it as it is
ditc_tensor *ditc_attention_to(ditc_ctx *c, ditc_tensor *qkv, int heads, ditc_dtype out);
ditc_tensor *ditc_modulate_to(ditc_ctx *c, ditc_tensor *x, ditc_tensor *shift, ditc_tensor *scale, ditc_dtype out);
ditc_tensor *ditc_swiglu_to(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b, ditc_dtype out);
// a (Bt, M, K) or (M, K) [transposed if ta], b (Bt, K, N) [transposed if tb] → (Bt, M, N)
ditc_tensor *ditc_matmul(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b, int ta, int tb);

// ---- elementwise -------------------------------------------------------------------------
// numpy broadcasting over up to 4 dims (shapes right-aligned; a size-1 dim broadcasts)
ditc_tensor *ditc_add(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b);
ditc_tensor *ditc_mul(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b);
ditc_tensor *ditc_scale(ditc_ctx *c, ditc_tensor *x, float alpha);
ditc_tensor *ditc_gelu(ditc_ctx *c, ditc_tensor *x); // tanh approximation
ditc_tensor *ditc_silu(ditc_ctx *c, ditc_tensor *x);

// ---- DiT block pieces --------------------------------------------------------------------
// x (B, T, D), shift/scale (B, D) or NULL → LN(x; eps, no affine)·(1 + scale) + shift
ditc_tensor *ditc_ln_modulate(ditc_ctx *c, ditc_tensor *x, ditc_tensor *shift, ditc_tensor *scale, float eps);
// x, y (B, T, D), gate (B, D) → x + gate·y
ditc_tensor *ditc_gated_residual(ditc_ctx *c, ditc_tensor *x, ditc_tensor *gate, ditc_tensor *y);
// qkv (B, T, 3D) packed [q | k | v], heads H → (B, T, D), softmax(q kᵀ / sqrt(D/H)) v per head
ditc_tensor *ditc_attention(ditc_ctx *c, ditc_tensor *qkv, int heads);
// table (K, D), idx I32 (N) → (N, D)
ditc_tensor *ditc_embedding(ditc_ctx *c, ditc_tensor *table, ditc_tensor *idx);
// x (B, C, S, S) → (B, (S/p)², C·p·p), token vector in conv order (c, i, j)
ditc_tensor *ditc_patchify(ditc_ctx *c, ditc_tensor *x, int p);
// x (B, (S/p)², p·p·C) with (i, j, c) order → (B, C, S, S)
ditc_tensor *ditc_unpatchify(ditc_ctx *c, ditc_tensor *x, int p, int channels);

// ---- LLaMA-style (Large-DiT) pieces: ops_llama.c -------------------------------------------
// x (..., D), w (D) or NULL → x · rsqrt(mean(x²) + eps) · w   (LLaMA RMSNorm; Large-DiT eps 1e-5)
ditc_tensor *ditc_rms_norm(ditc_ctx *c, ditc_tensor *x, ditc_tensor *w, float eps);
// x (..., D), w, b (D) or NULL → LayerNorm over the last dim with affine (QK-norm over the whole width)
ditc_tensor *ditc_layer_norm(ditc_ctx *c, ditc_tensor *x, ditc_tensor *w, ditc_tensor *b, float eps);
// x (B, T, H·hd), hd even → 1-D rotary embedding over the token index t = 0..T−1, per head on adjacent
// pairs (2i, 2i+1) (LLaMA view_as_complex convention): angle t·theta^(−2i/hd), (a, b) →
// (a cos − b sin, a sin + b cos). The angle is built in float32 exactly as LLaMA's precompute_freqs_cis
// (f = 1 / theta^(2i/hd) in float32, angle = float32(t·f)); cos/sin of it are correctly rounded.
ditc_tensor *ditc_rope(ditc_ctx *c, ditc_tensor *x, int heads, float theta);
// a, b same shape → silu(a)·b   (the SwiGLU gate; w1, w2, w3 are ditc_linear)
ditc_tensor *ditc_swiglu(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b);
// x (B, T, D), shift/scale (B, D) → x·(1 + scale) + shift   (adaLN modulate after RMSNorm)
ditc_tensor *ditc_modulate(ditc_ctx *c, ditc_tensor *x, ditc_tensor *shift, ditc_tensor *scale);

// ---- layout ------------------------------------------------------------------------------
// Splits x along dim into n parts of sizes[i] (sum = x.shape[dim]); out[i] receives part i.
void ditc_split(ditc_ctx *c, ditc_tensor *x, int dim, int n, const int64_t *sizes, ditc_tensor **out);
// n equal chunks along dim (torch.chunk with divisible size).
void ditc_chunk(ditc_ctx *c, ditc_tensor *x, int dim, int n, ditc_tensor **out);
ditc_tensor *ditc_concat(ditc_ctx *c, int n, ditc_tensor *const *xs, int dim);
ditc_tensor *ditc_reshape(ditc_ctx *c, ditc_tensor *x, int ndim, const int64_t *shape);
// F32 <-> BF16 (gradient flows back as F32)
ditc_tensor *ditc_cast(ditc_ctx *c, ditc_tensor *x, ditc_dtype dtype);

// ---- reductions and losses ---------------------------------------------------------------
// Reduce dims [from_dim, ndim) → shape[:from_dim] (from_dim = 0: a one-element tensor [1]).
ditc_tensor *ditc_sum(ditc_ctx *c, ditc_tensor *x, int from_dim);
ditc_tensor *ditc_mean(ditc_ctx *c, ditc_tensor *x, int from_dim);
// mean over dims [from_dim, ndim) of (a − b)²  (the reference's mean_flat((a − b)²) with from_dim = 1)
ditc_tensor *ditc_mse(ditc_ctx *c, ditc_tensor *a, ditc_tensor *b, int from_dim);

// ---- diffusion ---------------------------------------------------------------------------
// The fused hybrid loss of the reference (ops_diffusion.c): out (B, 2C, H, W), x0, x_t, noise (B, C, H, W),
// coef (B, NCOEF) → loss (B) (differentiable w.r.t. out); *mse and *vb (B) receive the two terms (no gradient).
ditc_tensor *ditc_diffusion_loss(ditc_ctx *c, ditc_tensor *out, ditc_tensor *x0, ditc_tensor *xt, ditc_tensor *noise,
                                 ditc_tensor *coef, ditc_tensor **mse, ditc_tensor **vb);

#endif

// ops_attention_gemm.h — ditc_attention as GEMMs on the head slices plus the backend's row softmax kernels, for
// backends whose GEMMs are fast (tensor cores at --precision tf32/bf16) where their fused attention kernel is not.
#ifndef DITC_OPS_ATTENTION_GEMM_H
#define DITC_OPS_ATTENTION_GEMM_H

#include "autograd.h"

// 1 when ditc_attention takes this path on `be`: DITC_ATTN=gemm always, DITC_ATTN=fused never (read once per
// process); by default at tf32 or bf16 precision (the GPU's tensor cores; the CPU's bf16 emulation follows it).
int ditc_attention_gemm_wanted(const ditc_backend *be);
// 1 when ditc_attention takes the backend's flash_fwd/flash_bwd entries instead (backend.h: bf16 operands, no T²
// scores in memory): DITC_ATTN=flash, for head dims that are multiples of 8 up to 128 (others: the default path).
int ditc_attention_flash_wanted(const ditc_backend *be, int64_t hd);
// Forward: out (B, T, D) and lse (B, H, T) exactly as the backend's attn_fwd entry defines them. keep: NULL, or a
// BF16 (B, H, T, T) that receives the probabilities for the backward (ditc_attn_gemm_keep_probs says when).
void ditc_attn_gemm_fwd(ditc_ctx *c, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv, int heads,
                        ditc_tensor *keep);
// Backward: dqkv (B, T, 3D) (+)= the gradient through the attention, from the saved lse (as attn_bwd) — or, given
// the forward's kept bf16 probabilities, from those (no recomputed scores; dS from the bf16 P).
void ditc_attn_gemm_bwd(ditc_ctx *c, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,
                        const ditc_tensor *lse, int heads, int acc, const ditc_tensor *keep);
// 1 when the forward should keep its bf16 probabilities for the backward: at bf16 precision with bf16 activations
// (ops.h ditc_activation_dtype) and at most 512 MiB of them per call — the backward then neither recomputes the scores
// nor re-reads them (about a third of the attention's memory traffic), at B·H·T² · 2 bytes of arena per layer
// (1.9 GB for DiT-XL/2 at batch 32; DITC_ATTN_KEEP_P=0 recomputes instead).
int ditc_attn_gemm_keep_probs(const ditc_ctx *c, const ditc_tensor *qkv, int heads);

#endif

// ops_attention_gemm.h — ditc_attention as GEMMs on the head slices plus the backend's row softmax kernels, for
// backends whose GEMMs are fast (tensor cores at --precision tf32/bf16) where their fused attention kernel is not.
#ifndef DITC_OPS_ATTENTION_GEMM_H
#define DITC_OPS_ATTENTION_GEMM_H

#include "autograd.h"

// 1 when ditc_attention takes this path on `be`: DITC_ATTN=gemm always, DITC_ATTN=fused never (read once per
// process); by default at tf32 or bf16 precision (the GPU's tensor cores; the CPU's bf16 emulation follows it).
int ditc_attention_gemm_wanted(const ditc_backend *be);
// Forward: out (B, T, D) and lse (B, H, T) exactly as the backend's attn_fwd entry defines them.
void ditc_attn_gemm_fwd(ditc_ctx *c, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv, int heads);
// Backward: dqkv (B, T, 3D) (+)= the gradient through the attention, from the saved lse (as attn_bwd).
void ditc_attn_gemm_bwd(ditc_ctx *c, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,
                        const ditc_tensor *lse, int heads, int acc);

#endif

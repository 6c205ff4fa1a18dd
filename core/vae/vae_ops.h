// vae_ops.h — forward-only (inference) ops of the Stable Diffusion VAE: 2-D convolution, GroupNorm (+ SiLU),
// SiLU, nearest ×2 upsampling, single-head spatial attention.
//
// Unlike the training ops (ops.h) these record nothing and take no arena: the VAE's activations at 256² are
// 32–64 MiB each, so every result is a heap tensor (backend memory) that the caller frees as soon as it is
// consumed (ditc_vt_free), keeping the peak to a few activations. Shapes are internal invariants
// (DITC_CHECK); the VAE model validates user-supplied weights before calling these.
// Layout: NCHW, F32. x (B, C, H, W).
#ifndef DITC_VAE_OPS_H
#define DITC_VAE_OPS_H

#include "backend.h"

// A heap F32 tensor of the given shape with uninitialised backend memory; freed by ditc_vt_free (NULL ok).
ditc_tensor *ditc_vt_new(ditc_backend *be, int ndim, const int64_t *shape);
void ditc_vt_free(ditc_tensor *t);
// A header sharing t's memory with another shape of equal numel (ditc_vt_free frees only the header).
ditc_tensor *ditc_vt_view(ditc_tensor *t, int ndim, const int64_t *shape);

// x (B, C, H, W), w (O, C, kh, kw) (or (O, C) for a 1×1), b (O) or NULL, zero padding {top, left, bottom,
// right} → (B, O, Ho, Wo), Ho = (H + top + bottom − kh)/stride + 1.
ditc_tensor *ditc_conv2d(ditc_backend *be, const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *b, int stride,
                         int pad_top, int pad_left, int pad_bottom, int pad_right);
// The same into an existing y; acc = 1 adds the convolution to y (residual connections).
void ditc_conv2d_into(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *w,
                      const ditc_tensor *b, int stride, const int pad[4], int acc);
// GroupNorm(groups, eps, affine w, b (C) or NULL) [then SiLU] → a new tensor, or in place when inplace.
ditc_tensor *ditc_group_norm(ditc_backend *be, ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *b, int groups,
                             float eps, int silu, int inplace);
// x · sigmoid(x), in place.
void ditc_silu_inplace(ditc_backend *be, ditc_tensor *x);
// (B, C, H, W) → (B, C, 2H, 2W), nearest.
ditc_tensor *ditc_upsample2x(ditc_backend *be, const ditc_tensor *x);
// q, k, v (B, C, H, W) (projections of the H·W positions, channel-major) → (B, C, H, W):
// softmax(qᵀk / √C) per query position, single head.
ditc_tensor *ditc_spatial_attention(ditc_backend *be, const ditc_tensor *q, const ditc_tensor *k, const ditc_tensor *v);

#endif

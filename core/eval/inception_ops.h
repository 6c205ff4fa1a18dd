// inception_ops.h — forward-only ops of the FID Inception besides the convolution (core/vae/vae_ops.h's
// ditc_conv2d): ReLU, max/average pooling, the bilinear resize + normalisation of pytorch-fid's input, channel
// concatenation and the global average pool. Heap tensors (ditc_vt_new), freed by the caller; shapes are
// internal invariants. Layout NCHW, F32.
#ifndef DITC_INCEPTION_OPS_H
#define DITC_INCEPTION_OPS_H

#include "backend.h"

// 1 if be has every kernel these ops and the convolution need, else 0 (the caller reports the backend).
int ditc_inception_ops_supported(const ditc_backend *be);
// x = max(x, 0) in place.
void ditc_relu_inplace(ditc_backend *be, ditc_tensor *x);
// x (B, C, H, W) → (B, C, (H + 2·pad − k)/stride + 1, …); avg: mean over in-bounds elements
// (count_include_pad=False), else max.
ditc_tensor *ditc_pool2d(ditc_backend *be, const ditc_tensor *x, int k, int stride, int pad, int avg);
// Sample b of y (B, C, Ho, Wo) = scale · bilinear(x (1, C, H, W)) + shift (torch align_corners=False).
void ditc_resize_bilinear_into(ditc_backend *be, ditc_tensor *y, int64_t b, const ditc_tensor *x, float scale,
                               float shift);
// Channels [c0, c0 + C_x) of y (B, C_y, H, W) = x (B, C_x, H, W).
void ditc_concat_into(ditc_backend *be, ditc_tensor *y, int64_t c0, const ditc_tensor *x);
// x (B, C, H, W) → (B, C): the mean over H·W (adaptive average pool to 1×1).
ditc_tensor *ditc_global_avg_pool(ditc_backend *be, const ditc_tensor *x);

#endif

// inception_ops.c — shape checks and result allocation for the FID Inception's ops (inception_ops.h); the
// arithmetic is the backend's (relu_fwd, pool2d_fwd, resize_bilinear_fwd, copy_2d, reduce_rows).
#include "inception_ops.h"

#include "common.h"
#include "vae_ops.h"

int ditc_inception_ops_supported(const ditc_backend *be) {
    return be->conv2d_fwd && be->relu_fwd && be->pool2d_fwd && be->resize_bilinear_fwd;
}

void ditc_relu_inplace(ditc_backend *be, ditc_tensor *x) {
    DITC_CHECK(x->dtype == DITC_F32, "relu input must be F32");
    be->relu_fwd(be, x, x);
}

ditc_tensor *ditc_pool2d(ditc_backend *be, const ditc_tensor *x, int k, int stride, int pad, int avg) {
    DITC_CHECK(x->dtype == DITC_F32 && x->ndim == 4, "pool2d input must be a 4-D F32 tensor");
    DITC_CHECK(k >= 1 && stride >= 1 && pad >= 0 && 2 * pad <= k, "pool2d k %d stride %d pad %d", k, stride, pad);
    DITC_CHECK(x->shape[2] + 2 * pad >= k && x->shape[3] + 2 * pad >= k, "pool2d input smaller than the window");
    int64_t shape[4] = {x->shape[0], x->shape[1], (x->shape[2] + 2 * pad - k) / stride + 1,
                        (x->shape[3] + 2 * pad - k) / stride + 1};
    ditc_tensor *y = ditc_vt_new(be, 4, shape);
    be->pool2d_fwd(be, y, x, k, stride, pad, avg);
    return y;
}

void ditc_resize_bilinear_into(ditc_backend *be, ditc_tensor *y, int64_t b, const ditc_tensor *x, float scale,
                               float shift) {
    DITC_CHECK(x->dtype == DITC_F32 && x->ndim == 4 && x->shape[0] == 1, "resize input must be (1, C, H, W) F32");
    DITC_CHECK(y->dtype == DITC_F32 && y->ndim == 4 && y->shape[1] == x->shape[1] && b >= 0 && b < y->shape[0],
               "resize output");
    int64_t s[4] = {1, y->shape[1], y->shape[2], y->shape[3]};
    ditc_tensor slot = *y; // a header on sample b (backend memory is addressed, never dereferenced)
    ditc_tensor_set_shape(&slot, DITC_F32, 4, s);
    slot.data = (char *)y->data + (size_t)b * ditc_nbytes(&slot);
    be->resize_bilinear_fwd(be, &slot, x, scale, shift);
}

void ditc_concat_into(ditc_backend *be, ditc_tensor *y, int64_t c0, const ditc_tensor *x) {
    DITC_CHECK(x->ndim == 4 && y->ndim == 4 && x->shape[0] == y->shape[0] && x->shape[2] == y->shape[2] &&
                   x->shape[3] == y->shape[3] && c0 >= 0 && c0 + x->shape[1] <= y->shape[1],
               "concat shapes");
    int64_t hw = x->shape[2] * x->shape[3];
    be->copy_2d(be, y, c0 * hw, y->shape[1] * hw, x, 0, x->shape[1] * hw, x->shape[0], x->shape[1] * hw, 0);
}

ditc_tensor *ditc_global_avg_pool(ditc_backend *be, const ditc_tensor *x) {
    DITC_CHECK(x->dtype == DITC_F32 && x->ndim == 4, "global average pool input must be a 4-D F32 tensor");
    int64_t shape[2] = {x->shape[0], x->shape[1]}, hw = x->shape[2] * x->shape[3];
    ditc_tensor *y = ditc_vt_new(be, 2, shape);
    be->reduce_rows(be, y, x, 1.0f / (float)hw, 0);
    return y;
}

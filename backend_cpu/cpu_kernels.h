// cpu_kernels.h — the CPU backend's kernel functions (one file per family) and shared helpers.
#ifndef DITC_CPU_KERNELS_H
#define DITC_CPU_KERNELS_H

#include <math.h>

#include "backend.h"
#include "common.h"

#define F32(t) ((float *)(t)->data)
#define CF32(t) ((const float *)(t)->data)

// LayerNorm statistics of one row: mean and 1/sqrt(biased variance + eps), two-pass in double.
static inline void cpu_row_mean_rstd(const float *x, int64_t D, float eps, float *mean, float *rstd) {
    double s = 0.0, v = 0.0;
    for (int64_t d = 0; d < D; d++) s += x[d];
    float mu = (float)(s / (double)D);
    for (int64_t d = 0; d < D; d++) { double e = x[d] - mu; v += e * e; }
    *mean = mu;
    *rstd = (float)(1.0 / sqrt(v / (double)D + (double)eps));
}

// Per-backend reusable scratch (grows, never shrinks; main thread only).
float *cpu_scratch(ditc_backend *be, size_t floats);

// cpu_gemm.c
void cpu_gemm(ditc_backend *be, const ditc_gemm *g);
// cpu_elementwise.c
void cpu_axpy(ditc_backend *be, ditc_tensor *y, float alpha, const ditc_tensor *x, int acc);
void cpu_cast(ditc_backend *be, ditc_tensor *dst, const ditc_tensor *src);
void cpu_binary_fwd(ditc_backend *be, ditc_binary_op op, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b);
void cpu_binary_bwd(ditc_backend *be, ditc_binary_op op, int which, ditc_tensor *dx, const ditc_tensor *dout,
                    const ditc_tensor *a, const ditc_tensor *b, int acc);
void cpu_unary_fwd(ditc_backend *be, ditc_unary_op op, ditc_tensor *y, const ditc_tensor *x);
void cpu_unary_bwd(ditc_backend *be, ditc_unary_op op, ditc_tensor *dx, const ditc_tensor *dy, const ditc_tensor *x, int acc);
// cpu_reduce.c
void cpu_bias_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *b);
void cpu_bias_bwd(ditc_backend *be, ditc_tensor *db, const ditc_tensor *dy, int acc);
void cpu_reduce_rows(ditc_backend *be, ditc_tensor *out, const ditc_tensor *x, float scale, int acc);
void cpu_expand_rows(ditc_backend *be, ditc_tensor *dx, const ditc_tensor *dout, float scale, int acc);
void cpu_mse_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b);
void cpu_mse_bwd(ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *dout, const ditc_tensor *a,
                 const ditc_tensor *b, int acc_a, int acc_b);
// cpu_norm.c
void cpu_ln_mod_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *mean, ditc_tensor *rstd, const ditc_tensor *x,
                    const ditc_tensor *shift, const ditc_tensor *scale, float eps);
void cpu_ln_mod_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale, const ditc_tensor *dy,
                    const ditc_tensor *x, const ditc_tensor *mean, const ditc_tensor *rstd, const ditc_tensor *scale,
                    int acc_x, int acc_shift, int acc_scale);
void cpu_gated_res_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *x, const ditc_tensor *gate, const ditc_tensor *y);
void cpu_gated_res_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dgate, ditc_tensor *dy, const ditc_tensor *dout,
                       const ditc_tensor *gate, const ditc_tensor *y, int acc_x, int acc_gate, int acc_y);
// cpu_attention.c
void cpu_attn_fwd(ditc_backend *be, ditc_tensor *out, ditc_tensor *lse, const ditc_tensor *qkv, int heads);
void cpu_attn_bwd(ditc_backend *be, ditc_tensor *dqkv, const ditc_tensor *dout, const ditc_tensor *qkv,
                  const ditc_tensor *out, const ditc_tensor *lse, int heads, int acc);
// cpu_layout.c
void cpu_embed_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *table, const ditc_tensor *idx);
void cpu_embed_bwd(ditc_backend *be, ditc_tensor *dtable, const ditc_tensor *dout, const ditc_tensor *idx, int acc);
void cpu_patch_copy(ditc_backend *be, ditc_tensor *img, ditc_tensor *tokens, int p, int channel_last, int to_tokens, int acc);
void cpu_copy_2d(ditc_backend *be, ditc_tensor *dst, int64_t dst_off, int64_t dst_ld, const ditc_tensor *src,
                 int64_t src_off, int64_t src_ld, int64_t rows, int64_t cols, int acc);
// cpu_diffusion.c
void cpu_q_sample(ditc_backend *be, ditc_tensor *xt, const ditc_tensor *x0, const ditc_tensor *noise, const ditc_tensor *coef);
void cpu_diff_loss_fwd(ditc_backend *be, ditc_tensor *mse, ditc_tensor *vb, ditc_tensor *loss, const ditc_tensor *out,
                       const ditc_tensor *x0, const ditc_tensor *xt, const ditc_tensor *noise, const ditc_tensor *coef);
void cpu_diff_loss_bwd(ditc_backend *be, ditc_tensor *dout, const ditc_tensor *dloss, const ditc_tensor *out,
                       const ditc_tensor *x0, const ditc_tensor *xt, const ditc_tensor *noise, const ditc_tensor *coef,
                       int acc);
void cpu_cfg_combine(ditc_backend *be, ditc_tensor *out, float scale, int guided);
void cpu_diff_step(ditc_backend *be, ditc_tensor *x, const ditc_tensor *out, const ditc_tensor *noise,
                   ditc_diff_coefs coef, int ddim);
// cpu_llama.c
void cpu_rms_norm_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *rstd, const ditc_tensor *x, const ditc_tensor *w,
                      float eps);
void cpu_rms_norm_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, const ditc_tensor *dy, const ditc_tensor *x,
                      const ditc_tensor *w, const ditc_tensor *rstd, int acc_x, int acc_w);
void cpu_layer_norm_fwd(ditc_backend *be, ditc_tensor *y, ditc_tensor *mean, ditc_tensor *rstd, const ditc_tensor *x,
                        const ditc_tensor *w, const ditc_tensor *b, float eps);
void cpu_layer_norm_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dw, ditc_tensor *db, const ditc_tensor *dy,
                        const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *mean, const ditc_tensor *rstd,
                        int acc_x, int acc_w, int acc_b);
void cpu_modulate_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *shift,
                      const ditc_tensor *scale);
void cpu_modulate_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dshift, ditc_tensor *dscale, const ditc_tensor *dy,
                      const ditc_tensor *x, const ditc_tensor *scale, int acc_x, int acc_shift, int acc_scale);
void cpu_rope(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, int heads, float theta, int inverse, int acc);
void cpu_swiglu_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b);
void cpu_swiglu_bwd(ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *dout, const ditc_tensor *a,
                    const ditc_tensor *b, int acc_a, int acc_b);
// cpu_optim.c
void cpu_adamw(ditc_backend *be, float *p, const float *g, float *m, float *v, float *ema, size_t n, ditc_adamw_args a);
void cpu_ema_update(ditc_backend *be, float *ema, const float *p, size_t n, float decay, float one_minus_decay);
double cpu_sum_squares(ditc_backend *be, const float *x, size_t n);
void cpu_scale_buffer(ditc_backend *be, float *x, size_t n, float s);
// cpu_conv.c, cpu_vae.c (forward-only VAE kernels)
void cpu_conv2d_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *w, const ditc_tensor *b,
                    int stride, const int pad[4], int acc);
// cpu_sgemm_cols.c: row-major C = alpha·op(A)·op(B) + beta·C in fixed column blocks on single-threaded
// OpenBLAS (the same bits on any thread count). op(A) (M, K), op(B) (K, N), C (M, N).
void cpu_sgemm_cols(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                    int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
// cpu_winograd.c: x (B, C, H, W), w (O, C, 3, 3), b (O) or NULL → y (B, O, H, W) (stride 1, pad 1; acc: y +=);
// V and M bands under band_floats floats (at least one tile row).
void cpu_conv3x3_winograd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *w,
                          const ditc_tensor *b, int acc, size_t band_floats);
void cpu_group_norm_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x, const ditc_tensor *w,
                        const ditc_tensor *b, int groups, float eps, int silu);
void cpu_upsample2x_fwd(ditc_backend *be, ditc_tensor *y, const ditc_tensor *x);
void cpu_spatial_attn_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *q, const ditc_tensor *k,
                          const ditc_tensor *v, float scale);
void cpu_sophia(ditc_backend *be, float *p, const float *g, float *m, const float *h, float *ema, size_t n,
                ditc_sophia_args a);
void cpu_sophia_hessian(ditc_backend *be, float *h, const float *g, size_t n, float beta2, float one_minus_beta2);

#endif

// ops_diffusion.c — the fused hybrid loss of the reference Gaussian diffusion as a differentiable op (the
// kernels: backend diff_loss_fwd/bwd; the schedule and coefficients: diffusion/diffusion.c).
#include "ops_internal.h"

ditc_tensor *ditc_diffusion_loss(ditc_ctx *c, ditc_tensor *out, ditc_tensor *x0, ditc_tensor *xt, ditc_tensor *noise,
                                 ditc_tensor *coef, ditc_tensor **mse, ditc_tensor **vb) {
    DITC_CHECK(x0->ndim == 4 && out->ndim == 4 && out->shape[1] == 2 * x0->shape[1] && ditc_same_shape(x0, xt) &&
                   ditc_same_shape(x0, noise),
               "diffusion loss shapes");
    DITC_CHECK(coef->numel == x0->shape[0] * DITC_DIFF_NCOEF, "diffusion coefficients must be (B, %d)",
               DITC_DIFF_NCOEF);
    int64_t B = x0->shape[0];
    ditc_tensor *l = ditc_new(c, DITC_F32, 1, &B), *m = ditc_new(c, DITC_F32, 1, &B), *v = ditc_new(c, DITC_F32, 1, &B);
    BE->diff_loss_fwd(BE, m, v, l, out, x0, xt, noise, coef);
    ditc_tensor *in[5] = {out, x0, xt, noise, coef};
    ditc_record(c, DITC_OP_DIFFUSION_LOSS, 5, in, 1, &l);
    if (mse) *mse = m;
    if (vb) *vb = v;
    return l;
}

void ditc_bwd_diffusion_loss(ditc_ctx *c, ditc_node *n) {
    int acc;
    ditc_tensor *dout = ditc_grad_dst(c, n->in[0], &acc);
    if (dout)
        BE->diff_loss_bwd(BE, dout, ditc_grad_src(n->out[0]), n->in[0], n->in[1], n->in[2], n->in[3], n->in[4], acc);
}

// test_autograd.c — tape, flat parameter buffers, arena and checkpointing invariants:
//  * no-grad mode records nothing; backward consumes the tape;
//  * parameter gradients accumulate in the flat buffer across backward passes; zero_grad starts a fresh accumulation (the next write overwrites);
//  * parameter views are disjoint, 64-byte aligned, in declaration order;
//  * gradient checkpointing gives bit-identical gradients with a lower activation high-water mark;
//  * a parameter's gradient is final once backward has passed its first use in the tape (the node_done hook the
//    gradient buckets rely on), with and without checkpointing and with a weight shared by every layer;
//  * the arena allocates nothing from the second identical step on;
//  * activation gradients are released after their producer's backward (ctx.grad_reuse): the same results bit for
//    bit, and the backward's memory on top of the forward's stays within two blocks' gradients instead of growing
//    with the depth;
//  * the residual x of x + gate ∘ y takes over its output gradient's buffer (ditc_grad_take_over): no dx written, the
//    same results bit for bit (also checkpointed);
//  * dtype conversions: BF16 round-to-nearest-even, every F16 value round-trips.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"
#include "ops.h"
#include "params.h"
#include "rng.h"

#include "test_check.h"

enum { B = 2, T = 16, D = 32, DEPTH = 6 };

typedef struct {
    ditc_params p;
    ditc_tensor *w[DEPTH], *b[DEPTH];
} mlp;

static void mlp_init(mlp *m, ditc_backend *be) {
    ditc_params_init(&m->p, be, DITC_F32);
    for (int l = 0; l < DEPTH; l++) {
        char name[64];
        int64_t ws[2] = {D, D}, bs[1] = {D};
        snprintf(name, sizeof name, "blocks.%d.weight", l);
        m->w[l] = ditc_params_add(&m->p, name, 2, ws, 1);
        snprintf(name, sizeof name, "blocks.%d.bias", l);
        m->b[l] = ditc_params_add(&m->p, name, 1, bs, 1);
    }
    ditc_params_finalize(&m->p);
    float *host = malloc(sizeof(float) * (size_t)m->p.numel);
    ditc_rng_fill_normal(host, (size_t)m->p.numel, 5, DITC_RNG_PARAM_INIT, 0, 0);
    for (int64_t i = 0; i < m->p.numel; i++) host[i] *= 0.2f;
    be->copy_h2d(be, m->p.data, host, sizeof(float) * (size_t)m->p.numel);
    free(host);
}

typedef struct {
    mlp *m;
    int layer;
    int tied; // every layer uses blocks.0.weight
} seg_arg;

// One residual block: x + gelu(ln(x) · Wᵀ + b)
static void block(ditc_ctx *c, void *user, ditc_tensor *const *in, ditc_tensor **out) {
    seg_arg *a = user;
    ditc_tensor *w = a->m->w[a->tied ? 0 : a->layer];
    ditc_tensor *h = ditc_linear(c, ditc_ln_modulate(c, in[0], NULL, NULL, 1e-6f), w, a->m->b[a->layer]);
    out[0] = ditc_add(c, in[0], ditc_gelu(c, h));
}

// Forward + backward of the stack; returns the loss.
static float step_tied(ditc_ctx *c, mlp *m, int checkpointed, int tied, ditc_tensor **x_out) {
    int64_t xs[3] = {B, T, D};
    float host[B * T * D];
    ditc_rng_fill_normal(host, B * T * D, 11, DITC_RNG_TEST, 0, 0);
    ditc_tensor *x = ditc_from_host(c, DITC_F32, 3, xs, host);
    x->requires_grad = 1;
    ditc_tensor *h = x;
    seg_arg args[DEPTH];
    for (int l = 0; l < DEPTH; l++) {
        args[l] = (seg_arg){m, l, tied};
        ditc_tensor *o;
        if (checkpointed) ditc_checkpoint(c, block, &args[l], 1, &h, 1, &o);
        else block(c, &args[l], &h, &o);
        h = o;
    }
    ditc_tensor *loss = ditc_mean(c, ditc_mul(c, h, h), 0);
    float lv;
    ditc_to_host(loss, &lv);
    ditc_backward(c, loss);
    if (x_out) *x_out = x;
    return lv;
}

static float step(ditc_ctx *c, mlp *m, int checkpointed, ditc_tensor **x_out) {
    return step_tied(c, m, checkpointed, 0, x_out);
}

// The node_done hook: each parameter's gradient as it is when backward has passed its first use.
typedef struct {
    mlp *m;
    float *snap; // (numel) the flat gradient, each parameter's range copied at its first use
    int taken[2 * DEPTH], calls, last_i, order_ok;
} first_use_probe;

static void probe_node_done(void *user, ditc_ctx *c, int i) {
    first_use_probe *pr = user;
    ditc_params *p = &pr->m->p;
    pr->order_ok &= pr->calls == 0 ? i == c->n_nodes - 1 : i == pr->last_i - 1; // every top-level node, last first
    pr->last_i = i;
    pr->calls++;
    for (int k = 0; k < p->n; k++) {
        if (ditc_param_first_use(c, p->t[k]) != i) continue;
        p->be->copy_d2h(p->be, pr->snap + p->offset[k], p->t[k]->grad->data, (size_t)p->t[k]->numel * 4);
        pr->taken[k] = 1;
    }
}

static void test_first_use_hook(ditc_backend *be) {
    for (int mode = 0; mode < 4; mode++) { // checkpointed x tied
        int ck = mode & 1, tied = mode >> 1;
        mlp m;
        mlp_init(&m, be);
        size_t n = (size_t)m.p.numel;
        first_use_probe pr = {.m = &m, .snap = calloc(n, 4), .order_ok = 1};
        float *final = malloc(n * 4);
        ditc_ctx c;
        ditc_ctx_init(&c, be);
        ditc_params_zero_grad(&m.p);
        c.node_done = probe_node_done;
        c.node_done_user = &pr;
        step_tied(&c, &m, ck, tied, NULL);
        ditc_params_settle_grad(&m.p);
        be->copy_d2h(be, final, m.p.grad, n * 4);
        int ok = 1, used = 0;
        for (int k = 0; k < m.p.n; k++) {
            int unused = tied && k % 2 == 0 && k > 0; // blocks.L.weight, L > 0: never read when tied
            if (unused) {
                ok &= !pr.taken[k];
                continue;
            }
            used++;
            ok &= pr.taken[k] && !memcmp(pr.snap + m.p.offset[k], final + m.p.offset[k], (size_t)m.p.t[k]->numel * 4);
        }
        check(ok && pr.order_ok && pr.last_i == 0,
              "%s%s: each of %d parameters' gradient is final when backward passes its first use (%d hook calls)",
              ck ? "checkpointed" : "plain", tied ? ", one weight shared by every layer" : "", used, pr.calls);
        ditc_ctx_free(&c);
        free(pr.snap);
        free(final);
        ditc_params_free(&m.p);
    }
}

static void test_params_layout(ditc_backend *be) {
    mlp m;
    mlp_init(&m, be);
    int ok = 1;
    for (int i = 0; i < m.p.n; i++) {
        ditc_tensor *t = m.p.t[i];
        ok &= ((uintptr_t)t->data % 64) == 0 && ((uintptr_t)t->grad->data % 64) == 0;
        ok &= (char *)t->data == (char *)m.p.data + m.p.offset[i] * 4;
        if (i) ok &= m.p.offset[i] >= m.p.offset[i - 1] + m.p.t[i - 1]->numel;
    }
    check(ok, "parameter views: disjoint, in order, 64-byte aligned (%d tensors, %lld elements)", m.p.n,
          (long long)m.p.numel_real);
    check(ditc_params_find(&m.p, "blocks.3.bias") == m.b[3] && !ditc_params_find(&m.p, "nope"),
          "params_find by state_dict name");
    float *opt = ditc_params_alloc_like(&m.p, DITC_F32);
    ditc_tensor v = ditc_params_view(&m.p, 5, opt, DITC_F32);
    check(v.data == (char *)opt + m.p.offset[5] * 4 && v.numel == m.p.t[5]->numel && !strcmp(v.name, m.p.t[5]->name),
          "alloc_like + view: optimizer state shares the layout");
    be->free(be, opt);
    ditc_params_free(&m.p);
}

static void test_nograd_and_accumulation(ditc_backend *be) {
    mlp m;
    mlp_init(&m, be);
    ditc_ctx c;
    ditc_ctx_init(&c, be);
    int64_t xs[3] = {B, T, D};
    ditc_tensor *x = ditc_zeros(&c, DITC_F32, 3, xs);
    int prev = ditc_set_grad_enabled(&c, 0);
    ditc_tensor *y = ditc_linear(&c, x, m.w[0], m.b[0]);
    check(prev == 1 && c.n_nodes == 0 && !y->requires_grad, "no-grad mode records nothing");
    ditc_set_grad_enabled(&c, 1);
    y = ditc_linear(&c, x, m.w[0], m.b[0]);
    check(c.n_nodes == 1 && y->requires_grad, "grad mode records a node for a parameter input");
    ditc_ctx_reset(&c);

    size_t n = (size_t)m.p.numel;
    float *g1 = malloc(n * 4), *g2 = malloc(n * 4);
    ditc_params_zero_grad(&m.p);
    step(&c, &m, 0, NULL);
    check(c.n_nodes == 0, "backward consumes the tape");
    be->copy_d2h(be, g1, m.p.grad, n * 4);
    ditc_ctx_reset(&c);
    step(&c, &m, 0, NULL);
    be->copy_d2h(be, g2, m.p.grad, n * 4);
    int ok = 1, nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        ok &= g2[i] == 2.0f * g1[i];
        nonzero |= g1[i] != 0.0f;
    }
    check(ok && nonzero, "two backward passes accumulate into the flat gradient buffer (exactly 2x)");
    ditc_params_zero_grad(&m.p);
    ditc_params_settle_grad(&m.p);
    be->copy_d2h(be, g2, m.p.grad, n * 4);
    ok = 1;
    for (size_t i = 0; i < n; i++) ok &= g2[i] == 0.0f;
    check(ok, "zero_grad + settle: the flat gradient buffer reads zero");
    ditc_params_zero_grad(&m.p); // a backward after zero_grad overwrites (no stale values, no memset)
    ditc_ctx_reset(&c);
    step(&c, &m, 0, NULL);
    ditc_params_settle_grad(&m.p);
    be->copy_d2h(be, g2, m.p.grad, n * 4);
    check(!memcmp(g1, g2, n * 4), "after zero_grad the next backward overwrites: equals the first pass exactly");
    free(g1);
    free(g2);
    ditc_ctx_free(&c);
    ditc_params_free(&m.p);
}

static void test_checkpoint_and_arena(ditc_backend *be) {
    mlp m;
    mlp_init(&m, be);
    size_t n = (size_t)m.p.numel;
    float *gp[2], xg[2][B * T * D], loss[2];
    size_t peak[2];
    for (int ck = 0; ck < 2; ck++) {
        ditc_ctx c;
        ditc_ctx_init(&c, be);
        ditc_params_zero_grad(&m.p);
        ditc_tensor *x;
        loss[ck] = step(&c, &m, ck, &x);
        ditc_to_host(x->grad, xg[ck]);
        gp[ck] = malloc(n * 4);
        be->copy_d2h(be, gp[ck], m.p.grad, n * 4);
        peak[ck] = ditc_ctx_arena_peak(&c);
        if (ck) { // steady state: the same step again allocates nothing
            size_t allocs = c.arena.backend_allocs + c.scratch.backend_allocs;
            ditc_ctx_reset(&c);
            step(&c, &m, ck, NULL);
            ditc_ctx_reset(&c);
            step(&c, &m, ck, NULL);
            size_t allocs2 = c.arena.backend_allocs + c.scratch.backend_allocs;
            ditc_ctx_reset(&c);
            step(&c, &m, ck, NULL);
            check(c.arena.backend_allocs + c.scratch.backend_allocs == allocs2 && allocs2 <= allocs + 2,
                  "arena: no allocation in the steady state (%zu chunk allocations after step 1, %zu after 3, same "
                  "after 4)",
                  allocs, allocs2);
        }
        ditc_ctx_free(&c);
    }
    check(loss[0] == loss[1], "checkpointed forward gives the same loss (%.7g)", loss[0]);
    check(!memcmp(gp[0], gp[1], n * 4), "checkpointed parameter gradients are bit-identical");
    check(!memcmp(xg[0], xg[1], sizeof xg[0]), "checkpointed input gradients are bit-identical");
    check(peak[1] < peak[0] * 0.6, "checkpointing lowers the arena high-water mark: %zu -> %zu bytes", peak[0],
          peak[1]);
    free(gp[0]);
    free(gp[1]);
    ditc_params_free(&m.p);
}

// The forward's activation bytes (arena in use after it) and the step's peak, with or without gradient reuse.
static void reuse_step(ditc_backend *be, mlp *m, int reuse, size_t *fwd, size_t *peak, float *loss, float *grads,
                       float *xg) {
    ditc_ctx c;
    ditc_ctx_init(&c, be);
    c.grad_reuse = reuse;
    ditc_params_zero_grad(&m->p);
    int64_t xs[3] = {B, T, D};
    float host[B * T * D];
    ditc_rng_fill_normal(host, B * T * D, 11, DITC_RNG_TEST, 0, 0);
    ditc_tensor *x = ditc_from_host(&c, DITC_F32, 3, xs, host), *h = x;
    x->requires_grad = 1;
    seg_arg args[DEPTH];
    for (int l = 0; l < DEPTH; l++) {
        args[l] = (seg_arg){m, l, 0};
        ditc_tensor *o;
        block(&c, &args[l], &h, &o);
        h = o;
    }
    ditc_tensor *l = ditc_mean(&c, ditc_mul(&c, h, h), 0);
    ditc_to_host(l, loss);
    *fwd = c.arena.in_use;
    ditc_backward(&c, l);
    ditc_params_settle_grad(&m->p);
    be->copy_d2h(be, grads, m->p.grad, (size_t)m->p.numel * 4);
    ditc_to_host(x->grad, xg);
    *peak = ditc_ctx_arena_peak(&c);
    ditc_ctx_free(&c);
}

static void test_grad_reuse(ditc_backend *be) {
    mlp m;
    mlp_init(&m, be);
    size_t n = (size_t)m.p.numel, fwd[2], peak[2];
    float loss[2], *g[2] = {malloc(n * 4), malloc(n * 4)}, xg[2][B * T * D];
    for (int r = 0; r < 2; r++) reuse_step(be, &m, r, &fwd[r], &peak[r], &loss[r], g[r], xg[r]);
    check(loss[0] == loss[1] && !memcmp(g[0], g[1], n * 4) && !memcmp(xg[0], xg[1], sizeof xg[0]),
          "gradient reuse: the same loss, parameter and input gradients, bit for bit");
    size_t bwd0 = peak[0] - fwd[0], bwd1 = peak[1] - fwd[1];
    check(fwd[0] == fwd[1] && bwd1 <= 2 * bwd0 / DEPTH,
          "gradient reuse: the backward's memory above the forward's %zu bytes is %zu (at most 2 of %d blocks' %zu)",
          fwd[1], bwd1, DEPTH, bwd0);
    free(g[0]);
    free(g[1]);
    ditc_params_free(&m.p);
}

// ---- the residual's gradient takes over its output gradient's buffer (ditc_grad_take_over) -------------------------
static int res_calls, res_dx_null; // gated_res_bwd calls, and those without a dx to write
static void (*cpu_gated_res_bwd_fn)(ditc_backend *, ditc_tensor *, ditc_tensor *, ditc_tensor *, const ditc_tensor *,
                                    const ditc_tensor *, const ditc_tensor *, int, int, int);
static void counting_gated_res_bwd(ditc_backend *be, ditc_tensor *dx, ditc_tensor *dgate, ditc_tensor *dy,
                                   const ditc_tensor *dout, const ditc_tensor *gate, const ditc_tensor *y, int ax,
                                   int ag, int ay) {
    res_calls++;
    res_dx_null += !dx;
    cpu_gated_res_bwd_fn(be, dx, dgate, dy, dout, gate, y, ax, ag, ay);
}

// One DiT-like residual: x + gate ∘ (LN(x) · Wᵀ + b), gate (B, D) a leaf
static void gated_block(ditc_ctx *c, void *user, ditc_tensor *const *in, ditc_tensor **out) {
    seg_arg *a = user;
    ditc_tensor *h =
        ditc_linear(c, ditc_ln_modulate(c, in[0], NULL, NULL, 1e-6f), a->m->w[a->layer], a->m->b[a->layer]);
    out[0] = ditc_gated_residual(c, in[0], in[1], h);
}

static void take_over_step(ditc_backend *be, mlp *m, int take_over, int checkpointed, float *loss, float *grads,
                           float *xg) {
    ditc_ctx c;
    ditc_ctx_init(&c, be);
    c.grad_take_over = take_over;
    ditc_params_zero_grad(&m->p);
    int64_t xs[3] = {B, T, D}, gs[2] = {B, D};
    float host[B * T * D], gh[B * D];
    ditc_rng_fill_normal(host, B * T * D, 11, DITC_RNG_TEST, 0, 0);
    ditc_rng_fill_normal(gh, B * D, 12, DITC_RNG_TEST, 0, 0);
    ditc_tensor *x = ditc_from_host(&c, DITC_F32, 3, xs, host), *gate = ditc_from_host(&c, DITC_F32, 2, gs, gh);
    x->requires_grad = gate->requires_grad = 1;
    ditc_tensor *h = x;
    seg_arg args[DEPTH];
    for (int l = 0; l < DEPTH; l++) {
        args[l] = (seg_arg){m, l, 0};
        ditc_tensor *in[2] = {h, gate}, *o;
        if (checkpointed) ditc_checkpoint(&c, gated_block, &args[l], 2, in, 1, &o);
        else gated_block(&c, &args[l], in, &o);
        h = o;
    }
    ditc_tensor *l = ditc_mean(&c, ditc_mul(&c, h, h), 0);
    ditc_to_host(l, loss);
    ditc_backward(&c, l);
    ditc_params_settle_grad(&m->p);
    be->copy_d2h(be, grads, m->p.grad, (size_t)m->p.numel * 4);
    ditc_to_host(x->grad, xg);
    ditc_to_host(gate->grad, xg + B * T * D);
    ditc_ctx_free(&c);
}

static void test_grad_take_over(ditc_backend *be) {
    mlp m;
    mlp_init(&m, be);
    cpu_gated_res_bwd_fn = be->gated_res_bwd;
    be->gated_res_bwd = counting_gated_res_bwd;
    size_t n = (size_t)m.p.numel;
    float loss[3], *g[3] = {malloc(n * 4), malloc(n * 4), malloc(n * 4)}, xg[3][B * T * D + B * D];
    int calls[3], null[3];
    for (int r = 0; r < 3; r++) { // copied, taken over, checkpointed (taken over where the segment allows)
        res_calls = res_dx_null = 0;
        take_over_step(be, &m, r > 0, r == 2, &loss[r], g[r], xg[r]);
        calls[r] = res_calls, null[r] = res_dx_null;
    }
    check(null[0] == 0 && calls[0] == DEPTH && null[1] == DEPTH && calls[1] == DEPTH,
          "gradient take-over: the residual's gradient is written in %d of %d blocks when copied, %d of %d when taken "
          "over",
          calls[0] - null[0], calls[0], calls[1] - null[1], calls[1]);
    for (int r = 1; r < 3; r++)
        check(loss[0] == loss[r] && !memcmp(g[0], g[r], n * 4) && !memcmp(xg[0], xg[r], sizeof xg[0]),
              "gradient take-over%s: the same loss, parameter, input and gate gradients, bit for bit",
              r == 2 ? " with checkpointed blocks" : "");
    be->gated_res_bwd = cpu_gated_res_bwd_fn;
    for (int r = 0; r < 3; r++) free(g[r]);
    ditc_params_free(&m.p);
}

static void test_dtypes(void) {
    check(ditc_f32_to_bf16(1.0f) == 0x3f80 && ditc_bf16_to_f32(0x3f80) == 1.0f, "bf16 1.0");
    // 1 + 2^-8 is a tie between bf16 1.0 and 1.0078125: ties to even -> 1.0; just above rounds up
    check(ditc_f32_to_bf16(1.00390625f) == 0x3f80 && ditc_f32_to_bf16(nextafterf(1.00390625f, 2.0f)) == 0x3f81 &&
              ditc_f32_to_bf16(1.01171875f) == 0x3f82,
          "bf16 round to nearest even");
    int ok = 1;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = ditc_f16_to_f32((uint16_t)h);
        if (isnan(f)) continue;
        ok &= ditc_f32_to_f16(f) == h;
    }
    check(ok, "every non-NaN F16 value round-trips through F32");
    check(ditc_f16_to_f32(0x0001) == ldexpf(1.0f, -24) && ditc_f16_to_f32(0x7bff) == 65504.0f &&
              isinf(ditc_f16_to_f32(0x7c00)),
          "f16 subnormal, max and inf");
}

int main(void) {
    ditc_backend *be = ditc_cpu_backend_new(0);
    test_params_layout(be);
    test_nograd_and_accumulation(be);
    test_checkpoint_and_arena(be);
    test_grad_reuse(be);
    test_grad_take_over(be);
    test_first_use_hook(be);
    test_dtypes();
    be->destroy(be);
    return check_summary("test_autograd");
}

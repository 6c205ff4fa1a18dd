// cpu_reduce.c — bias gradients (column sums), row reductions (sum/mean), per-row MSE.
//
// Reductions are deterministic for any thread count: every output is summed in a fixed order
// (fixed-size chunks in double, then the chunks in sequence).
#include "cpu_kernels.h"

#define CHUNK 4096

void cpu_bias_bwd(ditc_backend *be, ditc_tensor *db, const ditc_tensor *dy, int acc) {
    (void)be;
    int64_t N = db->numel, M = dy->numel / N, nblk = (N + 63) / 64;
    float *g = F32(db);
    const float *d = dy->dtype == DITC_F32 ? CF32(dy) : NULL;
    const uint16_t *d16 = dy->dtype == DITC_BF16 ? dy->data : NULL; // a bf16 output gradient (ops.h ditc_bf16_grad)
    DITC_CHECK(d || d16, "bias_bwd: dy must be F32 or BF16");
#pragma omp parallel for schedule(static) if (M * N > 32768)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t j0 = blk * 64, j1 = j0 + 64 < N ? j0 + 64 : N;
        double s[64] = {0};
        if (d) // (two loops: a select per element would keep the F32 one from vectorising)
            for (int64_t m = 0; m < M; m++)
                for (int64_t j = j0; j < j1; j++) s[j - j0] += d[m * N + j];
        else
            for (int64_t m = 0; m < M; m++)
                for (int64_t j = j0; j < j1; j++) s[j - j0] += ditc_bf16_to_f32(d16[m * N + j]);
        for (int64_t j = j0; j < j1; j++) g[j] = acc ? g[j] + (float)s[j - j0] : (float)s[j - j0];
    }
}

// out[r] (+)= scale · Σ_c f(a[r, c], b[r, c]) with f = a (b NULL) or (a − b)².
static void row_sums(ditc_backend *be, float *out, const float *a, const float *b, int64_t R, int64_t C, float scale,
                     int acc) {
    int64_t nch = (C + CHUNK - 1) / CHUNK;
    if (nch == 0) nch = 1;
    double *part = (double *)cpu_scratch(be, (size_t)(R * nch * 2));
#pragma omp parallel for schedule(static) if (R * C > 32768)
    for (int64_t q = 0; q < R * nch; q++) {
        int64_t r = q / nch, c0 = (q % nch) * CHUNK, c1 = c0 + CHUNK < C ? c0 + CHUNK : C;
        const float *ar = a + r * C, *br = b ? b + r * C : NULL;
        double s = 0.0;
        if (br) {
            for (int64_t c = c0; c < c1; c++) {
                double d = (double)ar[c] - br[c];
                s += d * d;
            }
        } else {
            for (int64_t c = c0; c < c1; c++) s += ar[c];
        }
        part[q] = s;
    }
    for (int64_t r = 0; r < R; r++) {
        double s = 0.0;
        for (int64_t k = 0; k < nch; k++) s += part[r * nch + k];
        float v = (float)(s * scale);
        out[r] = acc ? out[r] + v : v;
    }
}

void cpu_reduce_rows(ditc_backend *be, ditc_tensor *out, const ditc_tensor *x, float scale, int acc) {
    int64_t R = out->numel;
    row_sums(be, F32(out), CF32(x), NULL, R, x->numel / R, scale, acc);
}

void cpu_expand_rows(ditc_backend *be, ditc_tensor *dx, const ditc_tensor *dout, float scale, int acc) {
    (void)be;
    int64_t R = dout->numel, C = dx->numel / R;
    float *g = F32(dx);
    const float *d = CF32(dout);
#pragma omp parallel for schedule(static) if (R * C > 32768)
    for (int64_t r = 0; r < R; r++) {
        float v = scale * d[r];
        for (int64_t c = 0; c < C; c++) g[r * C + c] = acc ? g[r * C + c] + v : v;
    }
}

void cpu_mse_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *a, const ditc_tensor *b) {
    int64_t R = out->numel, C = a->numel / R;
    row_sums(be, F32(out), CF32(a), CF32(b), R, C, 1.0f / (float)C, 0);
}

void cpu_mse_bwd(ditc_backend *be, ditc_tensor *da, ditc_tensor *db, const ditc_tensor *dout, const ditc_tensor *a,
                 const ditc_tensor *b, int acc_a, int acc_b) {
    (void)be;
    int64_t R = dout->numel, C = a->numel / R;
    const float *ad = CF32(a), *bd = CF32(b), *d = CF32(dout);
    float *ga = da ? F32(da) : NULL, *gb = db ? F32(db) : NULL;
#pragma omp parallel for schedule(static) if (R * C > 32768)
    for (int64_t r = 0; r < R; r++) {
        float k = 2.0f * d[r] / (float)C;
        for (int64_t c = 0; c < C; c++) {
            int64_t i = r * C + c;
            float v = k * (ad[i] - bd[i]);
            if (ga) ga[i] = acc_a ? ga[i] + v : v;
            if (gb) gb[i] = acc_b ? gb[i] - v : -v;
        }
    }
}

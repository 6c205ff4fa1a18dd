// cpu_layout.c — embedding gather/scatter-add, patchify/unpatchify permutations, strided block copy.
#include <string.h>

#include "cpu_kernels.h"

void cpu_embed_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *table, const ditc_tensor *idx) {
    (void)be;
    int64_t N = idx->numel, K = table->shape[0], D = table->shape[1];
    const int32_t *id = idx->data;
    for (int64_t n = 0; n < N; n++) {
        DITC_CHECK(id[n] >= 0 && id[n] < K, "embedding index %d outside [0, %lld)", id[n], (long long)K);
        memcpy(F32(out) + n * D, CF32(table) + (int64_t)id[n] * D, (size_t)D * sizeof(float));
    }
}

void cpu_embed_bwd(ditc_backend *be, ditc_tensor *dtable, const ditc_tensor *dout, const ditc_tensor *idx, int acc) {
    (void)be;
    int64_t N = idx->numel, D = dtable->shape[1];
    const int32_t *id = idx->data;
    float *g = F32(dtable);
    if (!acc) memset(g, 0, ditc_nbytes(dtable));
    for (int64_t n = 0; n < N; n++) { // sequential over n: repeated indices add in a fixed order
        float *row = g + (int64_t)id[n] * D;
        const float *src = CF32(dout) + n * D;
        for (int64_t d = 0; d < D; d++) row[d] += src[d];
    }
}

// img (B, C, S, S) <-> tokens (B, G·G, C·p·p), G = S/p.
void cpu_patch_copy(ditc_backend *be, ditc_tensor *img, ditc_tensor *tokens, int p, int channel_last, int to_tokens,
                    int acc) {
    (void)be;
    int64_t B = img->shape[0], C = img->shape[1], S = img->shape[2], G = S / p, E = C * p * p;
    float *im = F32(img), *tk = F32(tokens);
#pragma omp parallel for schedule(static) if (B * C * S * S > 32768)
    for (int64_t bt = 0; bt < B * G * G; bt++) {
        int64_t b = bt / (G * G), r = (bt % (G * G)) / G, cc = bt % G;
        float *tv = tk + bt * E;
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t i = 0; i < p; i++)
                for (int64_t j = 0; j < p; j++) {
                    int64_t e = channel_last ? (i * p + j) * C + ch : (ch * p + i) * p + j;
                    float *pix = im + ((b * C + ch) * S + r * p + i) * S + cc * p + j;
                    if (to_tokens) tv[e] = acc ? tv[e] + *pix : *pix;
                    else *pix = acc ? *pix + tv[e] : tv[e];
                }
    }
}

void cpu_copy_2d(ditc_backend *be, ditc_tensor *dst, int64_t dst_off, int64_t dst_ld, const ditc_tensor *src,
                 int64_t src_off, int64_t src_ld, int64_t rows, int64_t cols, int acc) {
    (void)be;
    float *d = F32(dst) + dst_off;
    const float *s = CF32(src) + src_off;
#pragma omp parallel for schedule(static) if (rows * cols > 32768)
    for (int64_t r = 0; r < rows; r++) {
        if (acc)
            for (int64_t c = 0; c < cols; c++) d[r * dst_ld + c] += s[r * src_ld + c];
        else memcpy(d + r * dst_ld, s + r * src_ld, (size_t)cols * sizeof(float));
    }
}

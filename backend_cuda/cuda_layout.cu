// cuda_layout.cu — embedding gather / scatter-add, patchify / unpatchify permutations, strided block copy.
#include "cuda_internal.cuh"

#define TPB 256

// out (N, D) = table[idx[n]]; an index outside [0, K) gives a zero row and sets *bad (mapped host memory, checked
// by the host after its next synchronisation: no wait here).
__global__ void k_embed_fwd(float *out, const float *table, const int32_t *idx, int64_t N, int64_t K, int64_t D,
                            int *bad) {
    GRID_LOOP(i, N * D) {
        int32_t k = idx[i / D];
        if (k < 0 || k >= K) {
            *bad = 1;
            out[i] = 0.0f;
        } else {
            out[i] = table[(int64_t)k * D + i % D];
        }
    }
}

extern "C" void cuda_embed_fwd(ditc_backend *be, ditc_tensor *out, const ditc_tensor *table, const ditc_tensor *idx) {
    int64_t N = idx->numel, K = table->shape[0], D = table->shape[1];
    if (!N) return;
    cuda_ctx *c = cctx(be);
    int *bad = NULL; // the device's address of the mapped flag (the host's own under unified addressing)
    CUDA_CHECK(cudaHostGetDevicePointer((void **)&bad, c->bad_index, 0));
    c->bad_index_k = K;
    k_embed_fwd<<<grid_for(N * D, TPB), TPB, 0, c->stream>>>(F32P(out), CF32P(table), (const int32_t *)idx->data, N, K,
                                                             D, bad);
    CUDA_LAUNCHED();
}

// Scatter-add with a fixed order: one thread per column d walks n = 0..N-1 (repeated indices add in order).
__global__ void k_embed_bwd(float *g, const float *dout, const int32_t *idx, int64_t N, int64_t D) {
    GRID_LOOP(d, D) {
        for (int64_t n = 0; n < N; n++) g[(int64_t)idx[n] * D + d] += dout[n * D + d];
    }
}

extern "C" void cuda_embed_bwd(ditc_backend *be, ditc_tensor *dtable, const ditc_tensor *dout, const ditc_tensor *idx,
                               int acc) {
    int64_t N = idx->numel, D = dtable->shape[1];
    if (!acc) CUDA_CHECK(cudaMemsetAsync(dtable->data, 0, ditc_nbytes(dtable), cstream(be)));
    if (!N) return;
    k_embed_bwd<<<grid_for(D, 128), 128, 0, cstream(be)>>>(F32P(dtable), CF32P(dout), (const int32_t *)idx->data, N, D);
    CUDA_LAUNCHED();
}

// img (B, C, S, S) <-> tokens (B, G·G, C·p·p): one thread per token element.
__global__ void k_patch(float *im, float *tk, int64_t C, int64_t S, int64_t G, int p, int channel_last, int to_tokens,
                        int acc, int64_t n) {
    int64_t E = C * p * p;
    GRID_LOOP(q, n) {
        int64_t bt = q / E, e = q % E, b = bt / (G * G), r = (bt % (G * G)) / G, cc = bt % G, ch, i, j;
        if (channel_last) {
            ch = e % C;
            j = (e / C) % p;
            i = e / (C * p);
        } else {
            j = e % p;
            i = (e / p) % p;
            ch = e / (p * p);
        }
        float *pix = im + ((b * C + ch) * S + r * p + i) * S + cc * p + j;
        if (to_tokens) tk[q] = acc ? tk[q] + *pix : *pix;
        else *pix = acc ? *pix + tk[q] : tk[q];
    }
}

extern "C" void cuda_patch_copy(ditc_backend *be, ditc_tensor *img, ditc_tensor *tokens, int p, int channel_last,
                                int to_tokens, int acc) {
    int64_t C = img->shape[1], S = img->shape[2], G = S / p, n = tokens->numel;
    if (!n) return;
    k_patch<<<grid_for(n, TPB), TPB, 0, cstream(be)>>>(F32P(img), F32P(tokens), C, S, G, p, channel_last, to_tokens,
                                                       acc, n);
    CUDA_LAUNCHED();
}

__global__ void k_copy_2d(float *d, int64_t dld, const float *s, int64_t sld, int64_t rows, int64_t cols, int acc) {
    GRID_LOOP(q, rows * cols) {
        int64_t r = q / cols, c = q % cols;
        float v = s[r * sld + c];
        d[r * dld + c] = acc ? d[r * dld + c] + v : v;
    }
}

extern "C" void cuda_copy_2d(ditc_backend *be, ditc_tensor *dst, int64_t dst_off, int64_t dst_ld,
                             const ditc_tensor *src, int64_t src_off, int64_t src_ld, int64_t rows, int64_t cols,
                             int acc) {
    if (rows * cols == 0) return;
    float *d = F32P(dst) + dst_off;
    const float *s = CF32P(src) + src_off;
    if (!acc && dst_ld >= cols &&
        src_ld >= cols) { // (cudaMemcpy2D takes no stride shorter than a row: the kernel does)
        CUDA_CHECK(cudaMemcpy2DAsync(d, (size_t)dst_ld * sizeof(float), s, (size_t)src_ld * sizeof(float),
                                     (size_t)cols * sizeof(float), (size_t)rows, cudaMemcpyDeviceToDevice,
                                     cstream(be)));
        return;
    }
    k_copy_2d<<<grid_for(rows * cols, TPB), TPB, 0, cstream(be)>>>(d, dst_ld, s, src_ld, rows, cols, acc);
    CUDA_LAUNCHED();
}

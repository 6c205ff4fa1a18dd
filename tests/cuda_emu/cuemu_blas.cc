// cuemu_blas.cc — the cuBLAS and cuBLASLt calls of the CUDA backend, on the host, as their documentation states
// them (column-major; C = alpha·op(A)·op(B) + beta·C, C not read when beta is 0), with the argument checks cuBLAS
// makes (leading dimensions, sizes, the type combinations GemmEx supports — an unsupported one returns
// NOT_SUPPORTED as the library does) and cuBLASLt's epilogues: BIAS, GELU_AUX(_BIAS) (tanh GELU, pre-activation
// into the aux buffer), BGRADB (the bias gradient: the sums over k of op(B)'s columns), DGELU (the product times the
// tanh GELU's derivative at the pre-activation the aux buffer holds).
// Products are summed in F32 by the host's BLAS (OpenBLAS sgemm); TF32 compute rounds F32 operands to TF32 first
// (as the tensor cores read them); BF16 operands are exact in float.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include <cblas.h>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>

#include "cuemu_internal.h"

struct cublasContext {
    int magic;
    cudaStream_t stream;
};
struct cublasLtContext {
    int magic;
};

static float bf16_to_f(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint16_t f_to_bf16(float f) { // round to nearest even (NaN stays NaN)
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}
static float to_tf32(float f) { // 10 mantissa bits, nearest
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return f;
    u += 0xfffu + ((u >> 13) & 1);
    u &= 0xffffe000u;
    memcpy(&f, &u, 4);
    return f;
}

static float load(const void *p, cudaDataType t, int64_t i) {
    return t == CUDA_R_16BF ? bf16_to_f(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}
static void store(void *p, cudaDataType t, int64_t i, float v) {
    if (t == CUDA_R_16BF) ((uint16_t *)p)[i] = f_to_bf16(v);
    else ((float *)p)[i] = v;
}

enum { EPI_NONE = 0, EPI_BIAS = 1, EPI_GELU = 2, EPI_BGRADB = 4, EPI_DGELU = 8 };

struct gemm_args {
    int ta, tb;
    int64_t m, n, k;
    float alpha, beta;
    const void *a;
    cudaDataType at;
    int64_t lda;
    const void *b;
    cudaDataType bt;
    int64_t ldb;
    const void *c;
    void *d;
    cudaDataType ct;
    int64_t ldc, ldd;
    int tf32;
    int epi;
    const void *bias; // (m), type bias_t
    cudaDataType bias_t;
    void *aux; // pre-activation (ldaux), type ct: written (GELU), read (DGELU)
    int64_t ldaux;
    float *bgrad; // (n)
};

static float gelu_tanh(float x) {
    const float k0 = 0.7978845608028654f, k1 = 0.044715f;
    return 0.5f * x * (1.0f + tanhf(k0 * (x + k1 * x * x * x)));
}
// d/dx of gelu_tanh: 0.5·(1 + t) + 0.5·x·(1 − t²)·k0·(1 + 3·k1·x²), t = tanh(k0·(x + k1·x³))
static float dgelu_tanh(float x) {
    const float k0 = 0.7978845608028654f, k1 = 0.044715f;
    float t = tanhf(k0 * (x + k1 * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k0 * (1.0f + 3.0f * k1 * x * x);
}

// The bytes a column-major rows × cols matrix with leading dimension ld spans (0 when empty).
static size_t span(int64_t rows, int64_t cols, int64_t ld, cudaDataType t) {
    return rows && cols ? (size_t)(ld * (cols - 1) + rows) * (t == CUDA_R_16BF ? 2 : 4) : 0;
}

// D = epilogue(alpha·op(A)·op(B) + beta·C); every operand must lie inside one device allocation, as a GPU needs
// (a wrong ld or stride that runs past an operand, or a host pointer, stops the program with the offsets)
static void gemm_run(const gemm_args &g) {
    cuemu_note_work();
    int64_t m = g.m, n = g.n, k = g.k;
    cuemu_check_device_range("cuBLAS operand A", g.a, span(g.ta ? k : m, g.ta ? m : k, g.lda, g.at));
    cuemu_check_device_range("cuBLAS operand B", g.b, span(g.tb ? n : k, g.tb ? k : n, g.ldb, g.bt));
    cuemu_check_device_range("cuBLAS result", g.d, span(m, n, g.ldd, g.ct));
    if (g.beta != 0.0f) cuemu_check_device_range("cuBLAS C", g.c, span(m, n, g.ldc, g.ct));
    if (g.epi & EPI_BIAS)
        cuemu_check_device_range("cuBLASLt bias", g.bias, (size_t)m * (g.bias_t == CUDA_R_16BF ? 2 : 4));
    if (g.epi & (EPI_GELU | EPI_DGELU)) cuemu_check_device_range("cuBLASLt aux", g.aux, span(m, n, g.ldaux, g.ct));
    if (g.epi & EPI_BGRADB) cuemu_check_device_range("cuBLASLt bias gradient", g.bgrad, (size_t)n * 4);
    std::vector<float> ar((size_t)(m * k)), bc((size_t)(n * k)); // op(A) rows, op(B) columns, k contiguous
    for (int64_t i = 0; i < m; i++)
        for (int64_t p = 0; p < k; p++) {
            float v = load(g.a, g.at, g.ta ? p + i * g.lda : i + p * g.lda);
            ar[(size_t)(i * k + p)] = g.tf32 ? to_tf32(v) : v;
        }
    for (int64_t j = 0; j < n; j++)
        for (int64_t p = 0; p < k; p++) {
            float v = load(g.b, g.bt, g.tb ? j + p * g.ldb : p + j * g.ldb);
            bc[(size_t)(j * k + p)] = g.tf32 ? to_tf32(v) : v;
        }
    // the products on the host BLAS (F32 sums, the order OpenBLAS chooses — as a GPU GEMM's order is its own):
    // prod (n, m) row-major = op(B)ᵀ·op(A)ᵀ, i.e. op(A)·op(B) column-major
    std::vector<float> prod((size_t)(m * n));
    if (m && n && k)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)k, 1.0f, bc.data(), (int)k, ar.data(),
                    (int)k, 0.0f, prod.data(), (int)m);
    else std::fill(prod.begin(), prod.end(), 0.0f);
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; j++) {
        for (int64_t i = 0; i < m; i++) {
            float v = g.alpha * prod[(size_t)(j * m + i)];
            if (g.beta != 0.0f) v += g.beta * load(g.c, g.ct, i + j * g.ldc);
            if (g.epi & EPI_BIAS) v += load(g.bias, g.bias_t, i);
            if (g.epi & EPI_GELU) {
                store(g.aux, g.ct, i + j * g.ldaux, v);
                v = gelu_tanh(v);
            }
            if (g.epi & EPI_DGELU) v *= dgelu_tanh(load(g.aux, g.ct, i + j * g.ldaux));
            store(g.d, g.ct, i + j * g.ldd, v);
        }
    }
    if (g.epi & EPI_BGRADB)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t p = 0; p < k; p++) s += bc[(size_t)(j * k + p)];
            g.bgrad[j] = (float)s;
        }
}

extern "C" {

const char *cublasGetStatusString(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    default: return "CUBLAS_STATUS (cuemu)";
    }
}

cublasStatus_t cublasCreate_v2(cublasHandle_t *h) {
    *h = new cublasContext{0xb1a5, 0};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy_v2(cublasHandle_t h) {
    if (!h || h->magic != 0xb1a5) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->magic = 0;
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s) {
    if (!h || h->magic != 0xb1a5) return CUBLAS_STATUS_NOT_INITIALIZED;
    cuemu_stream_check(s);
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}

} // extern "C"

// cublasGemmEx's checks: sizes, leading dimensions (column-major storage of A: m×k (N) or k×m (T)), types.
static cublasStatus_t gemm_check(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                 cudaDataType at, int lda, cudaDataType bt, int ldb, cudaDataType ct, int ldc,
                                 cublasComputeType_t comp, int *tf32) {
    if (!h || h->magic != 0xb1a5) return CUBLAS_STATUS_NOT_INITIALIZED;
    if ((ta != CUBLAS_OP_N && ta != CUBLAS_OP_T) || (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T))
        return CUBLAS_STATUS_INVALID_VALUE;
    int rows_a = ta == CUBLAS_OP_N ? m : k, rows_b = tb == CUBLAS_OP_N ? k : n;
    if (m < 0 || n < 0 || k < 0 || lda < (rows_a > 1 ? rows_a : 1) || ldb < (rows_b > 1 ? rows_b : 1) ||
        ldc < (m > 1 ? m : 1)) {
        fprintf(stderr, "cuemu: cublasGemm: m %d n %d k %d, lda %d ldb %d ldc %d (transa %d transb %d): invalid\n", m,
                n, k, lda, ldb, ldc, ta, tb);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    *tf32 = comp == CUBLAS_COMPUTE_32F_FAST_TF32;
    int ok = 0;
    if (at == CUDA_R_32F && bt == CUDA_R_32F && ct == CUDA_R_32F)
        ok = comp == CUBLAS_COMPUTE_32F || comp == CUBLAS_COMPUTE_32F_PEDANTIC ||
             comp == CUBLAS_COMPUTE_32F_FAST_TF32 || comp == CUBLAS_COMPUTE_32F_FAST_16BF ||
             comp == CUBLAS_COMPUTE_32F_FAST_16F;
    else if (at == CUDA_R_16BF && bt == CUDA_R_16BF && (ct == CUDA_R_16BF || ct == CUDA_R_32F))
        ok = comp == CUBLAS_COMPUTE_32F || comp == CUBLAS_COMPUTE_32F_PEDANTIC;
    if (!ok) {
        fprintf(stderr, "cuemu: cublasGemm: types A %d B %d C %d with compute %d: not supported by cuBLAS\n", at, bt,
                ct, comp);
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    return CUBLAS_STATUS_SUCCESS;
}

static gemm_args plain(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void *alpha,
                       const void *a, cudaDataType at, int lda, const void *b, cudaDataType bt, int ldb,
                       const void *beta, void *c, cudaDataType ct, int ldc, int tf32) {
    gemm_args g;
    memset(&g, 0, sizeof g);
    g.ta = ta == CUBLAS_OP_T, g.tb = tb == CUBLAS_OP_T;
    g.m = m, g.n = n, g.k = k;
    g.alpha = *(const float *)alpha, g.beta = *(const float *)beta;
    g.a = a, g.at = at, g.lda = lda, g.b = b, g.bt = bt, g.ldb = ldb;
    g.c = c, g.d = c, g.ct = ct, g.ldc = ldc, g.ldd = ldc;
    g.tf32 = tf32;
    return g;
}

extern "C" {

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType at, int lda, const void *B, cudaDataType bt,
                            int ldb, const void *beta, void *C, cudaDataType ct, int ldc, cublasComputeType_t comp,
                            cublasGemmAlgo_t algo) {
    (void)algo;
    int tf32 = 0;
    cublasStatus_t s = gemm_check(h, ta, tb, m, n, k, at, lda, bt, ldb, ct, ldc, comp, &tf32);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    cuemu_device_access(1);
    gemm_run(plain(ta, tb, m, n, k, alpha, A, at, lda, B, bt, ldb, beta, C, ct, ldc, tf32));
    cuemu_device_access(0);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                          int k, const void *alpha, const void *A, cudaDataType at, int lda,
                                          long long sa, const void *B, cudaDataType bt, int ldb, long long sb,
                                          const void *beta, void *C, cudaDataType ct, int ldc, long long sc, int batch,
                                          cublasComputeType_t comp, cublasGemmAlgo_t algo) {
    (void)algo;
    int tf32 = 0;
    cublasStatus_t s = gemm_check(h, ta, tb, m, n, k, at, lda, bt, ldb, ct, ldc, comp, &tf32);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
    size_t ea = at == CUDA_R_16BF ? 2 : 4, eb = bt == CUDA_R_16BF ? 2 : 4, ec = ct == CUDA_R_16BF ? 2 : 4;
    cuemu_device_access(1);
    for (int i = 0; i < batch; i++)
        gemm_run(plain(ta, tb, m, n, k, alpha, (const char *)A + (size_t)(i * sa) * ea, at, lda,
                       (const char *)B + (size_t)(i * sb) * eb, bt, ldb, beta, (char *)C + (size_t)(i * sc) * ec, ct,
                       ldc, tf32));
    cuemu_device_access(0);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const void *alpha, const void *const Aarray[], cudaDataType at, int lda,
                                   const void *const Barray[], cudaDataType bt, int ldb, const void *beta,
                                   void *const Carray[], cudaDataType ct, int ldc, int batch, cublasComputeType_t comp,
                                   cublasGemmAlgo_t algo) {
    (void)algo;
    int tf32 = 0;
    cublasStatus_t s = gemm_check(h, ta, tb, m, n, k, at, lda, bt, ldb, ct, ldc, comp, &tf32);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
    for (const void *arr : {(const void *)Aarray, (const void *)Barray, (const void *)Carray})
        cuemu_check_device_range("cublasGemmBatchedEx pointer array", arr, (size_t)batch * sizeof(void *));
    cuemu_device_access(1);
    for (int i = 0; i < batch; i++)
        gemm_run(plain(ta, tb, m, n, k, alpha, Aarray[i], at, lda, Barray[i], bt, ldb, beta, Carray[i], ct, ldc, tf32));
    cuemu_device_access(0);
    return CUBLAS_STATUS_SUCCESS;
}

// ---- cuBLASLt ----
struct lt_desc {
    int magic;
    cublasComputeType_t compute;
    cudaDataType_t scale;
    int32_t ta, tb;
    uint32_t epi;
    const void *bias;
    int32_t bias_type;
    void *aux;
    int64_t aux_ld;
    int32_t aux_type;
};
struct lt_layout {
    int magic;
    cudaDataType type;
    uint64_t rows, cols;
    int64_t ld;
};
static_assert(sizeof(lt_desc) <= sizeof(cublasLtMatmulDescOpaque_t), "descriptor");
static_assert(sizeof(lt_layout) <= sizeof(cublasLtMatrixLayoutOpaque_t), "layout");

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) {
    *h = new cublasLtContext{0x17};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) {
    if (!h || h->magic != 0x17) return CUBLAS_STATUS_NOT_INITIALIZED;
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t comp, cudaDataType_t scale) {
    cublasLtMatmulDescOpaque_t *o = new cublasLtMatmulDescOpaque_t;
    memset(o, 0, sizeof *o);
    lt_desc *p = (lt_desc *)o;
    p->magic = 0xde5c;
    p->compute = comp;
    p->scale = scale;
    p->bias_type = -1;
    p->aux_type = -1;
    *d = o;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
    if (!d || ((lt_desc *)d)->magic != 0xde5c) return CUBLAS_STATUS_INVALID_VALUE;
    ((lt_desc *)d)->magic = 0;
    delete d;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const void *buf,
                                              size_t size) {
    lt_desc *p = (lt_desc *)d;
    if (!p || p->magic != 0xde5c || !buf) return CUBLAS_STATUS_INVALID_VALUE;
#define SET(field, bytes)                                                                                              \
    do {                                                                                                               \
        if (size != (bytes)) return CUBLAS_STATUS_INVALID_VALUE;                                                       \
        memcpy(&p->field, buf, bytes);                                                                                 \
        return CUBLAS_STATUS_SUCCESS;                                                                                  \
    } while (0)
    switch (a) {
    case CUBLASLT_MATMUL_DESC_TRANSA: SET(ta, 4);
    case CUBLASLT_MATMUL_DESC_TRANSB: SET(tb, 4);
    case CUBLASLT_MATMUL_DESC_EPILOGUE: SET(epi, 4);
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: SET(bias, sizeof(void *));
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: SET(bias_type, 4);
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER: SET(aux, sizeof(void *));
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD: SET(aux_ld, 8);
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE: SET(aux_type, 4);
    default: fprintf(stderr, "cuemu: cublasLtMatmulDescSetAttribute: attribute %d not emulated\n", a); abort();
    }
#undef SET
}
cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType t, uint64_t rows, uint64_t cols,
                                          int64_t ld) {
    cublasLtMatrixLayoutOpaque_t *o = new cublasLtMatrixLayoutOpaque_t;
    memset(o, 0, sizeof *o);
    lt_layout *p = (lt_layout *)o;
    p->magic = 0x1a70;
    p->type = t, p->rows = rows, p->cols = cols, p->ld = ld;
    *l = o;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
    if (!l || ((lt_layout *)l)->magic != 0x1a70) return CUBLAS_STATUS_INVALID_VALUE;
    ((lt_layout *)l)->magic = 0;
    delete l;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) {
    *p = new cublasLtMatmulPreferenceOpaque_t;
    memset(*p, 0, sizeof **p);
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
    delete p;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                                    cublasLtMatmulPreferenceAttributes_t a, const void *buf,
                                                    size_t size) {
    if (!p || !buf) return CUBLAS_STATUS_INVALID_VALUE;
    switch (a) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES:
        return size == 8 ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES:
        return size == 4 ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
    default: fprintf(stderr, "cuemu: cublasLtMatmulPreferenceSetAttribute: attribute %d not emulated\n", a); abort();
    }
}

} // extern "C"

// The matmul the descriptor and layouts describe, checked as cuBLASLt checks them (shapes agree, ld ≥ rows, the
// epilogue's pointers and types are set); INVALID_VALUE / NOT_SUPPORTED otherwise.
static cublasStatus_t lt_args(cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t la, cublasLtMatrixLayout_t lb,
                              cublasLtMatrixLayout_t lc, cublasLtMatrixLayout_t ld, gemm_args *g) {
    const lt_desc *d = (const lt_desc *)desc;
    const lt_layout *A = (const lt_layout *)la, *B = (const lt_layout *)lb, *C = (const lt_layout *)lc,
                    *D = (const lt_layout *)ld;
    if (!d || d->magic != 0xde5c || !A || !B || !C || !D || A->magic != 0x1a70 || B->magic != 0x1a70 ||
        C->magic != 0x1a70 || D->magic != 0x1a70)
        return CUBLAS_STATUS_INVALID_VALUE;
    memset(g, 0, sizeof *g);
    g->ta = d->ta == CUBLAS_OP_T, g->tb = d->tb == CUBLAS_OP_T;
    g->m = (int64_t)D->rows, g->n = (int64_t)D->cols;
    g->k = (int64_t)(g->ta ? A->rows : A->cols);
    const char *bad = NULL;
    if ((int64_t)(g->ta ? A->cols : A->rows) != g->m) bad = "op(A) rows differ from D's";
    else if ((int64_t)(g->tb ? B->cols : B->rows) != g->k) bad = "op(B) rows differ from op(A) columns (k)";
    else if ((int64_t)(g->tb ? B->rows : B->cols) != g->n) bad = "op(B) columns differ from D's";
    else if (C->rows != D->rows || C->cols != D->cols || C->type != D->type) bad = "C and D layouts differ";
    else if (A->ld < (int64_t)A->rows || B->ld < (int64_t)B->rows || D->ld < (int64_t)D->rows ||
             C->ld < (int64_t)C->rows)
        bad = "a leading dimension below its rows";
    else if (d->scale != CUDA_R_32F) bad = "scale type not F32";
    uint32_t e = d->epi;
    if (!bad) {
        if (e == CUBLASLT_EPILOGUE_DEFAULT) g->epi = EPI_NONE;
        else if (e == CUBLASLT_EPILOGUE_BIAS) g->epi = EPI_BIAS;
        else if (e == CUBLASLT_EPILOGUE_GELU_AUX) g->epi = EPI_GELU;
        else if (e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS) g->epi = EPI_GELU | EPI_BIAS;
        else if (e == CUBLASLT_EPILOGUE_BGRADB) g->epi = EPI_BGRADB;
        else if (e == CUBLASLT_EPILOGUE_DGELU) g->epi = EPI_DGELU;
        else bad = "epilogue not emulated";
    }
    // the bias (gradient) type: unset means D's; it must be D's (cublasLt.h, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: the
    // exceptions are integer and FP8 kernels only) — an F32 bias with a BF16 D has no algorithm
    int32_t bt = d->bias_type < 0 ? (int32_t)D->type : d->bias_type;
    if (!bad && (g->epi & (EPI_BIAS | EPI_BGRADB)) && (!d->bias || bt != (int32_t)D->type))
        bad = "bias pointer not set, or a bias type other than D's";
    if (!bad && (g->epi & EPI_BGRADB) && bt != CUDA_R_32F) bad = "a BF16 bias gradient (not emulated)";
    if (!bad && (g->epi & (EPI_GELU | EPI_DGELU)) &&
        (!d->aux || d->aux_ld < g->m || d->aux_ld % 8 || (d->aux_type >= 0 && d->aux_type != (int32_t)D->type)))
        bad = "aux pointer unset, aux ld below the rows of D or not a multiple of 8, or an aux type other than D's";
    if (bad) {
        fprintf(stderr, "cuemu: cublasLtMatmul: %s\n", bad);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    int ok = 0;
    if (A->type == CUDA_R_32F && B->type == CUDA_R_32F && D->type == CUDA_R_32F)
        ok = d->compute == CUBLAS_COMPUTE_32F || d->compute == CUBLAS_COMPUTE_32F_FAST_TF32;
    else if (A->type == CUDA_R_16BF && B->type == CUDA_R_16BF && (D->type == CUDA_R_16BF || D->type == CUDA_R_32F))
        ok = d->compute == CUBLAS_COMPUTE_32F;
    if (!ok) return CUBLAS_STATUS_NOT_SUPPORTED;
    g->tf32 = d->compute == CUBLAS_COMPUTE_32F_FAST_TF32;
    g->at = A->type, g->lda = A->ld, g->bt = B->type, g->ldb = B->ld;
    g->ct = D->type, g->ldc = C->ld, g->ldd = D->ld;
    g->bias = g->epi & EPI_BIAS ? d->bias : NULL;
    g->bias_t = (cudaDataType)bt;
    g->bgrad = g->epi & EPI_BGRADB ? (float *)d->bias : NULL;
    g->aux = d->aux, g->ldaux = d->aux_ld;
    return CUBLAS_STATUS_SUCCESS;
}

extern "C" {

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t la,
                                              cublasLtMatrixLayout_t lb, cublasLtMatrixLayout_t lc,
                                              cublasLtMatrixLayout_t ld, cublasLtMatmulPreference_t pref, int want,
                                              cublasLtMatmulHeuristicResult_t res[], int *found) {
    if (!h || h->magic != 0x17 || !pref || want < 1) return CUBLAS_STATUS_INVALID_VALUE;
    gemm_args g;
    cublasStatus_t s = lt_args(desc, la, lb, lc, ld, &g);
    *found = 0;
    if (s == CUBLAS_STATUS_NOT_SUPPORTED) return s;
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    memset(&res[0], 0, sizeof res[0]);
    res[0].algo.data[0] = 0xa160;
    res[0].state = CUBLAS_STATUS_SUCCESS;
    res[0].wavesCount = 1.0f;
    *found = 1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t desc, const void *alpha, const void *A,
                              cublasLtMatrixLayout_t la, const void *B, cublasLtMatrixLayout_t lb, const void *beta,
                              const void *C, cublasLtMatrixLayout_t lc, void *D, cublasLtMatrixLayout_t ld,
                              const cublasLtMatmulAlgo_t *algo, void *ws, size_t ws_bytes, cudaStream_t stream) {
    (void)ws, (void)ws_bytes;
    if (!h || h->magic != 0x17) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (algo && algo->data[0] != 0xa160) return CUBLAS_STATUS_INVALID_VALUE;
    cuemu_stream_check(stream);
    gemm_args g;
    cublasStatus_t s = lt_args(desc, la, lb, lc, ld, &g);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    g.alpha = *(const float *)alpha, g.beta = *(const float *)beta;
    g.a = A, g.b = B, g.c = C, g.d = D;
    cuemu_device_access(1);
    gemm_run(g);
    cuemu_device_access(0);
    return CUBLAS_STATUS_SUCCESS;
}

} // extern "C"

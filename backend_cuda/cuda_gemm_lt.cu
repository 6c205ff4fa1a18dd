// cuda_gemm_lt.cu — the GEMM with a bias epilogue on cuBLASLt (CUBLASLT_EPILOGUE_BIAS): C = op(A)·op(B) + bias
// per row (batch 1, beta 0), the bias added in F32 before C is written as F32 or rounded to BF16 — one pass instead
// of a bias fill read back by a beta = 1 GEMM (or a GEMM into F32 scratch and a bias + rounding kernel).
//
// Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLASLt's first operand is B, its D has n rows
// (the bias length) and m columns. A plan (descriptors, layouts and the heuristic's algorithm) is cached per shape,
// types and pointer alignments; only the pointers change between calls. Used at tf32 / bf16 precision (fp32 keeps
// the plain cuBLAS path); DITC_CUBLASLT=0 turns it off (A/B runs); any status other than success falls back.
#include <cublasLt.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.cuh"

#define LT_WORKSPACE (32u << 20) // cuBLAS's recommendation for Hopper
#define LT_PLANS     128

typedef struct {
    int64_t m, n, k, lda, ldb, ldc;
    int trans_a, trans_b, a_type, b_type, c_type, compute, align; // align: min pointer alignment (bytes, ≤ 256)
} lt_key;

typedef struct {
    lt_key key;
    int ok; // 0: cuBLASLt has no algorithm for it (the caller falls back)
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
} lt_plan;

typedef struct {
    cublasLtHandle_t handle;
    void *workspace;
    lt_plan plans[LT_PLANS];
    int n_plans;
} lt_state;

static int lt_wanted(void) {
    static int wanted = -1;
    if (wanted < 0) {
        const char *e = getenv("DITC_CUBLASLT");
        wanted = !(e && !strcmp(e, "0"));
    }
    return wanted;
}

static int align_of(const void *p) {
    uintptr_t a = (uintptr_t)p;
    int al = 256;
    while (al > 1 && a % (uintptr_t)al) al >>= 1;
    return al;
}

#define LT_TRY(x)                                                                                                      \
    do {                                                                                                               \
        if ((x) != CUBLAS_STATUS_SUCCESS) goto fail;                                                                   \
    } while (0)

static int plan_build(lt_state *s, lt_plan *p, const void *bias) {
    const lt_key *k = &p->key;
    cublasOperation_t ta = k->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, tb = k->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    int32_t bias_type = CUDA_R_32F;
    uint64_t ws = LT_WORKSPACE;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    memset(&res, 0, sizeof res);
    LT_TRY(cublasLtMatmulDescCreate(&p->op, (cublasComputeType_t)k->compute, CUDA_R_32F));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    // the first operand is B: op(B)ᵀ is n×k, stored n×k (N) or k×n (T) column-major with ld ldb; then A (k×m)
    LT_TRY(cublasLtMatrixLayoutCreate(&p->la, (cudaDataType_t)k->b_type, k->trans_b ? k->k : k->n,
                                      k->trans_b ? k->n : k->k, k->ldb));
    LT_TRY(cublasLtMatrixLayoutCreate(&p->lb, (cudaDataType_t)k->a_type, k->trans_a ? k->m : k->k,
                                      k->trans_a ? k->k : k->m, k->lda));
    LT_TRY(cublasLtMatrixLayoutCreate(&p->lc, (cudaDataType_t)k->c_type, k->n, k->m, k->ldc));
    LT_TRY(cublasLtMatmulPreferenceCreate(&pref));
    LT_TRY(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    LT_TRY(cublasLtMatmulAlgoGetHeuristic(s->handle, p->op, p->la, p->lb, p->lc, p->lc, pref, 1, &res, &found));
    cublasLtMatmulPreferenceDestroy(pref);
    if (found < 1 || res.state != CUBLAS_STATUS_SUCCESS) return 0;
    p->algo = res.algo;
    return 1;
fail:
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    return 0;
}

static lt_state *lt_get(ditc_backend *be) {
    cuda_ctx *c = cctx(be);
    if (c->lt == (void *)-1) return NULL;
    if (!c->lt) {
        lt_state *s = (lt_state *)ditc_xcalloc(1, sizeof *s);
        if (cublasLtCreate(&s->handle) != CUBLAS_STATUS_SUCCESS ||
            cudaMallocFromPoolAsync(&s->workspace, LT_WORKSPACE, c->pool, c->stream) != cudaSuccess) {
            (void)cudaGetLastError();
            free(s);
            c->lt = (void *)-1;
            return NULL;
        }
        c->lt = s;
    }
    return (lt_state *)c->lt;
}

extern "C" int cuda_gemm_lt_bias(ditc_backend *be, const ditc_gemm *g, const void *a, cudaDataType_t at, const void *b,
                                 cudaDataType_t bt, cudaDataType_t ct, cublasComputeType_t compute) {
    if (!lt_wanted() || !g->bias || g->batch != 1 || g->beta != 0.0f) return 0;
    lt_state *s = lt_get(be);
    if (!s) return 0;
    lt_key key;
    memset(&key, 0, sizeof key); // the padding too: keys are compared with memcmp
    key.m = g->m, key.n = g->n, key.k = g->k, key.lda = g->lda, key.ldb = g->ldb, key.ldc = g->ldc;
    key.trans_a = g->trans_a, key.trans_b = g->trans_b, key.a_type = at, key.b_type = bt, key.c_type = ct;
    key.compute = compute;
    int al = align_of(a);
    if (align_of(b) < al) al = align_of(b);
    if (align_of(g->c) < al) al = align_of(g->c);
    if (align_of(g->bias) < al) al = align_of(g->bias);
    key.align = al;
    lt_plan *p = NULL;
    for (int i = 0; i < s->n_plans && !p; i++)
        if (!memcmp(&s->plans[i].key, &key, sizeof key)) p = &s->plans[i];
    if (!p) {
        if (s->n_plans == LT_PLANS) return 0; // more shapes than a model has: the plain path
        p = &s->plans[s->n_plans++];
        memset(p, 0, sizeof *p);
        p->key = key;
        p->ok = plan_build(s, p, g->bias);
    }
    if (!p->ok) return 0;
    const void *bias = g->bias;
    float alpha = g->alpha, beta = 0.0f;
    if (cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias) !=
        CUBLAS_STATUS_SUCCESS)
        return 0;
    cublasStatus_t st = cublasLtMatmul(s->handle, p->op, &alpha, b, p->la, a, p->lb, &beta, g->c, p->lc, g->c, p->lc,
                                       &p->algo, s->workspace, LT_WORKSPACE, cstream(be));
    if (st != CUBLAS_STATUS_SUCCESS) {
        p->ok = 0; // not again for this plan
        return 0;
    }
    return 1;
}

extern "C" void cuda_gemm_lt_free(ditc_backend *be) {
    cuda_ctx *c = cctx(be);
    if (!c->lt || c->lt == (void *)-1) return;
    lt_state *s = (lt_state *)c->lt;
    for (int i = 0; i < s->n_plans; i++) {
        lt_plan *p = &s->plans[i];
        if (p->lc) cublasLtMatrixLayoutDestroy(p->lc);
        if (p->lb) cublasLtMatrixLayoutDestroy(p->lb);
        if (p->la) cublasLtMatrixLayoutDestroy(p->la);
        if (p->op) cublasLtMatmulDescDestroy(p->op);
    }
    cudaFreeAsync(s->workspace, c->stream);
    cublasLtDestroy(s->handle);
    free(s);
    c->lt = NULL;
}

// cuda_gemm_lt.cu — the GEMM epilogues of core/tensor/backend.h on cuBLASLt, one matrix each:
//  - bias (CUBLASLT_EPILOGUE_BIAS): C = op(A)·op(B) + bias per row (beta 0), added in F32 before C is written as F32
//    or rounded to BF16 (a BF16 D takes its bias as BF16: cuda_gemm rounds it first, as backend.h says for every
//    backend) — one pass instead of a bias fill read back by a beta = 1 GEMM (or a GEMM into F32 scratch and a
//    bias + rounding kernel);
//  - gelu_aux (GELU_AUX_BIAS, or GELU_AUX without a bias; cuBLASLt's GELU is the tanh approximation, as
//    F.gelu(approximate="tanh"), which torch's addmm + GELU fusion relies on): C = gelu(pre-activation) and the
//    pre-activation into the aux buffer (C's type, ld ldc), instead of writing it and reading it back for GELU;
//  - bias_grad (BGRADB): the sums over k of the output gradient A, in the dW GEMM that reads it (any beta);
//  - dgelu_aux (DGELU): C = the product times GELU-tanh' at the pre-activation in the aux buffer (C's type, ld ldc:
//    what GELU_AUX kept), in the dx GEMM of the linear after the GELU, instead of writing that gradient and reading
//    it back for GELU's backward.
//
// Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLASLt's first operand is B, its second A; its D
// has n rows (the bias length) and m columns (the bias gradient's length: reduced from its second operand, BGRADB).
// A plan (descriptors, layouts and the heuristic's algorithm) is cached per shape, types and pointer alignments (the
// matrices' least, and the bias's and aux buffer's own, which the heuristic reads from their pointers); only the
// pointers change between calls. Used at tf32 / bf16 precision (fp32 keeps
// the plain cuBLAS path); DITC_CUBLASLT=0 turns it off (A/B runs); any status other than success falls back.
#include <cublasLt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.cuh"

#define LT_WORKSPACE (32u << 20) // cuBLAS's recommendation for Hopper
#define LT_PLANS     512         // shapes × types × epilogues × pointer alignments of a model's GEMMs

typedef struct {
    int64_t m, n, k, lda, ldb, ldc;
    int trans_a, trans_b, a_type, b_type, c_type, compute, align; // align: min pointer alignment (bytes, ≤ 256)
    int epi;                                                      // cublasLtEpilogue_t
    int bias_align, aux_align; // the heuristic reads these pointers' alignment from their values (0: none)
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
    static int off = -1;
    return !ditc_env_off("DITC_CUBLASLT", &off);
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

// The epilogue's vector: the bias gradient, or the bias — for a BF16 D the BF16 copy cuda_gemm rounded it into
// (cuBLASLt takes a bias of D's type: CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE in cublasLt.h), else the F32 bias.
static const void *bias_of(ditc_backend *be, const ditc_gemm *g, cudaDataType_t ct) {
    if (g->bias_grad) return g->bias_grad;
    return g->bias && ct == CUDA_R_16BF ? (const void *)cctx(be)->bias16 : (const void *)g->bias;
}

// The pointers of one call: the bias (or the bias gradient) and the aux buffer, set before each matmul.
static int set_pointers(lt_plan *p, const void *bias, const ditc_gemm *g) {
    if (bias && cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias) !=
                    CUBLAS_STATUS_SUCCESS)
        return 0;
    void *aux = g->gelu_aux ? g->gelu_aux : (void *)g->dgelu_aux;
    return !aux || cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux, sizeof aux) ==
                       CUBLAS_STATUS_SUCCESS;
}

static int plan_build(lt_state *s, lt_plan *p, const void *bias, const ditc_gemm *g) {
    const lt_key *k = &p->key;
    cublasOperation_t ta = k->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, tb = k->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasLtEpilogue_t epi = (cublasLtEpilogue_t)k->epi;
    // the bias (gradient) has D's type: BF16 for a BF16 D (cuda_gemm rounded it), else F32
    int32_t bias_type = k->c_type == CUDA_R_16BF && !g->bias_grad ? CUDA_R_16BF : CUDA_R_32F;
    int64_t aux_ld = k->ldc;
    // the pointers' real alignment (the heuristic assumes 256 bytes otherwise: arena tensors are 64-byte aligned,
    // bf16 parameter views 32)
    uint32_t al = (uint32_t)k->align;
    const cublasLtMatmulPreferenceAttributes_t aligns[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    uint64_t ws = LT_WORKSPACE;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    memset(&res, 0, sizeof res);
    LT_TRY(cublasLtMatmulDescCreate(&p->op, (cublasComputeType_t)k->compute, CUDA_R_32F));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (g->bias || g->bias_grad)
        LT_TRY(
            cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type));
    if (g->gelu_aux || g->dgelu_aux) {
        // (the aux type is left unset, i.e. D's: cublasLt.h documents setting it for FP8 kernels only)
        LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &aux_ld, sizeof aux_ld));
    }
    if (!set_pointers(p, bias, g)) goto fail;
    // the first operand is B: op(B)ᵀ is n×k, stored n×k (N) or k×n (T) column-major with ld ldb; then A (k×m)
    LT_TRY(cublasLtMatrixLayoutCreate(&p->la, (cudaDataType_t)k->b_type, k->trans_b ? k->k : k->n,
                                      k->trans_b ? k->n : k->k, k->ldb));
    LT_TRY(cublasLtMatrixLayoutCreate(&p->lb, (cudaDataType_t)k->a_type, k->trans_a ? k->m : k->k,
                                      k->trans_a ? k->k : k->m, k->lda));
    LT_TRY(cublasLtMatrixLayoutCreate(&p->lc, (cudaDataType_t)k->c_type, k->n, k->m, k->ldc));
    LT_TRY(cublasLtMatmulPreferenceCreate(&pref));
    LT_TRY(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    for (int i = 0; i < 4; i++) LT_TRY(cublasLtMatmulPreferenceSetAttribute(pref, aligns[i], &al, sizeof al));
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

// The epilogue of g (0: none of them, or a combination cuBLASLt has not: the caller's path).
static int epilogue_of(const ditc_gemm *g) {
    if (g->batch != 1 || ditc_gemm_outer(g) != 1 || (g->beta != 0.0f && !g->bias_grad)) return 0;
    // (BGRADB sums the operand as the GEMM reads it: only a BF16 A, whose values that is — not an F32 one rounded)
    if (g->bias_grad)
        return g->bias || g->gelu_aux || g->alpha != 1.0f || g->a_dtype != DITC_BF16 ? 0 : CUBLASLT_EPILOGUE_BGRADB;
    if (g->dgelu_aux) return g->bias || g->gelu_aux || g->alpha != 1.0f ? 0 : CUBLASLT_EPILOGUE_DGELU;
    if (g->gelu_aux)
        return g->alpha != 1.0f ? 0 : g->bias ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX;
    return g->bias ? CUBLASLT_EPILOGUE_BIAS : 0;
}

extern "C" int cuda_gemm_lt(ditc_backend *be, const ditc_gemm *g, const void *a, cudaDataType_t at, const void *b,
                            cudaDataType_t bt, cudaDataType_t ct, cublasComputeType_t compute) {
    int epi = epilogue_of(g);
    if (!lt_wanted() || !epi) return 0;
    lt_state *s = lt_get(be);
    if (!s) return 0;
    lt_key key;
    memset(&key, 0, sizeof key); // the padding too: keys are compared with memcmp
    key.m = g->m, key.n = g->n, key.k = g->k, key.lda = g->lda, key.ldb = g->ldb, key.ldc = g->ldc;
    key.trans_a = g->trans_a, key.trans_b = g->trans_b, key.a_type = at, key.b_type = bt, key.c_type = ct;
    key.compute = compute;
    key.epi = epi;
    const void *bias = bias_of(be, g, ct);
    const void *aux = g->gelu_aux ? g->gelu_aux : g->dgelu_aux;
    const void *ptrs[4] = {b, g->c, bias, aux};
    int al = align_of(a);
    for (int i = 0; i < 4; i++)
        if (ptrs[i] && align_of(ptrs[i]) < al) al = align_of(ptrs[i]);
    key.align = al;
    key.bias_align = bias ? align_of(bias) : 0;
    key.aux_align = aux ? align_of(aux) : 0;
    lt_plan *p = NULL;
    for (int i = 0; i < s->n_plans && !p; i++)
        if (!memcmp(&s->plans[i].key, &key, sizeof key)) p = &s->plans[i];
    if (!p) {
        if (s->n_plans == LT_PLANS) return 0; // more shapes than a model has: the plain path
        p = &s->plans[s->n_plans++];
        memset(p, 0, sizeof *p);
        p->key = key;
        p->ok = plan_build(s, p, bias, g);
        if (!p->ok) { // once per epilogue kind: the device log says which fused pass did not happen
            static int said[5];
            int e = epi == CUBLASLT_EPILOGUE_BIAS       ? 0
                    : epi == CUBLASLT_EPILOGUE_BGRADB   ? 1
                    : epi == CUBLASLT_EPILOGUE_GELU_AUX ? 2
                    : epi == CUBLASLT_EPILOGUE_DGELU    ? 4
                                                        : 3;
            if (!said[e]++)
                fprintf(stderr,
                        "ditc: cuBLASLt has no algorithm for the %s epilogue (m %lld n %lld k %lld): separate passes\n",
                        e == 0   ? "bias"
                        : e == 1 ? "bias-gradient"
                        : e == 4 ? "GELU-gradient"
                                 : "GELU",
                        (long long)g->m, (long long)g->n, (long long)g->k);
        }
    }
    if (!p->ok || !set_pointers(p, bias, g)) return 0;
    float alpha = g->alpha, beta = g->beta;
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

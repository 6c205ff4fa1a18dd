// backend_open.c — `--device` / `--precision` to a backend, and the completeness check of its kernel table.
#include "backend_open.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"
#include "cuda_backend.h"

// Every function pointer of ditc_backend, in declaration order. Adding an entry to backend.h without adding
// it here fails the static assertion below, so a backend that lacks a new kernel is reported by name at
// creation instead of crashing on a NULL call.
#define DITC_BACKEND_ENTRIES(X)                                                                              \
    X(destroy) X(alloc) X(free) X(copy_h2d) X(copy_d2h) X(copy_d2d) X(fill) X(synchronize) X(gemm) X(axpy)     \
    X(cast) X(binary_fwd) X(binary_bwd) X(unary_fwd) X(unary_bwd) X(bias_fwd) X(bias_bwd) X(ln_mod_fwd)        \
    X(ln_mod_bwd) X(gated_res_fwd) X(gated_res_bwd) X(attn_fwd) X(attn_bwd) X(embed_fwd) X(embed_bwd)          \
    X(patch_copy) X(copy_2d) X(reduce_rows) X(expand_rows) X(mse_fwd) X(mse_bwd) X(rms_norm_fwd)              \
    X(rms_norm_bwd) X(layer_norm_fwd) X(layer_norm_bwd) X(rope) X(swiglu_fwd) X(swiglu_bwd) X(modulate_fwd)   \
    X(modulate_bwd) X(q_sample) X(diff_loss_fwd) X(diff_loss_bwd) X(cfg_combine) X(diff_step) X(adamw)         \
    X(ema_update) X(sum_squares) X(scale_buffer) X(rng_fill)
// Entries a backend may leave NULL: their users check and refuse with a message (the VAE: core/vae_load.c;
// SophiaG: core/train_optim.c).
#define DITC_BACKEND_OPTIONAL_ENTRIES(X)                                                                     \
    X(conv2d_fwd) X(group_norm_fwd) X(upsample2x_fwd) X(spatial_attn_fwd) X(sophia) X(sophia_hessian)

#define ENTRY_COUNT(f) +1
_Static_assert(sizeof(ditc_backend) ==
                   offsetof(ditc_backend, destroy) +
                       (0 DITC_BACKEND_ENTRIES(ENTRY_COUNT) DITC_BACKEND_OPTIONAL_ENTRIES(ENTRY_COUNT)) * sizeof(void (*)(void)),
               "core/backend.h gained or lost an entry: update DITC_BACKEND_ENTRIES in core/backend_open.c");

int ditc_backend_validate(const ditc_backend *be, ditc_status *st) {
    char missing[1024] = "";
    size_t len = 0;
#define CHECK_ENTRY(f)                                                                                       \
    if (!be->f && len + sizeof(#f) + 2 < sizeof missing) {                                                   \
        len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%s", len ? ", " : "", #f);             \
    }
    DITC_BACKEND_ENTRIES(CHECK_ENTRY)
#undef CHECK_ENTRY
    if (len) return ditc_fail(st, DITC_ERR_UNSUPPORTED, "the %s backend does not implement: %s", be->name, missing);
    return 0;
}

int ditc_precision_parse(const char *s) {
    if (!s || !strcmp(s, "fp32")) return DITC_PREC_FP32;
    if (!strcmp(s, "tf32")) return DITC_PREC_TF32;
    if (!strcmp(s, "bf16")) return DITC_PREC_BF16;
    return -1;
}

const char *ditc_precision_name(ditc_precision p) {
    return p == DITC_PREC_BF16 ? "bf16" : p == DITC_PREC_TF32 ? "tf32" : "fp32";
}

ditc_backend *ditc_backend_open(const char *device, const char *precision, int threads, ditc_status *st) {
    int prec = ditc_precision_parse(precision);
    if (prec < 0) {
        ditc_fail(st, DITC_ERR_ARG, "--precision '%s': expected fp32, tf32 or bf16", precision);
        return NULL;
    }
    if (!device) device = "cpu";
    ditc_backend *be = NULL;
    if (!strcmp(device, "cpu") || !strcmp(device, "cpu-guard")) {
        if (prec != DITC_PREC_FP32) {
            ditc_fail(st, DITC_ERR_UNSUPPORTED, "--precision %s: the cpu backend computes in fp32 only (use --device cuda)",
                      precision);
            return NULL;
        }
        be = !strcmp(device, "cpu") ? ditc_cpu_backend_new(threads) : ditc_cpu_guard_backend_new(threads);
    } else if (!strncmp(device, "cuda", 4) && (device[4] == '\0' || device[4] == ':')) {
        int idx = 0;
        if (device[4] == ':') {
            char *end = NULL;
            long v = strtol(device + 5, &end, 10);
            if (!device[5] || *end || v < 0 || v > 1024) {
                ditc_fail(st, DITC_ERR_ARG, "--device '%s': expected cuda or cuda:N", device);
                return NULL;
            }
            idx = (int)v;
        }
        be = ditc_cuda_backend_new(idx, st);
        if (!be) return NULL;
    } else {
        ditc_fail(st, DITC_ERR_ARG, "--device '%s': expected cpu, cuda or cuda:N", device);
        return NULL;
    }
    be->precision = (ditc_precision)prec;
    if (ditc_backend_validate(be, st)) {
        be->destroy(be);
        return NULL;
    }
    return be;
}

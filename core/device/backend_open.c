// backend_open.c — `--device` / `--precision` to a backend, and the completeness check of its kernel table
// (the required entries of core/tensor/backend.h: a backend that lacks one is refused by name at creation
// instead of crashing on a NULL call).
#include "backend_open.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"
#include "cuda_backend.h"

int ditc_backend_validate(const ditc_backend *be, ditc_status *st) {
    char missing[1024] = "";
    size_t len = 0;
#define CHECK_ENTRY(ret, f, params, args)                                                                              \
    if (!be->f && len + sizeof(#f) + 2 < sizeof missing) {                                                             \
        len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%s", len ? ", " : "", #f);                     \
    }
    DITC_BACKEND_REQUIRED_ENTRIES(CHECK_ENTRY)
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
        if (prec == DITC_PREC_TF32) { // (bf16 is emulated: bf16-rounded GEMM operands, F32 sums; cpu_gemm.c)
            ditc_fail(st, DITC_ERR_UNSUPPORTED,
                      "--precision %s: the cpu backend computes in fp32, or emulates bf16 (use --device cuda)",
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

// test_guard.c — the cpu-guard backend (host_memory = 0) really keeps its memory away from the core: a direct
// read of tensor data outside the backend's entries faults (SIGSEGV in a child process), while copy_h2d /
// kernels / copy_d2h work; and ditc_backend_validate names a missing entry instead of crashing later.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend_open.h"
#include "bench.h"
#include "cpu_backend.h"

static int nfail = 0;
#define EXPECT(c, ...)                                                                                                 \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            nfail++;                                                                                                   \
            printf("FAIL ");                                                                                           \
            printf(__VA_ARGS__);                                                                                       \
            printf("\n");                                                                                              \
        } else {                                                                                                       \
            printf("PASS ");                                                                                           \
            printf(__VA_ARGS__);                                                                                       \
            printf("\n");                                                                                              \
        }                                                                                                              \
    } while (0)

int main(void) {
    ditc_status st = {0};
    ditc_backend *be = ditc_backend_open("cpu-guard", NULL, 1, &st);
    EXPECT(be && !be->host_memory, "cpu-guard opens with host_memory = 0");
    if (!be) return 1;
    float host[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8] = {0};
    float *dev = be->alloc(be, sizeof host);
    be->copy_h2d(be, dev, host, sizeof host);
    be->scale_buffer(be, dev, 8, 2.0f);
    be->copy_d2h(be, back, dev, sizeof back);
    EXPECT(back[7] == 16.0f && back[0] == 2.0f, "copies and a kernel through the guard");
    double *sq = be->alloc(be, sizeof(double)), sqh = 0;
    be->sum_squares(be, sq, dev, 2);
    be->copy_d2h(be, &sqh, sq, sizeof sqh);
    be->free(be, sq);
    EXPECT(sqh == 20.0, "sum_squares through the guard");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);  // under ASan its own SEGV handler would report and abort instead
        volatile float v = dev[3]; // the bug the guard exists to catch
        (void)v;
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    // the child exits 0 only if the read went through; a fault kills it (SIGSEGV, or SIGABRT/exit 1 where a
    // sanitizer keeps its handler)
    EXPECT(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "a direct host read of guarded data faults (%s %d)",
           WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    be->free(be, dev);

    // a backend lacking an entry is reported by name at creation
    void (*saved)(ditc_backend *, ditc_tensor *, const ditc_tensor *, const ditc_tensor *, const ditc_tensor *) =
        be->modulate_fwd;
    be->modulate_fwd = NULL;
    int r = ditc_backend_validate(be, &st);
    EXPECT(r != 0 && strstr(st.message, "modulate_fwd") && strstr(st.message, "cpu-guard"),
           "missing entry reported: %s", st.message);
    be->modulate_fwd = saved;
    EXPECT(ditc_backend_validate(be, &st) == 0, "complete table validates");
    be->destroy(be);

    // dense peaks used for `ditc bench` MFU on a GPU
    EXPECT(ditc_gpu_dense_peak_tflops("NVIDIA H100 80GB HBM3", 9, 0, DITC_PREC_BF16) == 989.4, "H100 SXM bf16 peak");
    EXPECT(ditc_gpu_dense_peak_tflops("NVIDIA H200", 9, 0, DITC_PREC_BF16) == 989.4, "H200 bf16 peak");
    EXPECT(ditc_gpu_dense_peak_tflops("NVIDIA H100 PCIe", 9, 0, DITC_PREC_TF32) == 378.0, "H100 PCIe tf32 peak");
    EXPECT(ditc_gpu_dense_peak_tflops("NVIDIA A100-SXM4-80GB", 8, 0, DITC_PREC_BF16) == 312.0, "A100 bf16 peak");
    EXPECT(ditc_gpu_dense_peak_tflops("NVIDIA A100-SXM4-80GB", 8, 0, DITC_PREC_FP32) == 19.5, "A100 fp32 peak");
    EXPECT(ditc_gpu_dense_peak_tflops("Some GPU", 8, 6, DITC_PREC_BF16) == 0.0, "unknown card: no peak");
    return nfail ? 1 : 0;
}

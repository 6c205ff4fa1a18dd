// cpu_guard_backend.c — the CPU backend dressed as a device backend, to test the core's device paths
// without a GPU. host_memory = 0; memory comes from mmap and stays PROT_NONE except inside one of this
// backend's entries (copies, kernels), which open every region, run the CPU kernel, and close them again.
// Any direct dereference of tensor data by the core (which a CUDA backend would turn into a crash or
// garbage) therefore faults here with SIGSEGV at the offending line.
#define _DEFAULT_SOURCE // MAP_ANONYMOUS
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "cpu_backend.h"

typedef struct region {
    void *p;
    size_t len;
    struct region *next;
} region;

typedef struct {
    ditc_backend *in; // the CPU backend that runs the kernels
    region *head;
    int depth; // nesting of open() (a kernel may call another entry of this backend)
} guard_ctx;

static void protect_all(guard_ctx *g, int prot) {
    for (region *r = g->head; r; r = r->next)
        DITC_CHECK(mprotect(r->p, r->len, prot) == 0, "cpu-guard: mprotect failed");
}
static void open_all(guard_ctx *g) {
    if (g->depth++ == 0) protect_all(g, PROT_READ | PROT_WRITE);
}
static void close_all(guard_ctx *g) {
    if (--g->depth == 0) protect_all(g, PROT_NONE);
}

static void *g_alloc(ditc_backend *be, size_t bytes) {
    guard_ctx *g = be->ctx;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = (bytes + page - 1) / page * page;
    if (!len) len = page;
    void *p = mmap(NULL, len, g->depth ? PROT_READ | PROT_WRITE : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    region *r = ditc_xcalloc(1, sizeof *r);
    *r = (region){.p = p, .len = len, .next = g->head};
    g->head = r;
    return p;
}

static void g_free(ditc_backend *be, void *p) {
    guard_ctx *g = be->ctx;
    if (!p) return;
    for (region **pr = &g->head; *pr; pr = &(*pr)->next) {
        if ((*pr)->p != p) continue;
        region *r = *pr;
        *pr = r->next;
        munmap(r->p, r->len);
        free(r);
        return;
    }
    DITC_CHECK(0, "cpu-guard: free of a pointer this backend did not allocate");
}

static void g_destroy(ditc_backend *be) {
    guard_ctx *g = be->ctx;
    while (g->head) g_free(be, g->head->p);
    g->in->destroy(g->in);
    free(g);
    free(be);
}

static void g_sync(ditc_backend *be) { (void)be; }

// Forwarders of every entry of backend.h's transfer, kernel and SophiaG lists: open the regions, run the CPU
// entry on the CPU backend (the inner `be` shadows the guard's own), close them. The VAE kernels are not
// forwarded (the VAE runs on host-memory backends only).
#define FWD(ret, entry, params, args)                                                                                  \
    static void g_##entry params {                                                                                     \
        guard_ctx *guard_ = be->ctx;                                                                                   \
        guard_->in->precision = be->precision; /* (the GEMM's arithmetic follows --precision) */                       \
        open_all(guard_);                                                                                              \
        {                                                                                                              \
            ditc_backend *be = guard_->in;                                                                             \
            be->entry args;                                                                                            \
        }                                                                                                              \
        close_all(guard_);                                                                                             \
    }
DITC_BACKEND_TRANSFERS(FWD)
DITC_BACKEND_KERNELS(FWD)
DITC_BACKEND_SOPHIA_KERNELS(FWD)
// the timer entries touch no tensor memory: forwarded as they are
static int g_timer_mark(ditc_backend *be) { return ((guard_ctx *)be->ctx)->in->timer_mark(((guard_ctx *)be->ctx)->in); }
static double g_timer_elapsed_ms(ditc_backend *be, int a, int b) {
    ditc_backend *in = ((guard_ctx *)be->ctx)->in;
    return in->timer_elapsed_ms(in, a, b);
}
static void g_timer_reset(ditc_backend *be) { ((guard_ctx *)be->ctx)->in->timer_reset(((guard_ctx *)be->ctx)->in); }
#undef FWD

ditc_backend *ditc_cpu_guard_backend_new(int threads) {
    guard_ctx *g = ditc_xcalloc(1, sizeof *g);
    g->in = ditc_cpu_backend_new(threads);
    ditc_backend *be = ditc_xcalloc(1, sizeof *be);
    be->name = "cpu-guard";
    be->host_memory = 0;
    be->ctx = g;
    be->destroy = g_destroy;
    be->alloc = g_alloc;
    be->free = g_free;
    be->synchronize = g_sync;
#define SET(ret, entry, params, args) be->entry = g_##entry;
    DITC_BACKEND_TRANSFERS(SET)
    DITC_BACKEND_KERNELS(SET)
    DITC_BACKEND_SOPHIA_KERNELS(SET)
    DITC_BACKEND_TIMER_ENTRIES(SET)
#undef SET
    return be;
}

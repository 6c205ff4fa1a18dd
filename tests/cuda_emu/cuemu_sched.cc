// cuemu_sched.cc — runs a kernel launch of the CUDA emulation: the launch checks the runtime makes (block size, grid
// limits, shared memory), then every block in turn, each thread of the block a fiber with its own stack (a guard page
// below it). A fiber runs until it reaches a barrier or a warp collective, then the next one runs; a barrier opens
// when every live thread of its block (its warp) has arrived. When no fiber can go on, the launch reports the
// deadlock with each thread's state and stops the program. With CUEMU_TSAN (-DDITC_CUDA_EMU_RACECHECK=ON), each
// thread index is also a ThreadSanitizer fiber, and the barriers tell TSan what they order (see "race detection").
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "cuemu_device.h"
#include "cuemu_internal.h"

cuemu_thread *cuemu_cur;
uint3 cuemu_block_idx;
dim3 cuemu_block_dim, cuemu_grid_dim;

enum { T_RUN, T_BLOCK, T_WARP, T_DONE };

#define STACK_BYTES (256u << 10)
#define MAX_THREADS 1024

struct warp_state {
    int live, arrived; // lanes not yet exited; lanes waiting at the barrier
    unsigned gen;      // barrier generation
    unsigned mask;     // the lanes that exist (a partial last warp has fewer)
    unsigned exited;   // lanes that have returned
    uint64_t slot[2][32];
};

// wmma::mma_sync, computed once per warp: the n-th call's inputs and result, until every lane has taken it
struct mma_entry {
    float a[256], b[256], c[256], d[256];
    unsigned n;
    int taken; // lanes that have taken the result (0: free)
};
static mma_entry mma_ring[MAX_THREADS / 32][2]; // per warp, by call parity

static cuemu_thread threads[MAX_THREADS];
static warp_state warps[MAX_THREADS / 32];
static int block_live, block_arrived;
static unsigned block_gen;
static char *stacks;
static void *sched_sp;
static const char *cur_name;
static void (*cur_body)(void *);
static void *cur_arg;
static unsigned char *dyn_smem, *dyn_smem_map; // this launch's dynamic shared memory; its mapping
static size_t dyn_smem_cap;

// ---- race detection (-DDITC_CUDA_EMU_RACECHECK=ON: the kernels compiled with ThreadSanitizer) -----------------
// Every GPU thread index is a TSan fiber; this file (not instrumented) tells TSan what orders them:
//   the host's work before a block → the block's threads → the host's work after it (so blocks, too, run in an
//   order TSan sees: a race between two blocks is not reported, one between two threads of a block is);
//   __syncthreads / __syncwarp: every arriving thread's accesses → every thread leaving (two sync objects by
//   barrier generation parity, so a thread already at the next barrier does not pass on its later accesses);
//   wmma::mma_sync likewise (its result depends on every lane's fragments, which orders the lanes' loads before
//   their stores); a thread that returns counts as arrived at every later barrier of its block;
//   shuffles and wmma load/store: no ordering (CUDA promises none: a lane reading what another lane wrote needs
//   a __syncwarp), so TSan reports such a read as a race.
// The emulation's own bookkeeping in a fiber (the shared memory fill, mma_sync's shared result) is hidden from it.
#ifdef CUEMU_TSAN
extern "C" {
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
void __tsan_set_fiber_name(void *fiber, const char *name);
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
}
#define TSAN_NO_SYNC 1 // __tsan_switch_to_fiber_no_sync: a switch orders nothing
static void tsan_to(void *f) { __tsan_switch_to_fiber(f, TSAN_NO_SYNC); }
static void tsan_release(void *a) { __tsan_release(a); }
static void tsan_acquire(void *a) { __tsan_acquire(a); }
static void tsan_hide(int on) { // the emulation's own accesses in a fiber
    if (on) AnnotateIgnoreReadsBegin(__FILE__, __LINE__), AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
    else AnnotateIgnoreReadsEnd(__FILE__, __LINE__), AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
}
#else
static inline void tsan_to(void *) {}
static inline void tsan_release(void *) {}
static inline void tsan_acquire(void *) {}
static inline void tsan_hide(int) {}
#endif
// the host's and each thread index's TSan context; the sync objects (only their addresses matter)
static void *tsan_host, *tsan_fiber[MAX_THREADS];
static char tsan_block_start, tsan_block_done, tsan_block_sync[2], tsan_warp_sync[MAX_THREADS / 32][2];
#define BLOCK_SYNC(gen)   (&tsan_block_sync[(gen)&1])
#define WARP_SYNC(w, gen) (&tsan_warp_sync[w][(gen)&1])

// ---- context switch -----------------------------------------------------------------------------------------
extern "C" void cuemu_switch(void **save_sp, void *to_sp);
#if defined(__x86_64__)
// System V: rbx, rbp, r12–r15 are callee-saved; the return address is on the stack.
asm(".text\n"
    ".globl cuemu_switch\n"
    ".type cuemu_switch,@function\n"
    "cuemu_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size cuemu_switch,.-cuemu_switch\n");
#elif defined(__aarch64__)
// AAPCS64: x19–x30 and d8–d15 are callee-saved; x30 is the return address.
asm(".text\n"
    ".globl cuemu_switch\n"
    ".type cuemu_switch,%function\n"
    "cuemu_switch:\n"
    "  sub sp, sp, #160\n"
    "  stp x19, x20, [sp, #0]\n  stp x21, x22, [sp, #16]\n  stp x23, x24, [sp, #32]\n  stp x25, x26, [sp, #48]\n"
    "  stp x27, x28, [sp, #64]\n  stp x29, x30, [sp, #80]\n  stp d8, d9, [sp, #96]\n  stp d10, d11, [sp, #112]\n"
    "  stp d12, d13, [sp, #128]\n  stp d14, d15, [sp, #144]\n"
    "  mov x9, sp\n  str x9, [x0]\n  mov sp, x1\n"
    "  ldp x19, x20, [sp, #0]\n  ldp x21, x22, [sp, #16]\n  ldp x23, x24, [sp, #32]\n  ldp x25, x26, [sp, #48]\n"
    "  ldp x27, x28, [sp, #64]\n  ldp x29, x30, [sp, #80]\n  ldp d8, d9, [sp, #96]\n  ldp d10, d11, [sp, #112]\n"
    "  ldp d12, d13, [sp, #128]\n  ldp d14, d15, [sp, #144]\n"
    "  add sp, sp, #160\n  ret\n"
    ".size cuemu_switch,.-cuemu_switch\n");
#else
#error "the CUDA emulation's fibers need x86-64 or AArch64"
#endif

static void thread_exit(void);

static void fiber_entry(void) {
    tsan_acquire(&tsan_block_start);
    cur_body(cur_arg); // the kernel, with this thread's threadIdx
    thread_exit();
}

// A fresh fiber's stack: cuemu_switch pops the callee-saved registers and returns into fiber_entry.
static void *fiber_stack(int i) {
    // (tops staggered by a few cache lines: stacks a power of two apart would share cache sets)
    char *top = stacks + (size_t)(i + 1) * STACK_BYTES - (size_t)(i % 67) * 320;
    uintptr_t *sp = (uintptr_t *)top;
#if defined(__x86_64__)
    *--sp = 0;                       // (fiber_entry's caller's alignment slot; it never returns)
    *--sp = (uintptr_t)&fiber_entry; // the return address
    for (int r = 0; r < 6; r++) *--sp = 0;
#else
    sp -= 20;
    memset(sp, 0, 160);
    sp[11] = (uintptr_t)&fiber_entry; // x30
#endif
    return sp;
}

static void yield(void) {
    tsan_to(tsan_host);
    cuemu_switch(&cuemu_cur->sp, sched_sp);
}

static void report(const char *what) {
    fprintf(stderr, "cuemu: %s in kernel %s, block (%u, %u, %u) of (%u, %u, %u), %u×%u×%u threads\n", what, cur_name,
            cuemu_block_idx.x, cuemu_block_idx.y, cuemu_block_idx.z, cuemu_grid_dim.x, cuemu_grid_dim.y,
            cuemu_grid_dim.z, cuemu_block_dim.x, cuemu_block_dim.y, cuemu_block_dim.z);
}

[[noreturn]] static void fatal(const char *what) {
    report(what);
    int n = (int)(cuemu_block_dim.x * cuemu_block_dim.y * cuemu_block_dim.z);
    static const char *names[] = {"running", "at __syncthreads", "at a warp barrier", "returned"};
    for (int i = 0; i < n; i++)
        if (i < 64 || threads[i].state != threads[i - 1].state)
            fprintf(stderr, "  thread %d (lane %d of warp %d): %s\n", i, threads[i].lane, threads[i].warp,
                    names[threads[i].state]);
    abort();
}

static void release_block(void) {
    block_arrived = 0;
    block_gen++;
}
static void release_warp(warp_state *w) {
    w->arrived = 0;
    w->gen++;
}

void cuemu_syncthreads(void) {
    unsigned gen = block_gen;
    tsan_release(BLOCK_SYNC(gen));
    if (++block_arrived == block_live) release_block();
    else {
        cuemu_cur->state = T_BLOCK;
        cuemu_cur->wait = gen;
        yield();
    }
    tsan_acquire(BLOCK_SYNC(gen));
}

// the warp's lanes meet; ordered: their memory accesses before → after (a __syncwarp; not a shuffle)
static void warp_barrier(unsigned mask, int ordered) {
    int wi = cuemu_cur->warp;
    warp_state *w = &warps[wi];
    unsigned gen = w->gen;
    if ((mask & w->mask) != w->mask)
        fatal("a warp collective over part of a warp (mask not covering every lane: not emulated)");
    if (mask & w->exited) fatal("a warp collective names a lane that has returned");
    if (ordered) tsan_release(WARP_SYNC(wi, gen));
    if (++w->arrived == w->live) release_warp(w);
    else {
        cuemu_cur->state = T_WARP;
        cuemu_cur->wait = gen;
        yield();
    }
    if (ordered) tsan_acquire(WARP_SYNC(wi, gen));
}

void cuemu_syncwarp(unsigned mask) { warp_barrier(mask, 1); }
void cuemu_warp_converge(void) { warp_barrier(0xffffffffu, 0); }

void cuemu_mma(const float *a, const float *b, const float *c, float *d) {
    cuemu_thread *t = cuemu_cur;
    // (a lane runs ahead at most to the warp's next mma: two entries per warp, by call parity)
    mma_entry &e = mma_ring[t->warp][t->mma_n & 1];
    unsigned n = t->mma_n++;
    tsan_hide(1);
    if (e.taken == 0) { // the warp's first lane here: computes it
        e.n = n;
        memcpy(e.a, a, sizeof e.a);
        memcpy(e.b, b, sizeof e.b);
        memcpy(e.c, c, sizeof e.c);
        for (int i = 0; i < 16; i++)
            for (int j = 0; j < 16; j++) {
                float s = 0.0f; // fp32 accumulation over k in order (the tensor core's order within a tile is its own)
                for (int k = 0; k < 16; k++) s += a[i * 16 + k] * b[k * 16 + j];
                e.d[i * 16 + j] = c[i * 16 + j] + s;
            }
    } else if (e.n != n) {
        fatal("wmma::mma_sync: the lanes of a warp are at different calls");
    } else if (memcmp(e.a, a, sizeof e.a) || memcmp(e.b, b, sizeof e.b) || memcmp(e.c, c, sizeof e.c)) {
        fatal("wmma::mma_sync: the lanes of a warp hold different fragments (a load read shared memory that other "
              "lanes had not finished writing: a __syncwarp missing?)");
    }
    memcpy(d, e.d, sizeof e.d);
    if (++e.taken == warps[t->warp].live) e.taken = 0;
    tsan_hide(0);
}

uint64_t cuemu_exchange(unsigned mask, uint64_t v, int src) {
    warp_state *w = &warps[cuemu_cur->warp];
    // two slot sets by generation parity: a lane that runs ahead to the next exchange writes the other set
    unsigned g = w->gen & 1;
    w->slot[g][cuemu_cur->lane] = v;
    warp_barrier(mask, 0);
    if (src < 0 || src > 31 || !((w->mask >> src) & 1)) fatal("a shuffle reads a lane that does not exist");
    return w->slot[g][src];
}

static void thread_exit(void) {
    cuemu_thread *t = cuemu_cur;
    warp_state *w = &warps[t->warp];
    t->state = T_DONE;
    // (what a thread did before it returned counts as done before every later barrier of its block: lenient)
    tsan_release(BLOCK_SYNC(0));
    tsan_release(BLOCK_SYNC(1));
    tsan_release(WARP_SYNC(t->warp, 0));
    tsan_release(WARP_SYNC(t->warp, 1));
    tsan_release(&tsan_block_done);
    block_live--;
    w->live--;
    w->exited |= 1u << t->lane;
    if (block_arrived && block_arrived == block_live) release_block();
    if (w->arrived && w->arrived == w->live) release_warp(w);
    yield();
    abort(); // never resumed
}

void *cuemu_dyn_smem(void) { return dyn_smem; }

static std::vector<void *> poisoned; // the static shared arrays filled in this block

void cuemu_shared_poison(void *p, size_t bytes) {
    for (void *q : poisoned)
        if (q == p) return;
    poisoned.push_back(p);
    tsan_hide(1);
    memset(p, 0xff, bytes);
    tsan_hide(0);
}

void cuemu_wmma_check(const void *p, unsigned ld_bytes, const char *fn) {
    char msg[160];
    if ((uintptr_t)p % 32 || ld_bytes % 16) {
        snprintf(msg, sizeof msg,
                 "wmma::%s at %p with a row stride of %u bytes (needs 32-byte alignment, 16-byte stride)", fn, p,
                 ld_bytes);
        fatal(msg);
    }
}

// CUEMU_ORDER=reverse: the blocks of a launch run last block first and the fibers of a block last thread first, so a
// thread that reads shared or global memory another thread (or block) writes without a barrier between them sees the
// other order than in the default run (a race the default order hides shows up as a difference between the runs).
static int reverse_order = -1;

static void run_block(int n) {
    poisoned.clear();

    block_live = n;
    block_arrived = 0;
    for (int wi = 0; wi < (n + 31) / 32; wi++) {
        warp_state *w = &warps[wi];
        int lanes = n - wi * 32 < 32 ? n - wi * 32 : 32;
        w->live = lanes;
        w->arrived = 0;
        w->mask = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
        w->exited = 0;
    }
    for (int wi = 0; wi < (n + 31) / 32; wi++) mma_ring[wi][0].taken = mma_ring[wi][1].taken = 0;
    for (int i = 0; i < n; i++) {
        cuemu_thread *t = &threads[i];
        t->state = T_RUN;
        t->mma_n = 0;
        t->sp = fiber_stack(i);
    }
    int left = n;
    while (left) {
        int ran = 0;
        for (int j = 0; j < n; j++) {
            cuemu_thread *t = &threads[reverse_order ? n - 1 - j : j];
            if (t->state == T_DONE) continue;
            if (t->state == T_BLOCK && t->wait == block_gen) continue;
            if (t->state == T_WARP && t->wait == warps[t->warp].gen) continue;
            t->state = T_RUN;
            cuemu_cur = t;
            tsan_to(tsan_fiber[t - threads]);
            cuemu_switch(&sched_sp, t->sp);
            ran = 1;
            if (t->state == T_DONE) left--;
        }
        if (!ran) fatal("deadlock: a barrier that not every live thread reaches");
    }
}

// A memory fault inside a kernel (past a device allocation's end: its guard page; or a wild pointer) names the kernel,
// the block, the thread and the address next to the allocation it is nearest to, as compute-sanitizer would.
static volatile int in_kernel;
static void on_fault(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (in_kernel) {
        char where[160];
        cuemu_describe_address(si->si_addr, where, sizeof where);
        char msg[256];
        snprintf(msg, sizeof msg, "invalid memory access by thread (%u, %u, %u) at %p (%s)", cuemu_cur->tid.x,
                 cuemu_cur->tid.y, cuemu_cur->tid.z, si->si_addr, where);
        report(msg);
    } else { // (most likely host code touching device memory: the stack says where)
        fprintf(stderr, "cuemu: memory fault at %p outside a kernel (the last kernel: %s)\n", si->si_addr,
                cur_name ? cur_name : "none yet");
        void *bt[64];
        backtrace_symbols_fd(bt, backtrace(bt, 64), 2);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}
static void install_fault_handler(void) {
    static char alt[1 << 16];
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = alt;
    ss.ss_size = sizeof alt;
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

// CUEMU_PROFILE=1: at exit, the kernels by emulation time (launches, threads run, seconds) on stderr.
struct prof_entry {
    long launches;
    double threads, seconds;
};
static std::map<std::string, prof_entry> *profile;
static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static void profile_print(void) {
    std::vector<std::pair<std::string, prof_entry>> v(profile->begin(), profile->end());
    std::sort(v.begin(), v.end(),
              [](const std::pair<std::string, prof_entry> &a, const std::pair<std::string, prof_entry> &b) {
                  return a.second.seconds > b.second.seconds;
              });
    fprintf(stderr, "cuemu profile: kernel, launches, threads, seconds\n");
    for (size_t i = 0; i < v.size() && i < 25; i++)
        fprintf(stderr, "  %-28s %8ld %12.0f %8.3f\n", v[i].first.c_str(), v[i].second.launches, v[i].second.threads,
                v[i].second.seconds);
}

static std::map<const void *, int> smem_optin; // cudaFuncSetAttribute(MaxDynamicSharedMemorySize)

void cuemu_set_smem_optin(const void *fn, int bytes) { smem_optin[fn] = bytes; }

void cuemu_launch_impl(const cuemu_config &cfg, const void *fn, const char *name, void (*body)(void *), void *arg) {
    dim3 g = cfg.grid, b = cfg.block;
    uint64_t n = (uint64_t)b.x * b.y * b.z;
    size_t optin = smem_optin.count(fn) ? (size_t)smem_optin[fn] : 0;
    const char *bad = NULL;
    if (n == 0 || (uint64_t)g.x * g.y * g.z == 0) bad = "empty grid or block";
    else if (n > MAX_THREADS || b.x > 1024 || b.y > 1024 || b.z > 64) bad = "more than 1024 threads per block";
    else if (g.x > 2147483647u || g.y > 65535 || g.z > 65535) bad = "grid dimension over the limit";
    else if (cfg.smem > CUEMU_SMEM_OPTIN_MAX || (cfg.smem > 48 * 1024 && cfg.smem > optin))
        bad = "dynamic shared memory over 48 KiB without cudaFuncSetAttribute, or over the device's limit";
    if (bad) {
        fprintf(stderr, "cuemu: launch of %s (grid %u×%u×%u, block %u×%u×%u, %zu B shared): %s\n", name, g.x, g.y, g.z,
                b.x, b.y, b.z, cfg.smem, bad);
        cuemu_set_error(n > MAX_THREADS || cfg.smem > 48 * 1024 ? cudaErrorInvalidValue
                                                                : cudaErrorInvalidConfiguration);
        return;
    }
    cuemu_stream_check(cfg.stream);
    cuemu_note_work();
    if (reverse_order < 0) {
        const char *e = getenv("CUEMU_ORDER");
        reverse_order = e && !strcmp(e, "reverse");
    }
    if (!stacks) {
        install_fault_handler();
        size_t bytes = (size_t)MAX_THREADS * STACK_BYTES;
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            perror("cuemu: fiber stacks");
            abort();
        }
        stacks = (char *)p;
        long page = sysconf(_SC_PAGESIZE);
        for (int i = 0; i < MAX_THREADS; i++) mprotect(stacks + (size_t)i * STACK_BYTES, (size_t)page, PROT_NONE);
    }
    // dynamic shared memory: the launch's bytes (rounded to 128) end at an inaccessible page, so an overrun faults
    size_t page = (size_t)sysconf(_SC_PAGESIZE), smem128 = (cfg.smem + 127) / 128 * 128;
    if (smem128 > dyn_smem_cap) {
        if (dyn_smem_map) munmap(dyn_smem_map, dyn_smem_cap + page);
        dyn_smem_cap = (smem128 + page - 1) / page * page;
        dyn_smem_map = (unsigned char *)mmap(NULL, dyn_smem_cap + page, PROT_READ | PROT_WRITE,
                                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (dyn_smem_map == MAP_FAILED) {
            perror("cuemu: shared memory");
            abort();
        }
        mprotect(dyn_smem_map + dyn_smem_cap, page, PROT_NONE);
    }
    dyn_smem = dyn_smem_map ? dyn_smem_map + dyn_smem_cap - smem128 : NULL;
    if (!profile && getenv("CUEMU_PROFILE") && !strcmp(getenv("CUEMU_PROFILE"), "1")) {
        profile = new std::map<std::string, prof_entry>;
        atexit(profile_print);
    }
    double t0 = profile ? wall() : 0.0;
#ifdef CUEMU_TSAN
    if (!tsan_host) {
        tsan_host = __tsan_get_current_fiber();
        for (int i = 0; i < MAX_THREADS; i++) {
            tsan_fiber[i] = __tsan_create_fiber(0);
            char nm[48];
            snprintf(nm, sizeof nm, "GPU thread %d of each block", i);
            __tsan_set_fiber_name(tsan_fiber[i], nm);
        }
    }
#endif
    cuemu_device_access(1);
    in_kernel = 1;
    cur_name = name;
    cur_body = body;
    cur_arg = arg;
    cuemu_grid_dim = g;
    cuemu_block_dim = b;
    for (unsigned i = 0; i < n; i++) {
        cuemu_thread *t = &threads[i];
        t->lane = (int)(i % 32);
        t->warp = (int)(i / 32);
        t->tid = make_uint3(i % b.x, (i / b.x) % b.y, i / (b.x * b.y));
    }
    for (unsigned z = 0; z < g.z; z++)
        for (unsigned y = 0; y < g.y; y++)
            for (unsigned x = 0; x < g.x; x++) {
                // (reverse order: the last block first, too — a block that reads what another block writes in the
                // same launch sees the other order)
                cuemu_block_idx =
                    reverse_order ? make_uint3(g.x - 1 - x, g.y - 1 - y, g.z - 1 - z) : make_uint3(x, y, z);
                if (cfg.smem) memset(dyn_smem, 0xff, smem128); // (NaN bytes: reads of unwritten shared memory show)
                tsan_release(&tsan_block_start);
                run_block((int)n);
                tsan_acquire(&tsan_block_done);
            }
    in_kernel = 0;
    cuemu_device_access(0);
    if (profile) {
        prof_entry &e = (*profile)[name];
        e.launches++;
        e.threads += (double)n * g.x * g.y * g.z;
        e.seconds += wall() - t0;
    }
}

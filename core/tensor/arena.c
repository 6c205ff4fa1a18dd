// arena.c — chained bump allocator over backend memory, coalesced on reset.
#include "arena.h"

#include <string.h>

#include "common.h"

static size_t align_up(size_t n) { return (n + DITC_ARENA_ALIGN - 1) & ~(size_t)(DITC_ARENA_ALIGN - 1); }

static void add_chunk(ditc_arena *a, size_t cap) {
    if (a->n_chunks == a->cap_chunks) {
        a->cap_chunks = a->cap_chunks ? 2 * a->cap_chunks : 4;
        a->chunks = ditc_xrealloc(a->chunks, (size_t)a->cap_chunks * sizeof *a->chunks);
    }
    void *base = a->be->alloc(a->be, cap);
    DITC_ALLOC_CHECK(base, cap);
    a->backend_allocs++;
    a->chunks[a->n_chunks++] = (ditc_arena_chunk){.base = base, .cap = cap, .used = 0};
}

void ditc_arena_init(ditc_arena *a, ditc_backend *be, size_t initial_bytes) {
    memset(a, 0, sizeof *a);
    a->be = be;
    if (initial_bytes) add_chunk(a, align_up(initial_bytes));
}

void ditc_arena_free(ditc_arena *a) {
    for (int i = 0; i < a->n_chunks; i++) a->be->free(a->be, a->chunks[i].base);
    for (int i = 0; i < a->n_hdr_blocks; i++) free(a->hdr_blocks[i]);
    free(a->free_ptr);
    free(a->free_size);
    free(a->chunks);
    free(a->hdr_blocks);
    memset(a, 0, sizeof *a);
}

void ditc_arena_reset(ditc_arena *a) {
    if (a->n_chunks > 1) {         // coalesce: one chunk that fits the whole previous step
        a->be->synchronize(a->be); // kernels may still read the old chunks
        for (int i = 0; i < a->n_chunks; i++) a->be->free(a->be, a->chunks[i].base);
        a->n_chunks = 0;
        add_chunk(a, align_up(a->high_water));
    }
    for (int i = 0; i < a->n_chunks; i++) a->chunks[i].used = 0;
    a->in_use = 0;
    a->hdr_used = 0;
    a->n_free = 0;
}

void *ditc_arena_alloc(ditc_arena *a, size_t bytes) {
    size_t need = align_up(bytes ? bytes : 1);
    ditc_arena_chunk *c = a->n_chunks ? &a->chunks[a->n_chunks - 1] : NULL;
    if (!c || c->cap - c->used < need) {
        size_t cap = c ? 2 * c->cap : (size_t)1 << 20;
        if (cap < need) cap = need;
        add_chunk(a, cap);
        c = &a->chunks[a->n_chunks - 1];
    }
    void *p = (char *)c->base + c->used;
    c->used += need;
    a->in_use += need;
    if (a->in_use > a->high_water) a->high_water = a->in_use;
    return p;
}

void *ditc_arena_alloc_reuse(ditc_arena *a, size_t bytes) {
    size_t need = align_up(bytes ? bytes : 1);
    for (int i = a->n_free - 1; i >= 0; i--) // the most recently released first
        if (a->free_size[i] == need) {
            void *p = a->free_ptr[i];
            a->n_free--;
            a->free_ptr[i] = a->free_ptr[a->n_free];
            a->free_size[i] = a->free_size[a->n_free];
            return p;
        }
    return ditc_arena_alloc(a, bytes);
}

void ditc_arena_release(ditc_arena *a, void *p, size_t bytes) {
    if (a->n_free == a->cap_free) {
        a->cap_free = a->cap_free ? 2 * a->cap_free : 64;
        a->free_ptr = ditc_xrealloc(a->free_ptr, (size_t)a->cap_free * sizeof *a->free_ptr);
        a->free_size = ditc_xrealloc(a->free_size, (size_t)a->cap_free * sizeof *a->free_size);
    }
    a->free_ptr[a->n_free] = p;
    a->free_size[a->n_free++] = align_up(bytes ? bytes : 1);
}

ditc_tensor *ditc_arena_header(ditc_arena *a) {
    size_t block = a->hdr_used / DITC_ARENA_HDR_BLOCK, slot = a->hdr_used % DITC_ARENA_HDR_BLOCK;
    if (block == (size_t)a->n_hdr_blocks) {
        a->hdr_blocks = ditc_xrealloc(a->hdr_blocks, (size_t)(a->n_hdr_blocks + 1) * sizeof *a->hdr_blocks);
        a->hdr_blocks[a->n_hdr_blocks++] = ditc_xmalloc(DITC_ARENA_HDR_BLOCK * sizeof(ditc_tensor));
    }
    a->hdr_used++;
    ditc_tensor *t = &a->hdr_blocks[block][slot];
    memset(t, 0, sizeof *t);
    return t;
}

static ditc_tensor *arena_tensor(ditc_arena *a, ditc_dtype dtype, int ndim, const int64_t *shape, int reuse) {
    ditc_tensor *t = ditc_arena_header(a);
    ditc_tensor_set_shape(t, dtype, ndim, shape);
    t->backend = a->be;
    t->data = reuse ? ditc_arena_alloc_reuse(a, ditc_nbytes(t)) : ditc_arena_alloc(a, ditc_nbytes(t));
    return t;
}

ditc_tensor *ditc_arena_tensor(ditc_arena *a, ditc_dtype dtype, int ndim, const int64_t *shape) {
    return arena_tensor(a, dtype, ndim, shape, 0);
}

ditc_tensor *ditc_arena_tensor_reuse(ditc_arena *a, ditc_dtype dtype, int ndim, const int64_t *shape) {
    return arena_tensor(a, dtype, ndim, shape, 1);
}

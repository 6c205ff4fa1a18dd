// arena.h — per-step activation arena (invariant 4) and its tensor headers.
//
// Bump allocation of backend memory, reset every step. If a step needs more than the current chunk,
// extra chunks are chained; at the next reset they are coalesced into one chunk of the high-water size,
// so from the second step on nothing is allocated. The high-water mark is the activation-memory figure.
// Blocks handed back with ditc_arena_release (the backward's activation gradients, once read: core/ops/autograd.c)
// serve later ditc_arena_alloc_reuse calls of the same size (the repeated blocks of a model ask for the same sizes)
// before the bump pointer moves; on a device the stream orders the last reader before the next writer.
#ifndef DITC_ARENA_H
#define DITC_ARENA_H

#include <stddef.h>

#include "backend.h"

typedef struct {
    void *base;
    size_t cap, used;
} ditc_arena_chunk;

typedef struct {
    ditc_backend *be;
    ditc_arena_chunk *chunks; // chunks[n_chunks - 1] is the one being filled
    int n_chunks, cap_chunks;
    size_t in_use;            // bytes handed out since the last reset (incl. alignment)
    size_t high_water;        // max in_use ever seen
    size_t backend_allocs;    // number of backend alloc calls (steady state: constant)
    ditc_tensor **hdr_blocks; // tensor headers, in blocks of DITC_ARENA_HDR_BLOCK
    int n_hdr_blocks;
    size_t hdr_used;
    void **free_ptr; // released blocks (until reset) and their aligned sizes
    size_t *free_size;
    int n_free, cap_free;
} ditc_arena;

#define DITC_ARENA_ALIGN     64
#define DITC_ARENA_HDR_BLOCK 1024

void ditc_arena_init(ditc_arena *a, ditc_backend *be, size_t initial_bytes);
void ditc_arena_free(ditc_arena *a);
void ditc_arena_reset(ditc_arena *a);
void *ditc_arena_alloc(ditc_arena *a, size_t bytes);
// A released block of the same (aligned) size if there is one, else ditc_arena_alloc.
void *ditc_arena_alloc_reuse(ditc_arena *a, size_t bytes);
// p (from this arena since the last reset, `bytes` as allocated) may serve a later ditc_arena_alloc_reuse.
void ditc_arena_release(ditc_arena *a, void *p, size_t bytes);
// A zeroed header from the arena (valid until reset).
ditc_tensor *ditc_arena_header(ditc_arena *a);
// Header + uninitialised data.
ditc_tensor *ditc_arena_tensor(ditc_arena *a, ditc_dtype dtype, int ndim, const int64_t *shape);
// The same, its data a released block of its size if there is one (ditc_arena_alloc_reuse)
ditc_tensor *ditc_arena_tensor_reuse(ditc_arena *a, ditc_dtype dtype, int ndim, const int64_t *shape);

#endif

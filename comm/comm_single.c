// comm_single.c — the one-process communicator: every collective is the identity; auto selection.
#include "comm.h"

#include <stdlib.h>

void ditc_shard_range(size_t n, int world, int rank, size_t *begin, size_t *end) {
    size_t per = (n / (size_t)world) & ~(size_t)15; // 16-element (64-byte) aligned shard starts
    *begin = per * (size_t)rank;
    *end = rank == world - 1 ? n : per * (size_t)(rank + 1);
}

void ditc_shard_overlap(size_t total, int world, int rank, size_t off, size_t n, size_t *begin, size_t *end) {
    size_t b, e;
    ditc_shard_range(total, world, rank, &b, &e);
    *begin = off > b ? off : b;
    *end = off + n < e ? off + n : e;
    if (*end < *begin) *end = *begin;
}

static void single_allreduce(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    (void)cm;
    (void)be;
    (void)buf;
    (void)n;
    (void)dt;
}
static void single_broadcast(ditc_comm *cm, ditc_backend *be, void *buf, size_t bytes, int root) {
    (void)cm;
    (void)be;
    (void)buf;
    (void)bytes;
    (void)root;
}
// One process: every collective is complete when started (no request).
static ditc_comm_req *single_iallreduce(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    single_allreduce(cm, be, buf, n, dt);
    return NULL;
}
static ditc_comm_req *single_ireduce_scatter(ditc_comm *cm, ditc_backend *be, void *buf, size_t off, size_t n,
                                             size_t total, ditc_dtype dt) {
    (void)off;
    (void)total;
    single_allreduce(cm, be, buf, n, dt);
    return NULL;
}
static int single_test(ditc_comm *cm, ditc_comm_req *req) {
    (void)cm;
    (void)req;
    return 1;
}
static void single_wait(ditc_comm *cm, ditc_comm_req *req) {
    (void)cm;
    (void)req;
}
static void single_barrier(ditc_comm *cm) { (void)cm; }
static void single_abort(ditc_comm *cm, int code) {
    (void)cm;
    exit(code);
}
static void single_destroy(ditc_comm *cm) { free(cm); }

ditc_comm *ditc_comm_single_new(void) {
    ditc_comm *cm = ditc_xcalloc(1, sizeof *cm);
    *cm = (ditc_comm){.name = "single",
                      .rank = 0,
                      .world = 1,
                      .local_rank = 0,
                      .local_world = 1,
                      .allreduce_sum = single_allreduce,
                      .reduce_scatter_sum = single_allreduce,
                      .allgather = single_allreduce,
                      .broadcast = single_broadcast,
                      .iallreduce_sum = single_iallreduce,
                      .ireduce_scatter_sum = single_ireduce_scatter,
                      .test = single_test,
                      .wait = single_wait,
                      .barrier = single_barrier,
                      .abort = single_abort,
                      .destroy = single_destroy};
    return cm;
}

int ditc_comm_launched_by_mpi(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

#ifndef DITC_HAVE_MPI
ditc_comm *ditc_comm_auto(int *argc, char ***argv, ditc_status *st) {
    (void)argc;
    (void)argv;
    (void)st;
    if (ditc_comm_launched_by_mpi())
        fprintf(stderr, "ditc: warning: started by an MPI launcher but built without MPI (-DDITC_MPI=ON); "
                        "every process trains alone\n");
    return ditc_comm_single_new();
}
#endif

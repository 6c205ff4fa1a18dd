// comm_mpi.c — the MPI communicator (Open MPI): collectives on host buffers (device buffers are staged
// through host memory), BF16 sums through a user-defined MPI_Op, local rank from a shared-memory split.
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"

typedef struct {
    MPI_Comm world, node;
    MPI_Op bf16_sum;
    int *counts, *displs; // shard layout of the last sharded call (per rank)
} mpi_ctx;

#define MPI_CALL(x)                                                                                                    \
    do {                                                                                                               \
        int rc_ = (x);                                                                                                 \
        if (rc_ != MPI_SUCCESS) ditc_fatal(__FILE__, __LINE__, "%s failed (%d)", #x, rc_);                             \
    } while (0)

static void bf16_sum_fn(void *in, void *inout, int *len, MPI_Datatype *dt) {
    (void)dt;
    const uint16_t *a = in;
    uint16_t *b = inout;
    for (int i = 0; i < *len; i++) b[i] = ditc_f32_to_bf16(ditc_bf16_to_f32(a[i]) + ditc_bf16_to_f32(b[i]));
}

static MPI_Datatype mpi_type(ditc_dtype dt) {
    DITC_CHECK(dt == DITC_F32 || dt == DITC_BF16 || dt == DITC_F64,
               "MPI collectives support F32, BF16 (and F64 scalars)");
    return dt == DITC_F32 ? MPI_FLOAT : dt == DITC_F64 ? MPI_DOUBLE : MPI_UINT16_T;
}

static MPI_Op mpi_sum(const mpi_ctx *c, ditc_dtype dt) { return dt == DITC_BF16 ? c->bf16_sum : MPI_SUM; }

// Host view of a backend buffer: the buffer itself, or a staged copy (copied back by unstage).
static void *stage(ditc_backend *be, void *buf, size_t bytes) {
    if (!be || be->host_memory) return buf;
    void *h = ditc_xmalloc(bytes);
    be->copy_d2h(be, h, buf, bytes);
    return h;
}

static void unstage(ditc_backend *be, void *buf, void *host, size_t bytes) {
    if (host == buf) return;
    be->copy_h2d(be, buf, host, bytes);
    free(host);
}

static void layout(ditc_comm *cm, size_t n) {
    mpi_ctx *c = cm->ctx;
    for (int r = 0; r < cm->world; r++) {
        size_t b, e;
        ditc_shard_range(n, cm->world, r, &b, &e);
        DITC_CHECK(e - b < (size_t)1 << 31, "shard of %zu elements exceeds MPI's int counts", e - b);
        c->counts[r] = (int)(e - b);
        c->displs[r] = (int)b;
        DITC_CHECK(b < (size_t)1 << 31, "buffer of %zu elements exceeds MPI's int displacements", n);
    }
}

static void mpi_allreduce(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    mpi_ctx *c = cm->ctx;
    size_t es = ditc_dtype_size(dt), done = 0;
    void *h = stage(be, buf, n * es);
    while (done < n) { // chunks of < 2^30 elements (MPI counts are int)
        size_t k = n - done < ((size_t)1 << 30) ? n - done : ((size_t)1 << 30);
        MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, (char *)h + done * es, (int)k, mpi_type(dt), mpi_sum(c, dt), c->world));
        done += k;
    }
    unstage(be, buf, h, n * es);
}

static void mpi_reduce_scatter(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    mpi_ctx *c = cm->ctx;
    size_t es = ditc_dtype_size(dt);
    layout(cm, n);
    void *h = stage(be, buf, n * es);
    // In place, the reduced shard lands at the start of the buffer: move it to its own range.
    MPI_CALL(MPI_Reduce_scatter(MPI_IN_PLACE, h, c->counts, mpi_type(dt), mpi_sum(c, dt), c->world));
    memmove((char *)h + (size_t)c->displs[cm->rank] * es, h, (size_t)c->counts[cm->rank] * es);
    unstage(be, buf, h, n * es);
}

static void mpi_allgather(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    mpi_ctx *c = cm->ctx;
    size_t es = ditc_dtype_size(dt);
    layout(cm, n);
    void *h = stage(be, buf, n * es);
    MPI_CALL(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, h, c->counts, c->displs, mpi_type(dt), c->world));
    unstage(be, buf, h, n * es);
}

static void mpi_broadcast(ditc_comm *cm, ditc_backend *be, void *buf, size_t bytes, int root) {
    mpi_ctx *c = cm->ctx;
    void *h = stage(be, buf, bytes);
    for (size_t done = 0; done < bytes;) {
        size_t k = bytes - done < ((size_t)1 << 30) ? bytes - done : ((size_t)1 << 30);
        MPI_CALL(MPI_Bcast((char *)h + done, (int)k, MPI_BYTE, root, c->world));
        done += k;
    }
    unstage(be, buf, h, bytes);
}

// ---- non-blocking (gradient buckets): MPI_Iallreduce / MPI_Ireduce_scatter on host memory or a staged copy ----
struct ditc_comm_req {
    MPI_Request r;
    int done;
    ditc_backend *be; // staging: the backend range buf and its host view (== buf on host memory)
    void *buf, *host;
    size_t bytes;
    int *counts;              // reduce-scatter: elements per rank (must live until completion)
    size_t own_at, own_bytes; // reduce-scatter: the own part lands at the start of the range; moved to own_at
};

static ditc_comm_req *req_new(ditc_backend *be, void *buf, size_t bytes) {
    ditc_comm_req *q = ditc_xcalloc(1, sizeof *q);
    q->be = be;
    q->buf = buf;
    q->bytes = bytes;
    q->host = stage(be, buf, bytes);
    return q;
}

static ditc_comm_req *mpi_iallreduce(ditc_comm *cm, ditc_backend *be, void *buf, size_t n, ditc_dtype dt) {
    mpi_ctx *c = cm->ctx;
    DITC_CHECK(n < (size_t)1 << 31, "non-blocking all-reduce of %zu elements exceeds MPI's int counts", n);
    ditc_comm_req *q = req_new(be, buf, n * ditc_dtype_size(dt));
    MPI_CALL(MPI_Iallreduce(MPI_IN_PLACE, q->host, (int)n, mpi_type(dt), mpi_sum(c, dt), c->world, &q->r));
    return q;
}

static ditc_comm_req *mpi_ireduce_scatter(ditc_comm *cm, ditc_backend *be, void *buf, size_t off, size_t n,
                                          size_t total, ditc_dtype dt) {
    mpi_ctx *c = cm->ctx;
    size_t es = ditc_dtype_size(dt);
    DITC_CHECK(n < (size_t)1 << 31, "non-blocking reduce-scatter of %zu elements exceeds MPI's int counts", n);
    ditc_comm_req *q = req_new(be, (char *)buf + off * es, n * es);
    q->counts = ditc_xcalloc((size_t)cm->world, sizeof(int));
    for (int r = 0; r < cm->world; r++) {
        size_t b, e;
        ditc_shard_overlap(total, cm->world, r, off, n, &b, &e);
        q->counts[r] = (int)(e - b);
        if (r == cm->rank) {
            q->own_at = (e > b ? b - off : 0) * es;
            q->own_bytes = (e - b) * es;
        }
    }
    MPI_CALL(MPI_Ireduce_scatter(MPI_IN_PLACE, q->host, q->counts, mpi_type(dt), mpi_sum(c, dt), c->world, &q->r));
    return q;
}

static int mpi_test(ditc_comm *cm, ditc_comm_req *q) {
    (void)cm;
    if (q && !q->done) MPI_CALL(MPI_Test(&q->r, &q->done, MPI_STATUS_IGNORE));
    return !q || q->done;
}

static void mpi_wait(ditc_comm *cm, ditc_comm_req *q) {
    (void)cm;
    if (!q) return;
    if (!q->done) MPI_CALL(MPI_Wait(&q->r, MPI_STATUS_IGNORE));
    // In place, the reduced own part lands at the start of the range: move it to its own position.
    if (q->counts && q->own_bytes) memmove((char *)q->host + q->own_at, q->host, q->own_bytes);
    unstage(q->be, q->buf, q->host, q->bytes);
    free(q->counts);
    free(q);
}

static void mpi_barrier(ditc_comm *cm) { MPI_CALL(MPI_Barrier(((mpi_ctx *)cm->ctx)->world)); }

static void mpi_abort(ditc_comm *cm, int code) {
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(((mpi_ctx *)cm->ctx)->world, code);
    exit(code);
}

static void mpi_destroy(ditc_comm *cm) {
    mpi_ctx *c = cm->ctx;
    MPI_Op_free(&c->bf16_sum);
    MPI_Comm_free(&c->node);
    free(c->counts);
    free(c->displs);
    free(c);
    free(cm);
    MPI_Finalize();
}

ditc_comm *ditc_comm_auto(int *argc, char ***argv, ditc_status *st) {
    if (!ditc_comm_launched_by_mpi()) return ditc_comm_single_new();
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        ditc_fail(st, DITC_ERR_IO,
                  "MPI_Init failed: is the job started by mpirun/srun of the same MPI ditc was built with?");
        return NULL;
    }
    ditc_comm *cm = ditc_xcalloc(1, sizeof *cm);
    mpi_ctx *c = ditc_xcalloc(1, sizeof *c);
    c->world = MPI_COMM_WORLD;
    MPI_Comm_rank(c->world, &cm->rank);
    MPI_Comm_size(c->world, &cm->world);
    MPI_CALL(MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, cm->rank, MPI_INFO_NULL, &c->node));
    MPI_Comm_rank(c->node, &cm->local_rank);
    MPI_Comm_size(c->node, &cm->local_world);
    MPI_CALL(MPI_Op_create(bf16_sum_fn, 1, &c->bf16_sum));
    c->counts = ditc_xcalloc((size_t)cm->world, sizeof(int));
    c->displs = ditc_xcalloc((size_t)cm->world, sizeof(int));
    cm->name = "mpi";
    cm->ctx = c;
    cm->allreduce_sum = mpi_allreduce;
    cm->reduce_scatter_sum = mpi_reduce_scatter;
    cm->allgather = mpi_allgather;
    cm->broadcast = mpi_broadcast;
    cm->iallreduce_sum = mpi_iallreduce;
    cm->ireduce_scatter_sum = mpi_ireduce_scatter;
    cm->test = mpi_test;
    cm->wait = mpi_wait;
    cm->barrier = mpi_barrier;
    cm->abort = mpi_abort;
    cm->destroy = mpi_destroy;
    return cm;
}

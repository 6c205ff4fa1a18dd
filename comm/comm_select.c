// comm_select.c — which communicator a backend's buffers need (comm.h): NCCL for the CUDA backend when it is
// built in and several processes run, else the one the launcher gave (single process or MPI).
#include <string.h>

#include "comm.h"

ditc_comm *ditc_comm_for_backend(ditc_comm *comm, const ditc_backend *be, ditc_status *st) {
#ifdef DITC_HAVE_NCCL
    if (comm->world > 1 && !be->host_memory && !strcmp(be->name, "cuda")) return ditc_comm_nccl_new(comm, st);
#else
    (void)be;
    (void)st;
#endif
    return comm;
}

// pickle.h — a restricted unpickler for torch.save's data.pkl: it builds a tree of plain values and never runs
// code. It understands the opcodes Python writes at protocols 2-4 for dicts, lists, tuples, ints, floats,
// strings, bytes, bools and None, and exactly these globals: collections.OrderedDict, argparse.Namespace (read
// as a dict of its fields), torch._utils._rebuild_tensor_v2 / _rebuild_parameter,
// torch._tensor._rebuild_from_type_v2 (for torch.Tensor / torch.nn.Parameter), and the storage types
// torch.{Float,Half,BFloat16,Double,Long,Int,Byte}Storage, met through torch.save's persistent ids: the zip
// format's ('storage', type, key, location, numel), or the legacy format's ('storage', type, root_key, location,
// numel, view_metadata) with view_metadata None or (view_key, offset, size). Any other global or opcode is one
// error naming it.
// Every count (memo indices, stack, strings) is bounded by the bytes of the pickle read so far, so no declared
// size can make it allocate more than a small multiple of its input, even when the pickle is the first of a
// stream (the legacy format: several pickles, then the storages' bytes).
#ifndef DITC_PICKLE_H
#define DITC_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "dtype.h"

#define DITC_PK_MAX_DIMS 8

typedef enum {
    DITC_PK_NONE,
    DITC_PK_BOOL,
    DITC_PK_INT,
    DITC_PK_FLOAT,
    DITC_PK_STR,     // UTF-8 text (s, len)
    DITC_PK_BYTES,   // (s, len)
    DITC_PK_TUPLE,   // items[0, n)
    DITC_PK_LIST,    // items[0, n)
    DITC_PK_DICT,    // items: key0, value0, key1, value1, ... (n = 2 x pairs); i = 1 for an argparse.Namespace
    DITC_PK_GLOBAL,  // an allowed global (g)
    DITC_PK_STORAGE, // a persistent id: dtype, key (s), numel (i); a legacy storage view (view_numel >= 0)
    DITC_PK_TENSOR,  // storage (items[0]), offset, ndim, shape, stride
} ditc_pk_kind;

typedef enum {
    DITC_PKG_ORDERED_DICT,
    DITC_PKG_NAMESPACE,
    DITC_PKG_REBUILD_TENSOR_V2,
    DITC_PKG_REBUILD_PARAMETER,
    DITC_PKG_REBUILD_FROM_TYPE_V2,
    DITC_PKG_TENSOR_TYPE, // torch.Tensor, torch.nn.parameter.Parameter
    DITC_PKG_STORAGE_TYPE,
} ditc_pk_global;

typedef struct ditc_pk_obj ditc_pk_obj;
struct ditc_pk_obj {
    ditc_pk_kind kind;
    int64_t i; // BOOL, INT; STORAGE: numel; TENSOR: storage offset
    double f;
    char *s; // STR, BYTES, STORAGE key; GLOBAL: "module.name"
    size_t len;
    ditc_pk_obj **items;
    int64_t n, cap;
    ditc_pk_global g; // GLOBAL
    ditc_dtype dtype; // GLOBAL of a storage type, STORAGE, TENSOR
    int ndim;         // TENSOR
    int64_t shape[DITC_PK_MAX_DIMS], stride[DITC_PK_MAX_DIMS];
    // STORAGE: the elements [view_offset, view_offset + view_numel) of the storage (a legacy storage view), or
    // view_numel = -1: the whole storage
    int64_t view_offset, view_numel;
};

typedef struct {
    ditc_pk_obj *root;
    ditc_pk_obj **all; // every object made, freed together
    int64_t n_all, cap_all;
} ditc_pickle;

// Unpickles buf[0, size) (bytes after its STOP are ignored); label names the pickle in messages (e.g.
// "model.pt: archive/data.pkl"). Persistent ids are the zip format's.
int ditc_pickle_load(ditc_pickle *p, const unsigned char *buf, size_t size, const char *label, ditc_status *s);
// Unpickles the pickle at the start of buf[0, size), the rest being what follows it in a stream; *used = its
// length through STOP. legacy: the persistent ids are the legacy format's 6-tuples instead of the zip format's.
int ditc_pickle_load_next(ditc_pickle *p, const unsigned char *buf, size_t size, int legacy, size_t *used,
                          const char *label, ditc_status *s);
void ditc_pickle_free(ditc_pickle *p);
const char *ditc_pk_kind_name(ditc_pk_kind k);

#endif

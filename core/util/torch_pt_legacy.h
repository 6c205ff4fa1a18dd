// torch_pt_legacy.h — the legacy (PyTorch < 1.6, non-zip) torch.save format, for torch_pt.c: a stream of five
// pickles (magic number, protocol version 1001, sys_info, the object, the sorted storage keys), then for each
// key an int64 little-endian element count and that many elements' bytes. The object pickle is unpickled as the
// zip format's data.pkl is (its persistent ids carry a sixth item, view_metadata); every storage it declares must
// have exactly one data record of the declared size, inside the file.
#ifndef DITC_TORCH_PT_LEGACY_H
#define DITC_TORCH_PT_LEGACY_H

#include "pickle.h"

typedef struct {
    const char *key; // the storage key (owned by the object pickle's objects)
    ditc_dtype dtype;
    int64_t numel;   // elements declared by the persistent ids, = the data record's count
    uint64_t offset; // of the record's bytes in the file
    int listed;      // named by the storage-key pickle
} ditc_ptl_record;

typedef struct {
    ditc_ptl_record *recs; // sorted by key
    int64_t n;
    size_t pickle_len; // the object pickle's length
} ditc_pt_legacy;

// Whether h[0, n) starts as a legacy file: a pickle of protocol 2-5 whose first value is a 10-byte int (torch's
// magic number, or a corrupt one: ditc_pt_legacy_open then says so).
int ditc_pt_legacy_sniff(const unsigned char *h, size_t n);
// Parses buf[0, size) (a whole file named label in messages): *pk = the object pickle, L = its storages.
int ditc_pt_legacy_open(ditc_pt_legacy *L, ditc_pickle *pk, const unsigned char *buf, size_t size, const char *label,
                        ditc_status *s);
// The record of storage key, NULL if none.
const ditc_ptl_record *ditc_pt_legacy_find(const ditc_pt_legacy *L, const char *key);
void ditc_pt_legacy_free(ditc_pt_legacy *L);

#endif

// kvfile.h — a small string→string map saved as a flat JSON object (the training state file
// state.json: step, epoch, data position, seed, arguments). Written atomically, read strictly.
#ifndef DITC_KVFILE_H
#define DITC_KVFILE_H

#include <stdint.h>

#include "common.h"

typedef struct {
    int n, cap;
    char **keys, **vals;
} ditc_kv;

void ditc_kv_set(ditc_kv *kv, const char *key, const char *val); // replaces an existing key
void ditc_kv_set_i64(ditc_kv *kv, const char *key, int64_t v);
const char *ditc_kv_get(const ditc_kv *kv, const char *key); // NULL if absent
// Integer value of key; error naming file and key if absent or not an integer.
int ditc_kv_get_i64(const ditc_kv *kv, const char *key, int64_t *out, const char *file, ditc_status *st);
void ditc_kv_free(ditc_kv *kv);
int ditc_kv_save(const ditc_kv *kv, const char *path, ditc_status *st);
int ditc_kv_load(ditc_kv *kv, const char *path, ditc_status *st);

#endif

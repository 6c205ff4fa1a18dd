// shards.h — the format of pre-extracted data sets: `ditc extract` (run/extract_shards.c) writes a source's
// exact 8-bit samples into safetensors shards plus an index (docs/data-formats.md), and
// ditc_dataset_open_shards (dataset.h) reads them back as a data source.
//
// DIR/shard-00000.safetensors ... : tensors `images` U8 [n, C, S, S] (the get_u8 bytes: preprocessed, not
// flipped, not scaled) and `labels` I32 [n]; DIR/index.json: format "ditc-shards", version 1, data
// "images-u8", channels, side, num_classes, total, source, and per shard {file, count}. Every file is
// written atomically (temporary file + rename) and index.json last, after any old index.json was removed
// first, so a directory whose extraction failed or is under way has no index and does not open.
#ifndef DITC_SHARDS_H
#define DITC_SHARDS_H

#include "dataset.h"

#define DITC_SHARDS_FORMAT       "ditc-shards"
#define DITC_SHARDS_VERSION      1
#define DITC_SHARDS_DATA_U8      "images-u8"
#define DITC_SHARDS_DEFAULT_SIZE 8192

#endif

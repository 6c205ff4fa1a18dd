// tfevents.h — TensorBoard event files (events.out.tfevents.*): scalar summaries for `tensorboard --logdir`.
//
// The file is a sequence of TFRecords, each
//   uint64 length (LE) | uint32 masked_crc32c(length bytes) | length bytes of data | uint32 masked_crc32c(data)
// with masked_crc32c(x) = ((c >> 15) | (c << 17)) + 0xa282ead8, c = CRC32C(x); the data is an Event protobuf
// (tensorflow/core/util/event.proto): 1 wall_time (double), 2 step (int64), 3 file_version ("brain.Event:2",
// the first record), 5 summary {repeated 1 value {1 tag, 2 simple_value (float)}}.
//
// Every call writes whole records with pwrite(2) at the end of the complete ones; a failed write (full disk,
// file size limit) truncates the file back to its complete records and returns an error, so the file always
// stays readable and a later write may succeed. The writer is not thread-safe.
#ifndef DITC_TFEVENTS_H
#define DITC_TFEVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct ditc_tfevents ditc_tfevents;

typedef struct {
    const char *tag; // e.g. "train/loss" (TensorBoard groups the dashboard by the part before '/')
    float value;
} ditc_tfevents_scalar_value;

// Creates <dir>/events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n> (TensorBoard's naming; n counts up
// from 0 past existing files) and writes the file_version record. dir must exist. NULL with a message in st
// naming the path on failure.
ditc_tfevents *ditc_tfevents_open(const char *dir, ditc_status *st);
// The same for exactly path (created or truncated).
ditc_tfevents *ditc_tfevents_open_file(const char *path, ditc_status *st);

// One Event{wall_time, step, summary{value{tag, simple_value}}} record. wall_time: Unix seconds
// (ditc_tfevents_wall_time()). 0, or DITC_ERR_IO / DITC_ERR_ARG with a message naming the file in st (st may
// be NULL).
int ditc_tfevents_scalar(ditc_tfevents *w, const char *tag, int64_t step, double wall_time, float value,
                         ditc_status *st);
// n scalars of one step in one Event (one record).
int ditc_tfevents_scalars(ditc_tfevents *w, int64_t step, double wall_time, const ditc_tfevents_scalar_value *v, int n,
                          ditc_status *st);
// fdatasync: the records written so far are on disk (they are in the file after each call anyway; call this at
// checkpoints, not every step).
int ditc_tfevents_flush(ditc_tfevents *w, ditc_status *st);
// Closes the file (NULL-safe; st may be NULL); DITC_ERR_IO if close(2) fails.
int ditc_tfevents_close(ditc_tfevents *w, ditc_status *st);
const char *ditc_tfevents_path(const ditc_tfevents *w);

double ditc_tfevents_wall_time(void); // CLOCK_REALTIME in seconds (Event.wall_time)

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78): ditc_crc32c("123456789", 9) == 0xE3069283.
uint32_t ditc_crc32c(const void *data, size_t n);
uint32_t ditc_crc32c_masked(const void *data, size_t n); // the TFRecord form (see above)

#endif

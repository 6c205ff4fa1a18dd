// sample_npz.h — `ditc sample --num-samples N --npz OUT.npz`: the ADM sample batch for FID/IS evaluation
// (shared/spec/evaluation.md): arr_0 uint8 (N, H, W, 3) with sample_ddp.py's pixel formula, arr_1 int64 (N,) labels.
//
// Sample i (global index) has label randint(seed, DITC_RNG_SAMPLE_LABEL, 0, i, K) (uniform per sample, as
// sample_ddp.py's torch.randint; --balanced: i mod K, so every class exactly N/K times when K divides N, else the
// first N mod K classes once more) and the i-th slice of the sampling noise streams. The N samples are cut into
// batches k = 0 .. ceil(N/B) − 1 of B (the last may be shorter); under mpirun rank r draws batches r, r + P, ...,
// and every rank writes its batches' pixels at their offsets in the preallocated file (its layout is fixed by N,
// H, W: npz_write.h), so the file is the same for any number of processes (given the batch size and threads).
//
// Files: OUT.npz.partial (the ZIP being filled; must be on a file system every rank sees) and OUT.npz.progress
// (a header naming the run's settings, then one 32-byte record per finished batch: index, count, CRC32 of its
// pixel bytes, written after the pixels are fdatasync'ed). A rerun with the same settings verifies each
// recorded batch's CRC against the partial file and draws only the missing ones; at the end rank 0 writes the
// labels, the headers with CRC32s (batch CRCs combined with crc32_combine), the central directory, renames the
// partial file to OUT.npz and removes the progress file. The result equals an uninterrupted run byte for byte.
#ifndef DITC_SAMPLE_NPZ_H
#define DITC_SAMPLE_NPZ_H

#include "comm.h"
#include "sample.h"

int ditc_sample_npz_run(ditc_backend *be, ditc_comm *comm, const ditc_sample_args *a, ditc_status *st);

#endif

// convert.h — `ditc convert IN OUT.safetensors`: a weights file of any readable format (a torch.save .pt/.pth, or
// safetensors) rewritten as safetensors: the selected tensors in their own dtypes and the file's scalars as
// metadata (see torch_pt.h for --select and the names).
#ifndef DITC_CONVERT_H
#define DITC_CONVERT_H

#include "common.h"

typedef struct {
    const char *in, *out;
    const char *select; // NULL: the weights (a checkpoint's "ema", else "model", else all); "all"; or a key path
} ditc_convert_args;

// Prints one summary line to stdout on success.
int ditc_convert_run(const ditc_convert_args *a, ditc_status *st);

#endif

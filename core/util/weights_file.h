// weights_file.h — opening a weights file of any supported format by its first bytes: safetensors, or a PyTorch
// torch.save file (.pt/.pth, the zip format of PyTorch >= 1.6 or the legacy format before it, read through
// torch_pt.h). Bare pickles are refused with a message saying how to re-save the file.
#ifndef DITC_WEIGHTS_FILE_H
#define DITC_WEIGHTS_FILE_H

#include "safetensors.h"

typedef enum {
    DITC_WF_SAFETENSORS,  // also anything unrecognised: the safetensors reader then says what is wrong
    DITC_WF_TORCH_ZIP,    // "PK\3\4" / "PK\5\6"
    DITC_WF_TORCH_LEGACY, // a pickle starting with torch's legacy magic number (read), or a tar archive (refused)
    DITC_WF_PICKLE,       // another bare pickle
} ditc_weights_format;

// The format of a file from its first n bytes (n >= 262 or the whole file).
ditc_weights_format ditc_weights_sniff(const unsigned char *head, size_t n);
// The format of the file at path; an error if it cannot be read.
int ditc_weights_format_of(const char *path, ditc_weights_format *fmt, ditc_status *s);
// Opens path as weights. select as in torch_pt.h (NULL: a checkpoint's "ema", else "model", else the whole
// file; "all"; or a key path). For a safetensors file, NULL and "all" give the whole file, any other select the
// tensors named "<select>.*" (prefix removed; none is an error).
int ditc_weights_open(ditc_safetensors *st, const char *path, const char *select, ditc_status *s);

#endif

// torch_pt.h — PyTorch torch.save files (.pt/.pth) read without Python, and presented as a ditc_safetensors so
// that every reader of weights takes them unchanged. Both formats: the zip archive of PyTorch >= 1.6, and the
// legacy stream of pickles and raw storages that PyTorch < 1.6 wrote (and `_use_new_zipfile_serialization=False`
// still does; torch_pt_legacy.h). The tar-based format of the first PyTorch releases is refused with a message.
//
// The object pickle (the archive's <prefix>/data.pkl, or the legacy stream's fourth pickle) is unpickled by the
// restricted unpickler (pickle.h: no code runs, only tensors, dicts, lists, tuples, scalars and
// argparse.Namespace); each tensor is materialised contiguous from its storage's bytes (the record
// <prefix>/data/<key>, or the legacy data record of <key>) with any strides, storage offsets, storages shared by
// several tensors and legacy storage views (a storage shorter than the tensor's extent is an error), in its own
// dtype (F32, F16, BF16, F64, I64, I32, U8). Names are the nested keys joined with '.' (list and tuple items by
// index, int keys in decimal).
//
// select: NULL = the weights a sampler means: the "ema" dict of a checkpoint if there is one (as the reference
// sample.py), else its "model" dict, else the whole (bare state_dict) file; "all" = every tensor under its
// full name ("ema.blocks.0.attn.qkv.weight", "opt.state.0.exp_avg", ...); any other value = the sub-dict at
// that key path (e.g. "model", "opt.state"), its tensors named relative to it.
// Scalars (ints, floats, strings, bools, None, and lists/tuples of them) of the whole file become the
// metadata, under their full names ("args.model" = "DiT-XL/2", "opt.param_groups.0.lr" = "0.0001").
#ifndef DITC_TORCH_PT_H
#define DITC_TORCH_PT_H

#include "safetensors.h"

typedef enum { DITC_PT_UNKNOWN, DITC_PT_ZIP, DITC_PT_LEGACY, DITC_PT_TAR } ditc_pt_format;
// The torch.save format a file starting with h[0, n) is in (n >= 262 or the whole file): ZIP ("PK\3\4" or
// "PK\5\6"), LEGACY (a pickle of protocol 2-5 starting with a 10-byte int: torch's magic number, or a corrupt
// one), TAR (the first releases' tar archive).
ditc_pt_format ditc_pt_sniff(const unsigned char *h, size_t n);

// buf[0, size) is a whole file (not referenced after the call: st owns copies of everything).
int ditc_pt_parse(ditc_safetensors *st, const unsigned char *buf, size_t size, const char *label, const char *select,
                  ditc_status *s);
// Maps the file at path (label = path) and parses it.
int ditc_pt_open(ditc_safetensors *st, const char *path, const char *select, ditc_status *s);

// Writes the tensors of st (names, dtypes, shapes, data; metadata is not written) as a torch.save file that
// torch.load(path, weights_only=True) returns as an OrderedDict of contiguous CPU tensors (torch_pt_write.c).
// Stored zip entries, streamed to a temporary file that is renamed when complete; ZIP64 records past 4 GiB (or with
// DITC_PT_FORCE_ZIP64 set: tests).
int ditc_pt_save(const char *path, const ditc_safetensors *st, ditc_status *s);

#endif

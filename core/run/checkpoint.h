// checkpoint.h — weights and training checkpoints in safetensors under the reference DiT names.
//
// A checkpoint directory checkpoints/NNNNNNN/ holds model.safetensors and ema.safetensors (F32, the
// reference state_dict, the model config in __metadata__), optimizer.safetensors (exp_avg.<name> and
// exp_avg_sq.<name> for AdamW or hessian.<name> for SophiaG; step and optimizer in __metadata__) and
// state.json (step, epoch, data position, seed, arguments).
// It is written into NNNNNNN.tmp.<pid>/ and renamed into place: a reader never sees half a checkpoint.
#ifndef DITC_CHECKPOINT_H
#define DITC_CHECKPOINT_H

#include "dit_model.h"
#include "kvfile.h"
#include "optimizer.h"
#include "safetensors.h"

// Adds the tensors of p held in the flat host buffer `host` (p->numel floats) as F32 under prefix+name.
void ditc_params_to_writer(const ditc_params *p, const float *host, const char *prefix, ditc_st_writer *w);
// Strict load (like load_state_dict(strict=True)): every tensor prefix+name must be present with the same
// shape (any float dtype, converted); with strict, extra tensors (matching the prefix) are an error.
// Fills the flat backend buffer `flat` (p->numel floats).
int ditc_params_from_file(const ditc_params *p, float *flat, const ditc_safetensors *st, const char *prefix, int strict,
                          ditc_status *s);
// Model weights file: config in __metadata__.
int ditc_save_weights(const char *path, const ditc_dit *m, const float *flat_values, ditc_status *st);
// Infers the DiT config from a weights file (names and shapes; heads `heads` if > 0, else from metadata, else the
// reference's for the width: D/64, 16 for D 1152 (DiT-XL)).
int ditc_dit_config_from_weights(ditc_dit_config *cfg, const ditc_safetensors *st, int heads, ditc_status *s);

// The full flat buffers of a training state (backend memory, the model's parameter layout). With ZeRO the
// caller gathers the shards into such buffers first: checkpoints do not depend on the world size.
typedef struct {
    float *params, *ema, *m, *v; // ema may be NULL; v: exp_avg_sq (AdamW) or the Hessian EMA (SophiaG)
    int64_t opt_step;
    const char *optimizer; // "adamw" (also when NULL) or "sophiag"; reading a file of the other is an error
} ditc_ckpt_buffers;

// Training checkpoints (model, EMA, optimizer, state.json), written atomically.
int ditc_checkpoint_write(const char *dir, const ditc_dit *m, const ditc_ckpt_buffers *b, const ditc_kv *state,
                          ditc_status *st);
// Loads a checkpoint into the given full buffers and state.
int ditc_checkpoint_read(const char *dir, const ditc_dit *m, ditc_ckpt_buffers *b, ditc_kv *state, ditc_status *st);

// ---- checkpoint_dir.c: the checkpoints/ directory of a run ----
// 1 if dir holds a complete checkpoint (state.json with a step, model/optimizer and, if present, ema
// safetensors whose tensors all lie within the file); else 0 with the reason in why.
int ditc_checkpoint_complete(const char *dir, char *why, size_t n);
// Newest complete checkpoints/NNNNNNN under run_dir (partial ones skipped with a warning on stderr); 0 if
// found, else an error.
int ditc_checkpoint_latest(const char *run_dir, char *out, size_t n, ditc_status *st);
// After checkpoint `newest` of cdir is complete: removes leftovers of interrupted writes and deletions, then,
// with keep_last > 0, retires every checkpoint at or below `newest` that is neither among the keep_last newest
// nor a multiple of keep_every (> 0). note(ctx, path) is called per retired checkpoint. Returns how many.
int ditc_checkpoint_rotate(const char *cdir, int64_t newest, int64_t keep_last, int64_t keep_every,
                           void (*note)(void *ctx, const char *removed), void *ctx);
// Deletes the files of dir, then dir (one level: a checkpoint directory); 0 or -1.
int ditc_checkpoint_remove_files(const char *dir);

#endif

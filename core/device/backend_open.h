// backend_open.h — choosing a backend by name (`--device`, `--precision`) and checking that it
// implements every entry of core/tensor/backend.h.
#ifndef DITC_BACKEND_OPEN_H
#define DITC_BACKEND_OPEN_H

#include "backend.h"
#include "common.h"

// device: "cpu" (default when NULL), "cuda", "cuda:N", or "cpu-guard" (the CPU kernels behind device-style
// memory that the core cannot dereference: backend_cpu/cpu_guard_backend.c, for tests).
// precision: "fp32" (default when NULL), "tf32", "bf16". threads: CPU threads (<= 0: default).
// Returns NULL with a message naming the flag in st on a bad name, an unavailable device, a precision the
// backend does not support, or a backend that lacks a kernel.
ditc_backend *ditc_backend_open(const char *device, const char *precision, int threads, ditc_status *st);

// Fails (naming the backend and every missing entry) if a function pointer of be is NULL.
int ditc_backend_validate(const ditc_backend *be, ditc_status *st);

// Parses "fp32" | "tf32" | "bf16"; -1 if none of them.
int ditc_precision_parse(const char *s);
const char *ditc_precision_name(ditc_precision p);

#endif

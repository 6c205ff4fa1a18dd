// fs.h — file-system helpers: mkdir -p with messages that name the flag, atomic small-file writes.
#ifndef DITC_FS_H
#define DITC_FS_H

#include <stdint.h>
#include <stdio.h>

#include "common.h"

// Creates path and its missing parents (0755). An existing directory is fine; an existing non-directory at
// path is an error. Messages: with flag (e.g. "--out") "FLAG PATH: cannot create DIR: reason" and "FLAG PATH:
// exists and is not a directory"; without, "DIR: cannot create: reason".
int ditc_mkdir_p(const char *path, const char *flag, ditc_status *st);

// Atomic small-file write (one piece of ditc_atomic_file below).
int ditc_write_file_atomic(const char *path, const void *data, size_t n, ditc_status *st);
// A large file written piece by piece, atomically: the pieces go to path.tmp.<pid>; commit flushes, fsyncs,
// renames it to path and fsyncs the directory (a failure of that is reported too, as the file might not survive a
// crash; filesystems that cannot sync a directory are accepted); a failed write (e.g. a full disk) is remembered and reported by
// commit (naming path, the step and the cause), which then removes the temporary file, so path is never a partial
// file. abort removes the temporary file.
typedef struct {
    FILE *f;
    char path[4096], tmp[4096 + 32];
    uint64_t written; // bytes so far (the next piece's offset)
    int err;          // errno of the first failed write (0: none)
} ditc_atomic_file;
int ditc_atomic_open(ditc_atomic_file *a, const char *path, ditc_status *st);
void ditc_atomic_write(ditc_atomic_file *a, const void *data, size_t n);
int ditc_atomic_commit(ditc_atomic_file *a, ditc_status *st);
void ditc_atomic_abort(ditc_atomic_file *a);
// Reads the rest of f into a malloc'd buffer *buf (*len bytes; free it), stopping once more than max bytes
// have been read. Returns 0, 1 if the stream holds more than max bytes (*len > max), -1 on a read error.
int ditc_read_stream(FILE *f, size_t max, char **buf, size_t *len);
// fsync of a directory (after a rename in it); 0, or -1 with errno.
int ditc_fsync_dir(const char *dir);

#endif

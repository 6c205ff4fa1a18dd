// fs.h — file-system helpers shared by the commands: mkdir -p with messages that name the flag.
#ifndef DITC_FS_H
#define DITC_FS_H

#include "common.h"

// Creates path and its missing parents (0755). An existing directory is fine; an existing non-directory at
// path is an error. Messages: with flag (e.g. "--out") "FLAG PATH: cannot create DIR: reason" and "FLAG PATH:
// exists and is not a directory"; without, "DIR: cannot create: reason".
int ditc_mkdir_p(const char *path, const char *flag, ditc_status *st);

#endif

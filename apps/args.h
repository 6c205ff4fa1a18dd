// args.h — a tiny flag parser shared by the commands: --name value / --flag, with messages that name
// the flag. Each command declares a table of flags; unknown flags and bad values are errors.
#ifndef DITC_ARGS_H
#define DITC_ARGS_H

#include <stdint.h>

typedef enum { ARG_STR, ARG_INT, ARG_I64, ARG_FLOAT, ARG_BOOL } arg_kind;

typedef struct {
    const char *name; // "--data-path"
    arg_kind kind;
    void *dst; // const char **, int *, int64_t *, double *, int * (bool)
    const char *help;
    int seen; // set by the parser
} arg_def;

// Parses argv[1..argc) against defs (n entries). Returns 0, or prints "ditc <cmd>: <message>" and returns 2.
// --help prints the table and returns 1.
int args_parse(const char *cmd, int argc, char **argv, arg_def *defs, int n, const char *usage);
// The definition of a flag (to test ->seen).
const arg_def *args_find(const arg_def *defs, int n, const char *name);

#endif

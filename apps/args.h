// args.h — a tiny flag parser shared by the commands: --name value / --name=value / --flag, with messages that
// name the flag. Each command declares a table of flags; unknown flags and bad values are errors. Names match
// with '_' and '-' alike (--global_batch_size is --global-batch-size), and an ARG_ALIAS row is another
// spelling of the flag it names (the PyTorch DiT scripts' flags: --train_batch_size, --load, ...).
#ifndef DITC_ARGS_H
#define DITC_ARGS_H

#include <stdint.h>

// ARG_ALIAS: the row is another name of the flag whose name dst points to (a string; help: where it comes from).
typedef enum { ARG_STR, ARG_INT, ARG_I64, ARG_FLOAT, ARG_BOOL, ARG_ALIAS } arg_kind;

typedef struct {
    const char *name; // "--data-path"
    arg_kind kind;
    void *dst; // const char **, int *, int64_t *, double *, int * (bool); the flag's name (alias)
    const char *help;
    int seen; // set by the parser
} arg_def;

// Parses argv[1..argc) against defs (n entries). Returns 0, or prints "ditc <cmd>: <message>" and returns 2.
// --help prints the table and returns 1.
int args_parse(const char *cmd, int argc, char **argv, arg_def *defs, int n, const char *usage);
// The definition of a flag (to test ->seen), an alias resolved to the flag it names; NULL if none.
const arg_def *args_find(const arg_def *defs, int n, const char *name);

#endif

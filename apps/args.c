// args.c — flag parsing with one clear message per mistake.
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_help(const char *cmd, const arg_def *d, int n, const char *usage) {
    printf("usage: ditc %s %s\n\nflags:\n", cmd, usage);
    for (int i = 0; i < n; i++) printf("  %-24s %s\n", d[i].name, d[i].help);
}

const arg_def *args_find(const arg_def *defs, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(defs[i].name, name)) return &defs[i];
    return NULL;
}

int args_parse(const char *cmd, int argc, char **argv, arg_def *defs, int n, const char *usage) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(cmd, defs, n, usage);
            return 1;
        }
        arg_def *d = (arg_def *)args_find(defs, n, argv[i]);
        if (!d) {
            fprintf(stderr, "ditc %s: unknown flag '%s' (see `ditc %s --help`)\n", cmd, argv[i], cmd);
            return 2;
        }
        d->seen = 1;
        if (d->kind == ARG_BOOL) {
            *(int *)d->dst = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "ditc %s: %s needs a value\n", cmd, d->name);
            return 2;
        }
        const char *v = argv[++i];
        char *end = NULL;
        errno = 0;
        switch (d->kind) {
        case ARG_STR: *(const char **)d->dst = v; break;
        case ARG_INT: {
            long x = strtol(v, &end, 10);
            if (errno || *end || end == v || x < -2147483647L || x > 2147483647L) goto bad;
            *(int *)d->dst = (int)x;
            break;
        }
        case ARG_I64: {
            long long x = strtoll(v, &end, 10);
            if (errno || *end || end == v) goto bad;
            *(int64_t *)d->dst = (int64_t)x;
            break;
        }
        case ARG_FLOAT: {
            double x = strtod(v, &end);
            if (errno || *end || end == v || !isfinite(x)) goto bad;
            *(double *)d->dst = x;
            break;
        }
        default: break;
        }
        continue;
    bad:
        fprintf(stderr, "ditc %s: %s '%s': not a valid %s\n", cmd, d->name, v,
                d->kind == ARG_FLOAT ? "number" : "integer");
        return 2;
    }
    return 0;
}

// args.c — flag parsing with one clear message per mistake.
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_help(const char *cmd, const arg_def *d, int n, const char *usage) {
    printf("usage: ditc %s %s\n\nflags:\n", cmd, usage);
    int aliases = 0;
    for (int i = 0; i < n; i++)
        if (d[i].kind != ARG_ALIAS) printf("  %-24s %s\n", d[i].name, d[i].help);
        else aliases = 1;
    if (aliases) {
        printf("\naliases (the PyTorch DiT scripts' spellings, the same meaning):\n");
        for (int i = 0; i < n; i++)
            if (d[i].kind == ARG_ALIAS) printf("  %-24s = %-22s %s\n", d[i].name, (const char *)d[i].dst, d[i].help);
    }
    printf("\nevery --foo-bar is also accepted as --foo_bar, and --flag=value as --flag value\n");
}

// Flag names are equal when they differ only in '_' against '-'; n: the length of a (a may go on with "=v").
static int same_name(const char *a, size_t n, const char *b) {
    size_t i = 0;
    for (; i < n && b[i]; i++) {
        char x = a[i] == '_' ? '-' : a[i], y = b[i] == '_' ? '-' : b[i];
        if (x != y) return 0;
    }
    return i == n && !b[i];
}

static arg_def *find_n(const arg_def *defs, int n, const char *name, size_t len) {
    for (int i = 0; i < n; i++)
        if (same_name(name, len, defs[i].name)) {
            if (defs[i].kind != ARG_ALIAS) return (arg_def *)&defs[i];
            for (int k = 0; k < n; k++) // the flag the alias names
                if (defs[k].kind != ARG_ALIAS && !strcmp(defs[k].name, (const char *)defs[i].dst))
                    return (arg_def *)&defs[k];
            return NULL;
        }
    return NULL;
}

const arg_def *args_find(const arg_def *defs, int n, const char *name) { return find_n(defs, n, name, strlen(name)); }

int args_parse(const char *cmd, int argc, char **argv, arg_def *defs, int n, const char *usage) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(cmd, defs, n, usage);
            return 1;
        }
        const char *eq = !strncmp(argv[i], "--", 2) ? strchr(argv[i], '=') : NULL; // --flag=value
        size_t len = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        arg_def *d = find_n(defs, n, argv[i], len);
        if (!d) {
            fprintf(stderr, "ditc %s: unknown flag '%.*s' (see `ditc %s --help`)\n", cmd, (int)len, argv[i], cmd);
            return 2;
        }
        d->seen = 1;
        if (d->kind == ARG_BOOL) {
            if (eq) {
                fprintf(stderr, "ditc %s: %s takes no value\n", cmd, d->name);
                return 2;
            }
            *(int *)d->dst = 1;
            continue;
        }
        if (!eq && i + 1 >= argc) {
            fprintf(stderr, "ditc %s: %s needs a value\n", cmd, d->name);
            return 2;
        }
        const char *v = eq ? eq + 1 : argv[++i];
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

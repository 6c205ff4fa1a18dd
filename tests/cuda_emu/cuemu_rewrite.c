// cuemu_rewrite.c — turns a CUDA source of backend_cuda/ into C++ that g++ compiles against the CPU emulation
// (tests/cuda_emu/cuemu_device.h): the three things a C++ compiler cannot read.
//   kernel<<<grid, block, smem, stream>>>(args)  →  cuemu_launch(cuemu_cfg(grid, block, smem, stream),
//                                                   cuemu_fnptr(&kernel), "kernel", [&]() { kernel(args); })
//     (the kernel's address — for the shared memory limit cudaFuncSetAttribute raised — only where the launch has
//     dynamic shared memory: an overloaded kernel name has no address without its argument types)
//   extern __shared__ <align> T name[];          →  T *name = (T *)cuemu_dyn_smem();
//   __shared__ T name[N];                        →  static T name[N]; cuemu_shared_poison(name, sizeof(name));
//     (a function static is the block's shared memory: blocks run one at a time; NaN bytes at each block's start)
//   __CUDA_ARCH__                                →  CUEMU_CUDA_ARCH
// Lines are kept (a #line names the original file), so __FILE__:__LINE__ in error messages point at the source.
//
// usage: cuemu_rewrite in.cu out.cc
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *src;
static size_t n_src;
static FILE *out;

static void die(const char *path, size_t at, const char *what) {
    int line = 1;
    for (size_t i = 0; i < at && i < n_src; i++) line += src[i] == '\n';
    fprintf(stderr, "%s:%d: cuemu_rewrite: %s\n", path, line, what);
    exit(1);
}

static int ident(char c) { return isalnum((unsigned char)c) || c == '_'; }

// Index just past the comment or literal starting at i (or i when there is none).
static size_t skip_opaque(size_t i) {
    if (src[i] == '/' && i + 1 < n_src && src[i + 1] == '/') {
        while (i < n_src && src[i] != '\n') i++;
        return i;
    }
    if (src[i] == '/' && i + 1 < n_src && src[i + 1] == '*') {
        char *e = strstr(src + i + 2, "*/");
        return e ? (size_t)(e - src) + 2 : n_src;
    }
    if (src[i] == '"' || src[i] == '\'') {
        char q = src[i++];
        while (i < n_src && src[i] != q) i += src[i] == '\\' ? 2 : 1;
        return i + 1;
    }
    return i;
}

// Index of the bracket closing the one at i ('(' or '<'), skipping comments and literals.
static size_t match(const char *path, size_t i) {
    char open = src[i], close = open == '(' ? ')' : '>';
    int depth = 0;
    while (i < n_src) {
        size_t j = skip_opaque(i);
        if (j != i) {
            i = j;
            continue;
        }
        if (src[i] == open) depth++;
        if (src[i] == close && --depth == 0) return i;
        i++;
    }
    die(path, i, "unbalanced brackets");
    return 0;
}

// Start of the kernel expression that ends just before `end` (identifier, optionally followed by <template args>).
static size_t kernel_start(const char *path, size_t end) {
    size_t i = end;
    while (i > 0 && isspace((unsigned char)src[i - 1])) i--;
    if (i > 0 && src[i - 1] == '>') { // template arguments: walk back to their '<'
        int depth = 0;
        while (i > 0) {
            i--;
            if (src[i] == '>') depth++;
            if (src[i] == '<' && --depth == 0) break;
        }
    }
    while (i > 0 && ident(src[i - 1])) i--;
    if (i == end || !ident(src[i])) die(path, end, "no kernel name before <<<");
    return i;
}

static void put(size_t a, size_t b) { fwrite(src + a, 1, b - a, out); }

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: cuemu_rewrite in.cu out.cc\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    n_src = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    src = calloc(n_src + 1, 1);
    if (!src || fread(src, 1, n_src, f) != n_src) die(argv[1], 0, "cannot read");
    fclose(f);
    out = fopen(argv[2], "wb");
    if (!out) {
        perror(argv[2]);
        return 1;
    }
    fprintf(out, "#line 1 \"%s\"\n", argv[1]);
    size_t done = 0, i = 0; // src[0, done) is written
    while (i < n_src) {
        size_t j = skip_opaque(i);
        if (j != i) {
            i = j;
            continue;
        }
        if (!strncmp(src + i, "<<<", 3)) {
            size_t k0 = kernel_start(argv[1], i);
            char *cfg_end = strstr(src + i + 3, ">>>");
            if (!cfg_end) die(argv[1], i, "<<< without >>>");
            size_t c0 = i + 3, c1 = (size_t)(cfg_end - src), a0 = c1 + 3;
            while (a0 < n_src && isspace((unsigned char)src[a0])) a0++;
            if (src[a0] != '(') die(argv[1], a0, "no argument list after >>>");
            size_t a1 = match(argv[1], a0);
            put(done, k0);
            fputs("cuemu_launch(cuemu_cfg(", out);
            put(c0, c1);
            // the config's third argument, if any (dynamic shared memory bytes)
            int depth = 0, commas = 0;
            size_t s0 = 0, s1 = c1;
            for (size_t q = c0; q < c1; q++) {
                depth += src[q] == '(' ? 1 : src[q] == ')' ? -1 : 0;
                if (src[q] == ',' && !depth && ++commas == 2) s0 = q + 1;
                if (src[q] == ',' && !depth && commas == 3) s1 = q;
            }
            while (s0 && s0 < s1 && isspace((unsigned char)src[s0])) s0++;
            int smem =
                s0 && !(s1 - s0 >= 1 && src[s0] == '0' && (s1 - s0 == 1 || !isdigit((unsigned char)src[s0 + 1])));
            fputs("), ", out);
            if (smem) {
                fputs("cuemu_fnptr(&", out);
                put(k0, i);
                fputs(")", out);
            } else fputs("NULL", out);
            fputs(", \"", out);
            for (size_t q = k0; q < i; q++)
                if (!isspace((unsigned char)src[q])) fputc(src[q], out);
            fputs("\", [&]() { ", out);
            put(k0, i);
            put(a0, a1 + 1);
            fputs("; })", out);
            done = i = a1 + 1;
            continue;
        }
        if (!strncmp(src + i, "extern __shared__", 17)) {
            char *semi = strchr(src + i, ';');
            if (!semi) die(argv[1], i, "extern __shared__ without ';'");
            size_t e = (size_t)(semi - src), p = i + 17;
            // [__align__(n)] type... name[]
            while (isspace((unsigned char)src[p])) p++;
            if (!strncmp(src + p, "__align__", 9)) {
                p += 9;
                while (isspace((unsigned char)src[p])) p++;
                p = match(argv[1], p) + 1;
            }
            size_t br = p;
            while (br < e && src[br] != '[') br++;
            if (br == e) die(argv[1], i, "extern __shared__ is not an array");
            size_t ne = br;
            while (ne > p && isspace((unsigned char)src[ne - 1])) ne--;
            size_t ns = ne;
            while (ns > p && ident(src[ns - 1])) ns--;
            put(done, i);
            put(p, ns);
            fputs("*", out);
            put(ns, ne);
            fputs(" = (", out);
            put(p, ns);
            fputs("*)cuemu_dyn_smem()", out);
            done = i = e;
            continue;
        }
        if (!strncmp(src + i, "__shared__", 10) && (i == 0 || !ident(src[i - 1])) && !ident(src[i + 10])) {
            // __shared__ T name[dims];  →  static T name[dims]; cuemu_shared_poison(name, sizeof(name));
            char *semi = strchr(src + i, ';');
            if (!semi) die(argv[1], i, "__shared__ without ';'");
            size_t e = (size_t)(semi - src), ne = i + 10;
            while (ne < e && src[ne] != '[' && src[ne] != '=') ne++;
            while (ne > i + 10 && isspace((unsigned char)src[ne - 1])) ne--;
            size_t ns = ne;
            while (ns > i + 10 && ident(src[ns - 1])) ns--;
            if (ns == ne) die(argv[1], i, "no name in a __shared__ declaration");
            put(done, i);
            fputs("static", out);
            put(i + 10, e + 1);
            fputs(" cuemu_shared_poison(", out);
            put(ns, ne);
            fputs(", sizeof(", out);
            put(ns, ne);
            fputs("));", out);
            done = i = e + 1;
            continue;
        }
        if (!strncmp(src + i, "__CUDA_ARCH__", 13) && (i == 0 || !ident(src[i - 1]))) {
            put(done, i);
            fputs("CUEMU_CUDA_ARCH", out);
            done = i = i + 13;
            continue;
        }
        i++;
    }
    put(done, n_src);
    if (fclose(out)) {
        perror(argv[2]);
        return 1;
    }
    free(src);
    return 0;
}

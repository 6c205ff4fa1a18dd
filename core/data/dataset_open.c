// dataset_open.c — one entry point for the file-backed data sources (dataset.h): --dataset KIND with
// --data-path PATH, where "auto" looks at what PATH holds.
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define _DEFAULT_SOURCE 1 // d_type in <dirent.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "dataset.h"
#include "latents.h"

static int exists_file(const char *dir, const char *name) {
    size_t nd = strlen(dir), nn = strlen(name);
    char *p = ditc_xmalloc(nd + nn + 2);
    memcpy(p, dir, nd);
    p[nd] = '/';
    memcpy(p + nd + 1, name, nn + 1);
    struct stat sb;
    int r = stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
    free(p);
    return r;
}

// 1 if dir has at least one sub-directory (symlinks followed); -1 if it cannot be read (errno set).
static int has_subdir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    int found = 0;
    size_t nd = strlen(dir);
    while (!found && (e = readdir(d))) {
        const char *nm = e->d_name;
        if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))) continue;
        if (e->d_type == DT_DIR) found = 1;
        else if (e->d_type == DT_LNK || e->d_type == DT_UNKNOWN) {
            size_t nn = strlen(nm);
            char *p = ditc_xmalloc(nd + nn + 2);
            memcpy(p, dir, nd);
            p[nd] = '/';
            memcpy(p + nd + 1, nm, nn + 1);
            struct stat sb;
            found = stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
            free(p);
        }
    }
    closedir(d);
    return found;
}

// 1 if the file starts (after gunzip when gzip) with the IDX images magic 0x00000803.
static int idx_magic(const char *path) {
    gzFile f = gzopen(path, "rb");
    if (!f) return 0;
    unsigned char m[4];
    int r = gzread(f, m, 4) == 4 && m[0] == 0 && m[1] == 0 && m[2] == 8 && m[3] == 3;
    gzclose(f);
    return r;
}

const char *ditc_dataset_detect(const char *path, ditc_status *st) {
    ditc_status_ok(st);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        ditc_fail(st, DITC_ERR_IO, "--data-path %s: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISREG(sb.st_mode)) {
        if (idx_magic(path)) return "idx";
        ditc_fail(st, DITC_ERR_FORMAT,
                  "--data-path %s: a file, but not an IDX images file (magic 0x00000803, raw or gzip); other sources "
                  "are directories (ImageFolder, CIFAR-10, shards)",
                  path);
        return NULL;
    }
    if (!S_ISDIR(sb.st_mode)) {
        ditc_fail(st, DITC_ERR_IO, "--data-path %s: neither a directory nor a regular file", path);
        return NULL;
    }
    if (exists_file(path, "index.json")) return "shards";
    if (exists_file(path, DITC_LATENTS_INDEX)) return "latents";
    if (exists_file(path, "data_batch_1.bin") || exists_file(path, "cifar-10-batches-bin/data_batch_1.bin") ||
        exists_file(path, "test_batch.bin") || exists_file(path, "cifar-10-batches-bin/test_batch.bin"))
        return "cifar10";
    if (exists_file(path, "train-images-idx3-ubyte") || exists_file(path, "train-images-idx3-ubyte.gz")) return "idx";
    int sub = has_subdir(path);
    if (sub < 0) {
        ditc_fail(st, DITC_ERR_IO, "--data-path %s: cannot read the directory: %s", path, strerror(errno));
        return NULL;
    }
    if (sub) return "imagefolder";
    ditc_fail(st, DITC_ERR_FORMAT,
              "--data-path %s: cannot tell what data this is: looked for index.json (shards from `ditc extract`), "
              "[cifar-10-batches-bin/]data_batch_1.bin or test_batch.bin (CIFAR-10), train-images-idx3-ubyte[.gz] "
              "(IDX), class sub-directories (ImageFolder); or name it with --dataset",
              path);
    return NULL;
}

int ditc_dataset_open(ditc_dataset **out, const char *kind, const char *path, int image_size, int skip_bad,
                      ditc_status *st) {
    DITC_CHECK(out != NULL, "dataset_open with NULL out");
    *out = NULL;
    ditc_status_ok(st);
    if (!kind) kind = "auto";
    if (!path) return ditc_fail(st, DITC_ERR_ARG, "--data-path is required");
    if (!strcmp(kind, "synthetic"))
        return ditc_fail(st, DITC_ERR_ARG, "--dataset synthetic has no --data-path source (the caller builds it)");
    static const char *const kinds[] = {"auto", "imagefolder", "cifar10", "idx", "shards", "latents"};
    int known = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) known |= !strcmp(kind, kinds[k]);
    if (!known)
        return ditc_fail(st, DITC_ERR_ARG,
                         "--dataset '%s': expected auto, imagefolder, cifar10, idx, shards, latents or synthetic",
                         kind);
    struct stat sb;
    if (stat(path, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "--data-path %s: %s", path, strerror(errno));
    if (!strcmp(kind, "auto")) {
        kind = ditc_dataset_detect(path, st);
        if (!kind) return st ? st->code : DITC_ERR_FORMAT;
    }
    if (!strcmp(kind, "imagefolder")) return ditc_dataset_open_imagefolder(out, path, image_size, skip_bad, st);
    if (!strcmp(kind, "cifar10")) return ditc_dataset_open_cifar10(out, path, image_size, 1, st);
    if (!strcmp(kind, "idx")) return ditc_dataset_open_idx(out, path, image_size, st);
    if (!strcmp(kind, "latents")) { // image_size, if given, must be the side of the encoded images
        int rc = ditc_dataset_open_latents(out, path, st);
        ditc_latents_info li;
        if (!rc && image_size && ditc_dataset_latents_info(*out, &li) && image_size != li.image_side) {
            rc = ditc_fail(st, DITC_ERR_ARG, "--image-size %d: the latents in %s were extracted from %dx%d images",
                           image_size, path, li.image_side, li.image_side);
            ditc_dataset_free(*out);
            *out = NULL;
        }
        return rc;
    }
    // shards
    int rc = ditc_dataset_open_shards(out, path, st);
    if (rc) return rc;
    if (image_size && image_size != (*out)->side) {
        rc = ditc_fail(st, DITC_ERR_ARG,
                       "--image-size %d: the shards in %s hold %dx%d samples (extracted with --image-size %d; extract "
                       "again for another size, or leave --image-size out)",
                       image_size, path, (*out)->side, (*out)->side, (*out)->side);
        ditc_dataset_free(*out);
        *out = NULL;
    }
    return rc;
}

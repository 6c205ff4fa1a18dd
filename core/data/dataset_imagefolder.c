// dataset_imagefolder.c — the torchvision ImageFolder data source (dataset.h): scanning root/<class>/**
// in torchvision's exact order, and per-sample decoding + center_crop_arr through image.h.
//
// Order (torchvision.datasets.folder): classes = sorted(e.name for e in os.scandir(root) if e.is_dir());
// per class `for dirpath, _, fnames in sorted(os.walk(class_dir, followlinks=True)): for f in sorted(fnames)`,
// keeping names whose lower-cased form ends with one of the IMG_EXTENSIONS. sorted() on the os.walk tuples
// orders the directories by their full path string (so "a-b" < "a/x": '-' < '/'), which is what we do with
// the path suffixes below the class directory. Python compares str by code point, which for UTF-8 names is
// byte order (strcmp); names that are not valid UTF-8 may sort differently from Python's surrogate escapes.
// Differences from os.walk kept on purpose: an unreadable sub-directory is an error (os.walk skips it
// silently) and a symlink cycle is not followed again (os.walk loops until the path is too long).
//
// Scanning uses readdir's d_type and calls stat only for symlinks and file systems that report DT_UNKNOWN;
// relative paths go into one string pool (no allocation per file), so 10^6 files scan in seconds.
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define _DEFAULT_SOURCE 1 // d_type / DT_* in <dirent.h>
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset.h"
#include "image.h"

#define IF_MAX_DEPTH 512 // nesting below a class directory

static const char *const k_exts[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};
static const char k_ext_list[] = ".jpg, .jpeg, .png, .ppm, .bmp, .pgm, .tif, .tiff, .webp";

typedef struct {
    char *root;
    char *pool;      // NUL-terminated relative paths "class/sub/file"
    int64_t *off;    // n offsets into pool
    int32_t *labels; // n
    char **classes;  // num_classes names
    int skip_bad;
    _Atomic unsigned char *bad; // n flags: file i failed to decode (skip_bad)
    _Atomic int64_t bad_count;
    _Atomic int msg_state; // 0 no message, 1 being written, 2 ready
    char first_msg[sizeof(((ditc_status *)0)->message)];
} if_ctx;

// ---- growable buffers ----------------------------------------------------------------------------

typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

static size_t sbuf_reserve(sbuf *b, size_t n) { // room for n bytes + NUL at the end; returns its offset
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        b->p = ditc_xrealloc(b->p, cap);
        b->cap = cap;
    }
    size_t at = b->len;
    b->p[at + n] = '\0';
    b->len += n + 1;
    return at;
}

static size_t sbuf_add(sbuf *b, const char *s, size_t n) { // appends s[0,n) + NUL, returns its offset
    size_t at = sbuf_reserve(b, n);
    memcpy(b->p + at, s, n);
    return at;
}

typedef struct {
    int64_t *v;
    size_t n, cap;
} ibuf;

static void ibuf_push(ibuf *b, int64_t x) {
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->v = ditc_xrealloc(b->v, b->cap * sizeof *b->v);
    }
    b->v[b->n++] = x;
}

// Sorting offsets into a pool by the strings they point at (qsort has no context argument).
static _Thread_local const char *g_sort_pool;
static int cmp_off(const void *a, const void *b) {
    return strcmp(g_sort_pool + *(const int64_t *)a, g_sort_pool + *(const int64_t *)b);
}
static void sort_offsets(int64_t *v, size_t n, const char *pool) {
    if (n < 2) return;
    g_sort_pool = pool;
    qsort(v, n, sizeof *v, cmp_off);
}

static int has_image_ext(const char *name) {
    size_t n = strlen(name);
    for (size_t e = 0; e < sizeof k_exts / sizeof *k_exts; e++) {
        size_t m = strlen(k_exts[e]);
        if (n < m) continue;
        size_t k = 0;
        while (k < m) {
            char ch = name[n - m + k];
            if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
            if (ch != k_exts[e][k]) break;
            k++;
        }
        if (k == m) return 1;
    }
    return 0;
}

// ---- directory listing ----------------------------------------------------------------------------

// Entries of one directory: names (pool offsets), split into sub-directories (following symlinks, as
// os.DirEntry.is_dir()) and the rest. The directory's own (dev, ino) for cycle detection.
typedef struct {
    sbuf names;
    ibuf dirs, files;
    dev_t dev;
    ino_t ino;
} listing;

static void listing_free(listing *l) {
    free(l->names.p);
    free(l->dirs.v);
    free(l->files.v);
    memset(l, 0, sizeof *l);
}

// keep_file(name) decides which non-directories are recorded (NULL: none).
static int list_dir(const char *path, const char *what, int (*keep_file)(const char *), listing *l, ditc_status *st) {
    memset(l, 0, sizeof *l);
    DIR *d = opendir(path);
    if (!d) return ditc_fail(st, DITC_ERR_IO, "%s %s: cannot open directory: %s", what, path, strerror(errno));
    struct stat sb;
    if (fstat(dirfd(d), &sb) == 0) {
        l->dev = sb.st_dev;
        l->ino = sb.st_ino;
    }
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno) {
                int err = errno;
                closedir(d);
                listing_free(l);
                return ditc_fail(st, DITC_ERR_IO, "%s %s: cannot read directory: %s", what, path, strerror(err));
            }
            break;
        }
        const char *nm = e->d_name;
        if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))) continue;
        int is_dir;
        if (e->d_type == DT_DIR) is_dir = 1;
        else if (e->d_type == DT_LNK || e->d_type == DT_UNKNOWN) {
            char *full = ditc_path_join(path, nm);
            is_dir = stat(full, &sb) == 0 && S_ISDIR(sb.st_mode); // broken links are files, as is_dir()
            free(full);
        } else is_dir = 0;
        if (!is_dir && (!keep_file || !keep_file(nm))) continue;
        size_t at = sbuf_add(&l->names, nm, strlen(nm));
        ibuf_push(is_dir ? &l->dirs : &l->files, (int64_t)at);
    }
    closedir(d);
    sort_offsets(l->dirs.v, l->dirs.n, l->names.p);
    sort_offsets(l->files.v, l->files.n, l->names.p);
    return 0;
}

// ---- walking one class ----------------------------------------------------------------------------

typedef struct {
    char *suffix; // "" for the class directory, "/a/b" below it
    listing l;    // its kept files (sorted)
} walk_dir;

typedef struct {
    walk_dir *v;
    size_t n, cap;
} walk_list;

typedef struct {
    dev_t dev;
    ino_t ino;
} dir_id;

static int walk(const char *class_path, const char *suffix, dir_id *anc, int depth, walk_list *out, ditc_status *st) {
    if (depth >= IF_MAX_DEPTH)
        return ditc_fail(st, DITC_ERR_IO, "ImageFolder directory %s%s: nested more than %d levels deep", class_path,
                         suffix, IF_MAX_DEPTH);
    size_t np = strlen(class_path), ns = strlen(suffix);
    char *path = ditc_xmalloc(np + ns + 1);
    memcpy(path, class_path, np);
    memcpy(path + np, suffix, ns + 1);
    listing l;
    int rc = list_dir(path, depth ? "ImageFolder sub-directory" : "ImageFolder class directory", has_image_ext, &l, st);
    free(path);
    if (rc) return rc;
    for (int a = 0; a < depth; a++)
        if (anc[a].dev == l.dev && anc[a].ino == l.ino) { // a symlink back to an ancestor: not followed again
            listing_free(&l);
            return 0;
        }
    anc[depth].dev = l.dev;
    anc[depth].ino = l.ino;
    if (out->n == out->cap) {
        out->cap = out->cap ? 2 * out->cap : 16;
        out->v = ditc_xrealloc(out->v, out->cap * sizeof *out->v);
    }
    walk_dir *w = &out->v[out->n++];
    w->suffix = ditc_xstrdup(suffix);
    w->l = l;
    for (size_t k = 0; k < l.dirs.n && !rc; k++) {
        char *sub = ditc_path_join(suffix, l.names.p + l.dirs.v[k]);
        rc = walk(class_path, sub, anc, depth + 1, out, st);
        free(sub);
    }
    return rc;
}

static int cmp_walk_dir(const void *a, const void *b) {
    return strcmp(((const walk_dir *)a)->suffix, ((const walk_dir *)b)->suffix);
}

// Appends the files of class `cls` (label) to pool/offs/labels in torchvision order; *count = how many.
static int scan_class(const char *root, const char *cls, int32_t label, sbuf *pool, ibuf *offs, ibuf *labels,
                      int64_t *count, ditc_status *st) {
    char *class_path = ditc_path_join(root, cls);
    walk_list wl = {0};
    dir_id *anc = ditc_xmalloc(sizeof *anc * IF_MAX_DEPTH);
    int rc = walk(class_path, "", anc, 0, &wl, st);
    free(anc);
    free(class_path);
    *count = 0;
    if (!rc && wl.n > 1) qsort(wl.v, wl.n, sizeof *wl.v, cmp_walk_dir);
    size_t ncls = strlen(cls);
    for (size_t d = 0; d < wl.n; d++) {
        walk_dir *w = &wl.v[d];
        size_t nsuf = strlen(w->suffix);
        for (size_t k = 0; !rc && k < w->l.files.n; k++) {
            const char *fn = w->l.names.p + w->l.files.v[k];
            size_t nf = strlen(fn);
            size_t at = sbuf_reserve(pool, ncls + nsuf + 1 + nf);
            memcpy(pool->p + at, cls, ncls);
            memcpy(pool->p + at + ncls, w->suffix, nsuf);
            pool->p[at + ncls + nsuf] = '/';
            memcpy(pool->p + at + ncls + nsuf + 1, fn, nf + 1);
            ibuf_push(offs, (int64_t)at);
            ibuf_push(labels, label);
            (*count)++;
        }
        free(w->suffix);
        listing_free(&w->l);
    }
    free(wl.v);
    return rc;
}

// ---- the data source ------------------------------------------------------------------------------

static int load_one(const if_ctx *c, int64_t i, int S, uint8_t *dst, ditc_status *st) {
    char *path = ditc_path_join(c->root, c->pool + c->off[i]);
    int rc = ditc_image_load_crop(path, S, dst, st);
    free(path);
    return rc;
}

static int if_get_u8(const ditc_dataset *ds, int64_t i, uint8_t *dst, int32_t *label, ditc_status *st) {
    if_ctx *c = ds->ctx;
    DITC_CHECK(i >= 0 && i < ds->n, "ImageFolder sample %lld out of range [0, %lld)", (long long)i, (long long)ds->n);
    ditc_status local;
    if (!st) st = &local;
    if (!c->skip_bad) {
        int rc = load_one(c, i, ds->side, dst, st);
        if (rc) {
            static const char hint[] = " (--skip-bad-images skips undecodable files)";
            size_t len = strlen(st->message);
            if (len + sizeof hint <= sizeof st->message) memcpy(st->message + len, hint, sizeof hint);
            return rc;
        }
        *label = c->labels[i];
        return 0;
    }
    for (int64_t k = 0; k < ds->n; k++) {
        int64_t j = (i + k) % ds->n;
        if (atomic_load_explicit(&c->bad[j], memory_order_relaxed)) continue;
        if (load_one(c, j, ds->side, dst, st) == 0) {
            *label = c->labels[j];
            ditc_status_ok(st);
            return 0;
        }
        if (atomic_exchange(&c->bad[j], 1) == 0) { // first time this file failed: count it
            atomic_fetch_add(&c->bad_count, 1);
            int expect = 0;
            if (atomic_compare_exchange_strong(&c->msg_state, &expect, 1)) {
                snprintf(c->first_msg, sizeof c->first_msg, "%s", st->message);
                atomic_store_explicit(&c->msg_state, 2, memory_order_release);
            }
        }
    }
    return ditc_fail(st, DITC_ERR_FORMAT, "ImageFolder %s: none of the %lld files decodes (first error: %.300s)",
                     c->root, (long long)ds->n, st->message);
}

static void if_destroy(ditc_dataset *ds) {
    if (!ds) return;
    if_ctx *c = ds->ctx;
    if (c) {
        free(c->root);
        free(c->pool);
        free(c->off);
        free(c->labels);
        for (int k = 0; k < ds->num_classes; k++) free(c->classes[k]);
        free(c->classes);
        free((void *)c->bad);
        free(c);
    }
    free(ds);
}

const char *ditc_imagefolder_relpath(const ditc_dataset *ds, int64_t i, int32_t *label) {
    if (!ds || ds->get_u8 != if_get_u8 || i < 0 || i >= ds->n) return NULL;
    const if_ctx *c = ds->ctx;
    if (label) *label = c->labels[i];
    return c->pool + c->off[i];
}

const char *ditc_imagefolder_class_name(const ditc_dataset *ds, int k) {
    if (!ds || ds->get_u8 != if_get_u8 || k < 0 || k >= ds->num_classes) return NULL;
    return ((const if_ctx *)ds->ctx)->classes[k];
}

int64_t ditc_dataset_bad_count(const ditc_dataset *ds, char *first_msg, size_t cap) {
    if (first_msg && cap) first_msg[0] = '\0';
    if (!ds || ds->get_u8 != if_get_u8) return 0;
    if_ctx *c = ds->ctx;
    int64_t n = atomic_load(&c->bad_count);
    if (n && first_msg && cap && atomic_load_explicit(&c->msg_state, memory_order_acquire) == 2)
        snprintf(first_msg, cap, "%s", c->first_msg);
    return n;
}

int ditc_dataset_open_imagefolder(ditc_dataset **out, const char *root, int image_size, int skip_bad, ditc_status *st) {
    DITC_CHECK(out != NULL && root != NULL, "open_imagefolder with NULL arguments");
    *out = NULL;
    ditc_status_ok(st);
    if (image_size <= 0 || image_size > 16384)
        return ditc_fail(
            st, DITC_ERR_ARG,
            "ImageFolder %s: --image-size %d: an ImageFolder needs an image size in 1..16384 (center crop side)", root,
            image_size);
    struct stat sb;
    if (stat(root, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "ImageFolder root %s: %s", root, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return ditc_fail(st, DITC_ERR_IO, "ImageFolder root %s: not a directory", root);
    listing top;
    int rc = list_dir(root, "ImageFolder root", NULL, &top, st);
    if (rc) return rc;
    if (top.dirs.n == 0) {
        listing_free(&top);
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "ImageFolder root %s has no class sub-directories (expected %s/<class>/<image files>)", root,
                         root);
    }
    if (top.dirs.n > INT32_MAX / 2) {
        listing_free(&top);
        return ditc_fail(st, DITC_ERR_FORMAT, "ImageFolder root %s: too many class directories (%zu)", root,
                         top.dirs.n);
    }
    const int K = (int)top.dirs.n;
    sbuf pool = {0};
    ibuf offs = {0}, labels = {0};
    for (int k = 0; k < K && !rc; k++) {
        const char *cls = top.names.p + top.dirs.v[k];
        int64_t cnt = 0;
        rc = scan_class(root, cls, k, &pool, &offs, &labels, &cnt, st);
        if (!rc && cnt == 0)
            rc = ditc_fail(st, DITC_ERR_FORMAT,
                           "ImageFolder class directory %s/%s has no valid image file (found no file with one of "
                           "the extensions %s; torchvision rejects this too)",
                           root, cls, k_ext_list);
    }
    if (rc) {
        listing_free(&top);
        free(pool.p);
        free(offs.v);
        free(labels.v);
        return rc;
    }
    if_ctx *c = ditc_xcalloc(1, sizeof *c);
    c->root = ditc_xstrdup(root);
    c->pool = pool.p;
    c->off = offs.v;
    c->labels = ditc_xmalloc(sizeof *c->labels * (labels.n ? labels.n : 1));
    for (size_t i = 0; i < labels.n; i++) c->labels[i] = (int32_t)labels.v[i];
    free(labels.v);
    c->classes = ditc_xmalloc(sizeof *c->classes * (size_t)K);
    for (int k = 0; k < K; k++) c->classes[k] = ditc_xstrdup(top.names.p + top.dirs.v[k]);
    listing_free(&top);
    c->skip_bad = skip_bad != 0;
    if (c->skip_bad) c->bad = ditc_xcalloc(offs.n, sizeof *c->bad);
    atomic_init(&c->bad_count, 0);
    atomic_init(&c->msg_state, 0);

    ditc_dataset *ds = ditc_dataset_new_u8((int64_t)offs.n, 3, image_size, K, if_get_u8, if_destroy, c);
    snprintf(ds->desc, sizeof ds->desc, "ImageFolder %s: %lld images in %d classes -> 3x%dx%d (center_crop_arr)%s",
             root, (long long)ds->n, K, image_size, image_size, c->skip_bad ? ", skipping undecodable files" : "");
    *out = ds;
    return 0;
}

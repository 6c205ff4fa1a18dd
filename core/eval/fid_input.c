// fid_input.c — opening and reading the inputs of `ditc fid` (fid_input.h): a folder listing, an .npz's kind
// from its entries, arr_0 read batch by batch, statistics and features validated.
#include "fid_input.h"

#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "npz_read.h"

struct ditc_fid_input {
    char *path;
    ditc_fid_kind kind;
    char desc[256];
    int64_t count, pos;
    int d;
    int with_images; // statistics that come with an arr_0 (not used)
    // folder
    char **files;
    // npz
    ditc_npz *z;
    ditc_npy_reader *r;
    ditc_npy_info info;
    int64_t h, w;
    uint8_t *pix;
    // the current batch
    ditc_image *imgs;
    int nimgs, cap;
};

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *ext_of(const char *name) {
    const char *d = strrchr(name, '.');
    return d ? d + 1 : "";
}

static int open_folder(ditc_fid_input *in, ditc_status *st) {
    DIR *dir = opendir(in->path);
    if (!dir) return ditc_fail(st, DITC_ERR_IO, "%s: cannot open folder: %s", in->path, strerror(errno));
    int cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(dir))) {
        const char *e = ext_of(de->d_name);
        // pytorch-fid's IMAGE_EXTENSIONS (case-sensitive glob '*.ext'); ditc decodes PNG and JPEG
        int ours = !strcmp(e, "png") || !strcmp(e, "jpg") || !strcmp(e, "jpeg");
        int theirs = !strcmp(e, "bmp") || !strcmp(e, "pgm") || !strcmp(e, "ppm") || !strcmp(e, "tif") ||
                     !strcmp(e, "tiff") || !strcmp(e, "webp");
        if (de->d_name[0] == '.' && e == de->d_name + 1) continue; // ".png" alone is a hidden name, not a glob match
        if (theirs) {
            rc = ditc_fail(st, DITC_ERR_UNSUPPORTED, "%s/%s: .%s images are not supported (ditc reads PNG and JPEG)",
                           in->path, de->d_name, e);
            break;
        }
        if (!ours) continue;
        if (in->count == cap) {
            cap = cap ? 2 * cap : 256;
            in->files = ditc_xrealloc(in->files, (size_t)cap * sizeof *in->files);
        }
        in->files[in->count++] = ditc_path_join(in->path, de->d_name);
    }
    closedir(dir);
    if (rc) return rc;
    if (in->count == 0)
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: no images in the folder (*.png, *.jpg, *.jpeg)", in->path);
    qsort(in->files, (size_t)in->count, sizeof *in->files, cmp_str);
    in->kind = DITC_FID_IMAGES;
    snprintf(in->desc, sizeof in->desc, "image folder (%lld PNG/JPEG files)", (long long)in->count);
    return 0;
}

static const char *dtype_words(const char *descr) {
    if (!strcmp(descr + 1, "f4")) return "float32";
    if (!strcmp(descr + 1, "f8")) return "float64";
    if (!strcmp(descr + 1, "u1")) return "uint8";
    if (!strcmp(descr + 1, "f2")) return "float16";
    if (!strcmp(descr + 1, "i8")) return "int64";
    if (!strcmp(descr + 1, "i4")) return "int32";
    if (!strcmp(descr + 1, "b1")) return "bool";
    return "a non-image dtype";
}

static int open_npz(ditc_fid_input *in, ditc_status *st) {
    int rc = ditc_npz_open(in->path, &in->z, st);
    if (rc) return rc;
    char shape[96];
    if (ditc_npz_has(in->z, "mu") && ditc_npz_has(in->z, "sigma")) {
        in->kind = DITC_FID_STATS;
        in->with_images = ditc_npz_has(in->z, "arr_0"); // e.g. ADM's reference batches: their TF-computed stats
        return 0;
    }
    if (ditc_npz_has(in->z, "features")) {
        if ((rc = ditc_npz_array(in->z, "features", &in->r, &in->info, st))) return rc;
        ditc_npy_shape_str(&in->info, shape, sizeof shape);
        if (strcmp(in->info.descr, "<f4") || in->info.ndim != 2 || in->info.shape[1] < 1)
            return ditc_fail(st, DITC_ERR_FORMAT, "%s: features has dtype %s and shape %s, expected float32 (N, D)",
                             in->path, dtype_words(in->info.descr), shape);
        in->kind = DITC_FID_FEATURES;
        in->count = in->info.shape[0];
        in->d = (int)in->info.shape[1];
        snprintf(in->desc, sizeof in->desc, "features .npz %s", shape);
        return 0;
    }
    if (!ditc_npz_has(in->z, "arr_0"))
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "%s: holds no arr_0 (an image batch), mu + sigma (statistics) or features array", in->path);
    if ((rc = ditc_npz_array(in->z, "arr_0", &in->r, &in->info, st))) return rc;
    ditc_npy_shape_str(&in->info, shape, sizeof shape);
    if (strcmp(in->info.descr + 1, "u1"))
        return ditc_fail(st, DITC_ERR_FORMAT,
                         "%s: arr_0 has dtype %s (%s) and shape %s, expected uint8 images (N, H, W, 3)", in->path,
                         dtype_words(in->info.descr), in->info.descr, shape);
    if (in->info.ndim != 4 || in->info.shape[3] != 3 || in->info.shape[1] < 1 || in->info.shape[2] < 1)
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: arr_0 has shape %s, expected uint8 images (N, H, W, 3)", in->path,
                         shape);
    if (in->info.shape[1] > 65536 || in->info.shape[2] > 65536)
        return ditc_fail(st, DITC_ERR_FORMAT, "%s: arr_0 images of %s are too large", in->path, shape);
    in->kind = DITC_FID_IMAGES;
    in->count = in->info.shape[0];
    in->h = in->info.shape[1], in->w = in->info.shape[2];
    snprintf(in->desc, sizeof in->desc, "image batch .npz %s", shape);
    return 0;
}

int ditc_fid_input_open(const char *path, ditc_fid_input **out, ditc_status *st) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) return ditc_fail(st, DITC_ERR_IO, "%s: %s", path, strerror(errno));
    ditc_fid_input *in = ditc_xcalloc(1, sizeof *in);
    in->path = ditc_xstrdup(path);
    int rc = S_ISDIR(sb.st_mode) ? open_folder(in, st) : open_npz(in, st);
    if (rc) {
        ditc_fid_input_close(in);
        return rc;
    }
    *out = in;
    return 0;
}

static void clear_batch(ditc_fid_input *in) {
    if (in->files)
        for (int i = 0; i < in->nimgs; i++) ditc_image_free(&in->imgs[i]);
    in->nimgs = 0;
}

void ditc_fid_input_close(ditc_fid_input *in) {
    if (!in) return;
    clear_batch(in);
    for (int64_t i = 0; in->files && i < in->count; i++) free(in->files[i]);
    free(in->files);
    ditc_npy_reader_close(in->r);
    ditc_npz_close(in->z);
    free(in->pix), free(in->imgs), free(in->path), free(in);
}

ditc_fid_kind ditc_fid_input_kind(const ditc_fid_input *in) { return in->kind; }
int64_t ditc_fid_input_count(const ditc_fid_input *in) { return in->count; }
const char *ditc_fid_input_desc(const ditc_fid_input *in) { return in->desc; }
int ditc_fid_input_dim(const ditc_fid_input *in) { return in->d; }

int ditc_fid_input_next_images(ditc_fid_input *in, int max, int threads, const ditc_image **imgs, ditc_status *st) {
    clear_batch(in);
    int n = (int)(in->count - in->pos < max ? in->count - in->pos : max);
    *imgs = NULL;
    if (n <= 0) return 0;
    if (n > in->cap) {
        in->imgs = ditc_xrealloc(in->imgs, (size_t)n * sizeof *in->imgs);
        in->cap = n;
    }
    memset(in->imgs, 0, (size_t)n * sizeof *in->imgs);
    if (in->files) {
        int nt = threads > 0 ? threads : omp_get_max_threads(), failed = -1;
        ditc_status *sts = ditc_xcalloc((size_t)n, sizeof *sts);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
        for (int i = 0; i < n; i++)
            if (ditc_image_load_rgb(in->files[in->pos + i], &in->imgs[i], &sts[i]))
                sts[i].code = sts[i].code ? sts[i].code : 1;
        for (int i = 0; i < n && failed < 0; i++)
            if (sts[i].code) failed = i;
        if (failed >= 0) {
            if (st) *st = sts[failed];
            in->nimgs = n;
            clear_batch(in);
            free(sts);
            return -1;
        }
        free(sts);
    } else {
        size_t per = (size_t)(in->h * in->w * 3);
        in->pix = ditc_xrealloc(in->pix, per * (size_t)n);
        if (ditc_npy_read(in->r, in->pix, per * (size_t)n, st)) return -1;
        for (int i = 0; i < n; i++) {
            in->imgs[i].w = (int)in->w, in->imgs[i].h = (int)in->h;
            in->imgs[i].rgb = in->pix + per * (size_t)i;
        }
    }
    in->nimgs = n;
    in->pos += n;
    *imgs = in->imgs;
    return n;
}

int64_t ditc_fid_input_next_features(ditc_fid_input *in, int64_t max, float *dst, ditc_status *st) {
    int64_t n = in->count - in->pos < max ? in->count - in->pos : max;
    if (n <= 0) return 0;
    if (ditc_npy_read(in->r, dst, (size_t)(n * in->d) * sizeof(float), st)) return -1;
    in->pos += n;
    return n;
}

int ditc_fid_input_stats(ditc_fid_input *in, double **mu, double **sigma, int *d, ditc_status *st) {
    *mu = *sigma = NULL;
    ditc_npy_info im, is;
    char s1[96], s2[96];
    int rc = ditc_npz_read_f64(in->z, "mu", mu, &im, st);
    if (!rc) rc = ditc_npz_read_f64(in->z, "sigma", sigma, &is, st);
    if (rc) goto fail;
    ditc_npy_shape_str(&im, s1, sizeof s1), ditc_npy_shape_str(&is, s2, sizeof s2);
    if (im.ndim != 1 || im.shape[0] < 1 || im.shape[0] > 65536) {
        rc = ditc_fail(st, DITC_ERR_FORMAT, "%s: mu has shape %s, expected (D,)", in->path, s1);
        goto fail;
    }
    if (is.ndim != 2 || is.shape[0] != im.shape[0] || is.shape[1] != im.shape[0]) {
        rc = ditc_fail(st, DITC_ERR_FORMAT, "%s: sigma has shape %s, expected (%lld, %lld) to match mu %s", in->path,
                       s2, (long long)im.shape[0], (long long)im.shape[0], s1);
        goto fail;
    }
    *d = (int)im.shape[0];
    in->d = *d;
    snprintf(in->desc, sizeof in->desc, "statistics .npz (mu %s, sigma %s%s)", s1, s2,
             in->with_images ? "; its arr_0 images are not used" : "");
    return 0;
fail:
    free(*mu), free(*sigma);
    *mu = *sigma = NULL;
    return rc;
}

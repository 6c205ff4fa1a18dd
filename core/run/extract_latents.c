// extract_latents.c — `ditc extract --vae`: every preprocessed image encoded once by the VAE (and its mirror
// image with --flips), the posterior mean and log-variance stored in latent shards (format: data/latents.h).
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "extract.h"
#include "fs.h"
#include "json.h"
#include "latents.h"
#include "safetensors.h"
#include "vae.h"

static void flip_image(float *x, int64_t rows, int64_t S) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < S / 2; c++) {
            float t = x[r * S + c];
            x[r * S + c] = x[r * S + S - 1 - c];
            x[r * S + S - 1 - c] = t;
        }
}

static void put_num(ditc_json_buf *b, const char *key, double v, int integer) {
    char buf[64];
    if (integer) snprintf(buf, sizeof buf, "  \"%s\": %lld,\n", key, (long long)v);
    else snprintf(buf, sizeof buf, "  \"%s\": %.17g,\n", key, v);
    ditc_json_buf_puts(b, buf);
}

static void put_str(ditc_json_buf *b, const char *key, const char *v) {
    ditc_json_buf_puts(b, "  \"");
    ditc_json_buf_puts(b, key);
    ditc_json_buf_puts(b, "\": ");
    ditc_json_buf_string(b, v, strlen(v));
    ditc_json_buf_puts(b, ",\n");
}

// latents.json (written last, atomically): the format, the latent shape, the VAE's scaling, the sources and
// the shards (their entries already in `shards`).
static int write_index(const ditc_dataset *ds, const ditc_vae *v, const char *ip, int64_t side, int flips,
                       const ditc_json_buf *shards, ditc_status *st) {
    const ditc_vae_config *vc = ditc_vae_get_config(v);
    ditc_json_buf b = {0};
    ditc_json_buf_puts(&b, "{\n");
    put_str(&b, "format", DITC_LATENTS_FORMAT);
    put_num(&b, "version", DITC_LATENTS_VERSION, 1);
    put_num(&b, "latent_channels", vc->latent_channels, 1);
    put_num(&b, "side", (double)side, 1);
    put_num(&b, "image_side", ds->side, 1);
    put_num(&b, "num_classes", ds->num_classes, 1);
    put_num(&b, "total", (double)ds->n, 1);
    put_num(&b, "flips", flips ? 1 : 0, 1);
    put_num(&b, "scaling_factor", vc->scaling_factor, 0);
    put_num(&b, "shift_factor", vc->shift_factor, 0);
    put_str(&b, "vae", ditc_vae_desc(v));
    put_str(&b, "source", ds->desc);
    ditc_json_buf_puts(&b, "  \"shards\": [\n");
    if (shards->len) ditc_json_buf_put(&b, shards->p, shards->len);
    ditc_json_buf_puts(&b, "\n  ]\n}\n");
    int rc = ditc_write_file_atomic(ip, b.p, b.len, st);
    ditc_json_buf_free(&b);
    return rc;
}

int ditc_latents_write(const ditc_dataset *ds, ditc_backend *be, const char *vae_path, int vae_tile, const char *dir,
                       int64_t shard_size, int flips, FILE *log, ditc_status *st) {
    ditc_vae *v = NULL;
    if (ditc_vae_load(&v, be, vae_path, "--vae", st)) return st->code;
    if (ditc_vae_set_tile(v, vae_tile, st)) {
        ditc_vae_free(v);
        return st->code;
    }
    const ditc_vae_config *vc = ditc_vae_get_config(v);
    int f = ditc_vae_factor(v), rc = 0;
    if (ds->channels != vc->in_channels || ds->side % f) {
        rc = ditc_fail(st, DITC_ERR_ARG,
                       "--vae: the data has %dx%dx%d samples; the VAE needs %d channels and a side that "
                       "is a multiple of %d (--image-size)",
                       ds->channels, ds->side, ds->side, vc->in_channels, f);
        ditc_vae_free(v);
        return rc;
    }
    if (shard_size > ds->n) shard_size = ds->n;
    int64_t nshards = (ds->n + shard_size - 1) / shard_size, side = ds->side / f;
    int64_t n = (int64_t)vc->latent_channels * side * side, per = (int64_t)ds->channels * ds->side * ds->side;
    if (nshards > DITC_LATENTS_MAX_SHARDS)
        rc = ditc_fail(st, DITC_ERR_ARG, "--shard-size %lld gives too many shards", (long long)shard_size);
    if (!rc) rc = ditc_mkdir_p(dir, "--out", st);
    char *ip = ditc_path_join(dir, DITC_LATENTS_INDEX);
    if (!rc && unlink(ip) != 0 && errno != ENOENT)
        rc = ditc_fail(st, DITC_ERR_IO, "%s: cannot remove the old index: %s", ip, strerror(errno));
    int nm = flips ? 4 : 2;
    float *mom[4] = {0}, *img = ditc_xmalloc((size_t)per * sizeof(float));
    for (int k = 0; k < nm; k++) mom[k] = ditc_xmalloc((size_t)(shard_size * n) * sizeof(float));
    int32_t *labels = ditc_xmalloc((size_t)shard_size * sizeof *labels);
    ditc_json_buf shards = {0};
    double t0 = ditc_now_s();
    for (int64_t k = 0; k < nshards && !rc; k++) {
        int64_t first = k * shard_size, cnt = first + shard_size <= ds->n ? shard_size : ds->n - first;
        for (int64_t b = 0; b < cnt && !rc; b++) {
            rc = ds->get(ds, first + b, img, &labels[b], st);
            if (!rc)
                rc = ditc_vae_encode(v, img, 1, ds->side, ds->side, mom[0] + b * n, mom[1] + b * n, "--data-path", st);
            if (!rc && flips) {
                flip_image(img, (int64_t)ds->channels * ds->side, ds->side);
                rc = ditc_vae_encode(v, img, 1, ds->side, ds->side, mom[2] + b * n, mom[3] + b * n, "--data-path", st);
            }
        }
        if (rc) break;
        char name[48];
        snprintf(name, sizeof name, "latents-%05lld.safetensors", (long long)k);
        char *sp = ditc_path_join(dir, name);
        ditc_st_writer *w = ditc_st_writer_new();
        int64_t shape[4] = {cnt, vc->latent_channels, side, side};
        for (int m = 0; m < nm; m++) ditc_st_writer_add(w, ditc_latents_moments[m], DITC_F32, 4, shape, mom[m]);
        ditc_st_writer_add(w, "labels", DITC_I32, 1, shape, labels);
        ditc_st_writer_meta(w, "format", DITC_LATENTS_FORMAT);
        rc = ditc_st_writer_save(w, sp, st);
        ditc_st_writer_free(w);
        free(sp);
        char entry[128];
        snprintf(entry, sizeof entry, "%s    {\"file\": \"%s\", \"count\": %lld}", k ? ",\n" : "", name,
                 (long long)cnt);
        ditc_json_buf_puts(&shards, entry);
        if (!rc && log) {
            double el = ditc_now_s() - t0;
            fprintf(log, "extract: %s: %lld latents (%lld/%lld, %.2f images/s)\n", name, (long long)cnt,
                    (long long)(first + cnt), (long long)ds->n,
                    el > 0 ? (double)(first + cnt) * (flips ? 2 : 1) / el : 0.0);
            fflush(log);
        }
    }
    if (!rc) rc = write_index(ds, v, ip, side, flips, &shards, st);
    ditc_json_buf_free(&shards);
    free(ip);
    free(img);
    for (int k = 0; k < nm; k++) free(mom[k]);
    free(labels);
    ditc_vae_free(v);
    return rc;
}

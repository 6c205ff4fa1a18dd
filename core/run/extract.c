// extract.c — `ditc extract`: checks the flags, opens the source and writes image shards (extract_shards.c)
// or VAE latent shards (extract_latents.c).
#include <string.h>
#include <sys/stat.h>

#include "extract.h"
#include "shards.h"

// 1 if a and b name the same existing directory.
static int same_dir(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int ditc_extract_run(const ditc_extract_args *a, FILE *log, ditc_status *st) {
    DITC_CHECK(a != NULL, "extract_run with NULL arguments");
    ditc_status_ok(st);
    const char *kind = a->dataset ? a->dataset : "auto", *vae = a->vae ? a->vae : "none",
               *split = a->split ? a->split : "train";
    if (!a->data_path) return ditc_fail(st, DITC_ERR_ARG, "--data-path is required");
    if (!a->out_dir) return ditc_fail(st, DITC_ERR_ARG, "--out is required (the directory to write the shards into)");
    if (strcmp(vae, "none") && !a->be)
        return ditc_fail(st, DITC_ERR_ARG, "--vae %s: no backend to run the VAE on", vae);
    if (!strcmp(vae, "none") && a->flips)
        return ditc_fail(st, DITC_ERR_ARG, "--flips needs --vae (latents of both orientations)");
    if (strcmp(split, "train") && strcmp(split, "test"))
        return ditc_fail(st, DITC_ERR_ARG, "--split '%s': expected train or test", split);
    if (a->shard_size < 0)
        return ditc_fail(st, DITC_ERR_ARG, "--shard-size %lld: must be at least 1", (long long)a->shard_size);
    if (a->threads < 0) return ditc_fail(st, DITC_ERR_ARG, "--threads %d: must be at least 0", a->threads);
    if (!strcmp(kind, "synthetic") || !strcmp(a->data_path, "synthetic"))
        return ditc_fail(
            st, DITC_ERR_UNSUPPORTED,
            "--data-path synthetic: the synthetic set is computed on demand in float; there is nothing to extract");
    if (same_dir(a->data_path, a->out_dir))
        return ditc_fail(st, DITC_ERR_ARG, "--out %s is the --data-path directory; extract into another directory",
                         a->out_dir);
    const int test = !strcmp(split, "test");
    ditc_dataset *ds = NULL;
    int rc;
    if (test) {
        const char *k = strcmp(kind, "auto") ? kind : ditc_dataset_detect(a->data_path, st);
        if (!k) return st ? st->code : DITC_ERR_ARG;
        if (strcmp(k, "cifar10"))
            return ditc_fail(st, DITC_ERR_ARG, "--split test: only CIFAR-10 has a test split here (the source is %s)",
                             k);
        rc = ditc_dataset_open_cifar10(&ds, a->data_path, a->image_size, 0, st);
    } else {
        rc = ditc_dataset_open(&ds, kind, a->data_path, a->image_size, a->skip_bad, st);
    }
    if (rc) return rc;
    if (log) fprintf(log, "extract: source %s\n", ds->desc);
    int64_t shard_size = a->shard_size ? a->shard_size : DITC_SHARDS_DEFAULT_SIZE;
    if (strcmp(vae, "none"))
        rc = ditc_latents_write(ds, a->be, vae, a->vae_tile, a->out_dir, shard_size, a->flips, log, st);
    else rc = ditc_shards_write(ds, a->out_dir, shard_size, a->threads, NULL, log, st);
    char first[sizeof st->message];
    int64_t bad = ditc_dataset_bad_count(ds, first, sizeof first);
    if (bad && log)
        fprintf(log,
                "extract: skipped %lld undecodable file%s (each replaced by the next decodable sample); first: %s\n",
                (long long)bad, bad == 1 ? "" : "s", first);
    ditc_dataset_free(ds);
    return rc;
}

// checkpoint_dir.c — the checkpoints/ directory of a run: which checkpoints are complete, the newest complete
// one (--resume), rotation (--keep-last/--keep-every) and the removal of what interrupted writes and deletions
// left behind. A checkpoint is retired by renaming it out of the NNNNNNN namespace first (".NNNNNNN.retired.
// <pid>"), then deleting its files, so a kill at any point never leaves a half-deleted NNNNNNN.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "fs.h"

int ditc_checkpoint_remove_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    char p[4096 + 256];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            remove(p);
        }
    closedir(d);
    return rmdir(dir);
}

// A complete safetensors file: its header parses and every tensor lies within the file (the data pages are
// mapped, not read).
static int st_file_complete(const char *path, char *why, size_t n) {
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(why, n, "%s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return 0;
    }
    if (sb.st_size < 8) {
        snprintf(why, n, "%s: truncated (%lld bytes)", path, (long long)sb.st_size);
        close(fd);
        return 0;
    }
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(why, n, "%s: cannot map: %s", path, strerror(errno));
        return 0;
    }
    ditc_safetensors st;
    ditc_status s = {0};
    int ok = ditc_st_parse(&st, map, (size_t)sb.st_size, path, &s) == 0;
    if (ok) ditc_st_close(&st);
    else snprintf(why, n, "%s", s.message);
    munmap(map, (size_t)sb.st_size);
    return ok;
}

int ditc_checkpoint_complete(const char *dir, char *why, size_t n) {
    static const char *files[] = {"model.safetensors", "optimizer.safetensors"};
    char p[4096 + 64];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (!st_file_complete(p, why, n)) return 0;
    }
    snprintf(p, sizeof p, "%s/ema.safetensors", dir);
    struct stat sb;
    if (stat(p, &sb) == 0 && !st_file_complete(p, why, n)) return 0;
    snprintf(p, sizeof p, "%s/state.json", dir);
    ditc_kv kv = {0};
    ditc_status s = {0};
    int64_t step;
    int ok = ditc_kv_load(&kv, p, &s) == 0 && ditc_kv_get_i64(&kv, "step", &step, p, &s) == 0;
    if (!ok) snprintf(why, n, "%s", s.message);
    ditc_kv_free(&kv);
    return ok;
}

// The steps of the NNNNNNN entries of cdir, ascending; *count of them (malloc'd, NULL if none or unreadable).
static int64_t *list_steps(const char *cdir, int *count) {
    *count = 0;
    DIR *d = opendir(cdir);
    if (!d) return NULL;
    int64_t *v = NULL;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long long s = strtoll(e->d_name, &end, 10);
        if (end == e->d_name || *end || strlen(e->d_name) != 7 || s < 0) continue;
        if (*count == cap) v = ditc_xrealloc(v, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *v);
        v[(*count)++] = s;
    }
    closedir(d);
    for (int i = 1; i < *count; i++) // insertion sort: a run has few checkpoints
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int64_t x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    return v;
}

int ditc_checkpoint_latest(const char *run_dir, char *out, size_t n, ditc_status *st) {
    char cdir[4096];
    snprintf(cdir, sizeof cdir, "%s/checkpoints", run_dir);
    struct stat sb;
    if (stat(cdir, &sb) != 0)
        return ditc_fail(st, DITC_ERR_IO,
                         "--resume %s: neither a checkpoint (no state.json) nor a run directory (%s: %s)", run_dir,
                         cdir, strerror(errno));
    int count;
    int64_t *steps = list_steps(cdir, &count);
    int found = 0;
    for (int i = count - 1; i >= 0 && !found; i--) {
        char why[1024];
        snprintf(out, n, "%s/%07lld", cdir, (long long)steps[i]);
        found = ditc_checkpoint_complete(out, why, sizeof why);
        if (!found) fprintf(stderr, "ditc train: warning: skipping partial checkpoint %s (%s)\n", out, why);
    }
    free(steps);
    if (!found) return ditc_fail(st, DITC_ERR_IO, "--resume %s: no complete checkpoint in %s", run_dir, cdir);
    return 0;
}

// Removes what interrupted writes (NNNNNNN.tmp.<pid>) and retirements (.NNNNNNN.retired.<pid>) left.
static void sweep(const char *cdir) {
    DIR *d = opendir(cdir);
    if (!d) return;
    struct dirent *e;
    char p[4096 + 256];
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.") || strstr(e->d_name, ".retired.")) {
            snprintf(p, sizeof p, "%s/%s", cdir, e->d_name);
            ditc_checkpoint_remove_files(p);
        }
    closedir(d);
}

int ditc_checkpoint_rotate(const char *cdir, int64_t newest, int64_t keep_last, int64_t keep_every,
                           void (*note)(void *ctx, const char *removed), void *ctx) {
    sweep(cdir);
    if (keep_last <= 0) return 0;
    int count, removed = 0;
    int64_t *steps = list_steps(cdir, &count);
    int64_t kept = 0;
    for (int i = count - 1; i >= 0; i--) {
        int64_t s = steps[i];
        if (s > newest) continue; // from a timeline this run does not continue: overwritten when reached
        if (kept < keep_last) {
            kept++;
            continue;
        }
        if (keep_every > 0 && s % keep_every == 0) continue;
        char from[4096 + 16], to[4096 + 64];
        snprintf(from, sizeof from, "%s/%07lld", cdir, (long long)s);
        snprintf(to, sizeof to, "%s/.%07lld.retired.%ld", cdir, (long long)s, (long)getpid());
        if (rename(from, to) != 0) continue;
        ditc_checkpoint_remove_files(to);
        removed++;
        if (note) note(ctx, from);
    }
    free(steps);
    if (removed) ditc_fsync_dir(cdir);
    return removed;
}

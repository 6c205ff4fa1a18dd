// fs.c — file-system helpers (fs.h).
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ditc_mkdir_p(const char *path, const char *flag, ditc_status *st) {
    size_t n = strlen(path);
    char *buf = ditc_xmalloc(n + 1);
    memcpy(buf, path, n + 1);
    int rc = 0;
    for (size_t i = 1; i <= n && !rc; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char save = buf[i];
        buf[i] = '\0';
        struct stat sb;
        if (stat(buf, &sb) != 0) {
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                if (flag)
                    rc = ditc_fail(st, DITC_ERR_IO, "%s %s: cannot create %s: %s", flag, path, buf, strerror(errno));
                else rc = ditc_fail(st, DITC_ERR_IO, "%s: cannot create: %s", buf, strerror(errno));
            }
        } else if (!S_ISDIR(sb.st_mode) && save == '\0') {
            if (flag) rc = ditc_fail(st, DITC_ERR_IO, "%s %s: exists and is not a directory", flag, path);
            else rc = ditc_fail(st, DITC_ERR_IO, "%s: exists and is not a directory", path);
        }
        buf[i] = save;
    }
    free(buf);
    return rc;
}

int ditc_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r < 0 && errno != EINVAL ? -1 : 0;
}

int ditc_write_file_atomic(const char *path, const void *data, size_t n, ditc_status *st) {
    ditc_atomic_file f;
    int r = ditc_atomic_open(&f, path, st);
    if (r) return r;
    ditc_atomic_write(&f, data, n);
    return ditc_atomic_commit(&f, st);
}

int ditc_read_stream(FILE *f, size_t max, char **buf, size_t *len) {
    size_t cap = 0, got;
    *buf = NULL;
    *len = 0;
    do {
        if (*len == cap) *buf = ditc_xrealloc(*buf, cap = cap ? 2 * cap : 4096);
        got = fread(*buf + *len, 1, cap - *len, f);
        *len += got;
    } while (got > 0 && *len <= max);
    if (ferror(f)) return -1;
    return *len > max ? 1 : 0;
}

int ditc_atomic_open(ditc_atomic_file *a, const char *path, ditc_status *st) {
    memset(a, 0, sizeof *a);
    if (strlen(path) >= sizeof a->path) return ditc_fail(st, DITC_ERR_ARG, "%s: path too long", path);
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f)
        return ditc_fail(st, DITC_ERR_IO, "%s: cannot save (create of temporary file %s failed: %s)", path, a->tmp,
                         strerror(errno));
    return 0;
}

void ditc_atomic_write(ditc_atomic_file *a, const void *data, size_t n) {
    if (a->err || !n) return;
    if (fwrite(data, 1, n, a->f) != n) a->err = errno ? errno : EIO;
    a->written += n;
}

int ditc_atomic_commit(ditc_atomic_file *a, ditc_status *st) {
    const char *step = a->err ? "write" : NULL;
    int err = a->err;
    if (!step && fflush(a->f) != 0) step = "flush", err = errno;
    if (!step && fsync(fileno(a->f)) != 0) step = "fsync", err = errno;
    if (fclose(a->f) != 0 && !step) step = "close", err = errno;
    a->f = NULL;
    if (!step && rename(a->tmp, a->path) != 0) step = "rename", err = errno;
    if (step) {
        remove(a->tmp);
        return ditc_fail(st, DITC_ERR_IO, "%s: cannot save (%s of temporary file %s failed: %s)", a->path, step, a->tmp,
                         strerror(err ? err : EIO));
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", a->path);
    if (ditc_fsync_dir(dirname(dir)) != 0)
        return ditc_fail(st, DITC_ERR_IO, "%s: written, but syncing its directory failed: %s", a->path,
                         strerror(errno));
    return 0;
}

void ditc_atomic_abort(ditc_atomic_file *a) {
    if (a->f) fclose(a->f);
    a->f = NULL;
    remove(a->tmp);
}

// fs.c — file-system helpers (fs.h).
#include "fs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

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
                if (flag) rc = ditc_fail(st, DITC_ERR_IO, "%s %s: cannot create %s: %s", flag, path, buf, strerror(errno));
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

// SPDX-License-Identifier: MIT
/*
 * The storage directory: created on start (mkdir -p) and held with an
 * exclusive lock so only one daemon ever writes into it.
 *
 * The lock is flock(LOCK_EX | LOCK_NB) on storage.dir/nightjar.lock (tsdb,
 * opened in the same directory, takes its own flock on storage.dir/LOCK; two
 * flocks of one file from one process would refuse each other).  The kernel drops
 * it when the process dies, however it dies, so a crashed daemon never leaves
 * a stale lock behind; the file itself stays.  The holder writes its pid
 * into the file (decimal, newline) so a refused second daemon can say who
 * holds it.  The descriptor is close-on-exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/server.h"

int datadir_mkdirs(const char *dir, struct err *e)
{
    size_t n = strlen(dir);
    if (n == 0)
        return err_set(e, ERR_INVAL, "storage.dir is empty");
    char *p = malloc(n + 1);
    if (!p)
        return err_set(e, ERR_NOMEM, "out of memory");
    memcpy(p, dir, n + 1);
    int rc = 0;
    /* Create each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= n && rc == 0; i++) {
        if (i < n && p[i] != '/')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            rc = err_set(e, ERR_IO, "storage.dir: cannot create %s: %s", p, strerror(errno));
        p[i] = c;
    }
    free(p);
    if (rc < 0)
        return rc;
    struct stat st;
    if (stat(dir, &st) < 0)
        return err_set(e, ERR_IO, "storage.dir: %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_set(e, ERR_IO, "storage.dir: %s is not a directory", dir);
    return 0;
}

int datadir_lock(const char *dir, int *fd_out, struct err *e)
{
    char path[4096];
    *fd_out = -1;
    if ((size_t)snprintf(path, sizeof path, "%s/" DATADIR_LOCK_NAME, dir) >= sizeof path)
        return err_set(e, ERR_LIMIT, "storage.dir: path too long");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(e, ERR_IO, "storage.dir: cannot open %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int saved = errno;
        char holder[32] = "";
        ssize_t r = pread(fd, holder, sizeof holder - 1, 0);
        close(fd);
        if (saved != EWOULDBLOCK)
            return err_set(e, ERR_IO, "storage.dir: cannot lock %s: %s", path, strerror(saved));
        holder[r > 0 ? r : 0] = '\0';
        holder[strcspn(holder, "\r\n")] = '\0';
        return err_set(e, ERR_BUSY,
                       "storage.dir %s is locked by another nightjar process (pid %s, lock file "
                       "%s); one daemon per storage dir",
                       dir, holder[0] ? holder : "unknown", path);
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        int saved = errno;
        close(fd);
        return err_set(e, ERR_IO, "storage.dir: cannot write %s: %s", path, strerror(saved));
    }
    *fd_out = fd;
    return 0;
}

void datadir_unlock(int *fd)
{
    if (*fd >= 0) {
        flock(*fd, LOCK_UN);
        close(*fd);
        *fd = -1;
    }
}

// SPDX-License-Identifier: MIT
/*
 * The file layer: every open, write, fsync, rename, mkdir, unlink and
 * truncate tsdb makes goes through here, so tests can make the Nth call of
 * an operation fail with EIO (SQLite's ioerr injection) and check that the
 * store stays consistent.  Counters live in the store (struct tsdb__fio), not
 * in globals, so stores in one process do not disturb each other.
 *
 * Every function returns 0 or ERR_IO with e naming the path and the errno
 * text; short writes are retried until done, EINTR is retried, any other
 * error is returned (never retried: after a failed fsync the page cache may
 * have dropped the data, "fsyncgate").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsdb/tsdb_int.h"

/* Counts a call of op; true if it must fail. */
static bool fault_hit(struct tsdb__fio *f, enum tsdb_fault_op op)
{
    if (!f)
        return false;
    uint64_t n = atomic_fetch_add(&f->calls[op], 1) + 1;
    uint64_t at = atomic_load(&f->fail_at[op]);
    if (!at)
        return false;
    return n == at || (n > at && atomic_load(&f->is_persistent[op]));
}

static int io_err(struct err *e, const char *what, const char *path, int errnum)
{
    return err_set(e, ERR_IO, "%s %s: %s", what, path, strerror(errnum));
}

int tsdb__f_open(struct tsdb__fio *f, const char *path, int flags, int mode, int *fd,
                 struct err *e)
{
    *fd = -1;
    if (fault_hit(f, TSDB_FAULT_OPEN))
        return io_err(e, "open", path, EIO);
    int r;
    do
        r = open(path, flags | O_CLOEXEC, mode);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return io_err(e, "open", path, errno);
    *fd = r;
    return 0;
}

int tsdb__f_write(struct tsdb__fio *f, int fd, const void *p, size_t n, const char *what,
                  struct err *e)
{
    if (fault_hit(f, TSDB_FAULT_WRITE))
        return io_err(e, "write", what, EIO);
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return io_err(e, "write", what, errno);
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int tsdb__f_writev(struct tsdb__fio *f, int fd, struct iovec *iov, int n, const char *what,
                   struct err *e)
{
    if (fault_hit(f, TSDB_FAULT_WRITE))
        return io_err(e, "write", what, EIO);
    while (n > 0) {
        int cnt = n > IOV_MAX ? IOV_MAX : n;
        ssize_t w = writev(fd, iov, cnt);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return io_err(e, "write", what, errno);
        /* Skip what was written; a partial iovec is advanced in place. */
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0 && left) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

int tsdb__f_fdatasync(struct tsdb__fio *f, int fd, const char *what, struct err *e)
{
    if (fault_hit(f, TSDB_FAULT_FSYNC))
        return io_err(e, "fdatasync", what, EIO);
    int r;
    do
        r = fdatasync(fd);
    while (r < 0 && errno == EINTR);
    return r < 0 ? io_err(e, "fdatasync", what, errno) : 0;
}

int tsdb__f_fsync_dir(struct tsdb__fio *f, const char *path, struct err *e)
{
    if (fault_hit(f, TSDB_FAULT_FSYNC))
        return io_err(e, "fsync", path, EIO);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_err(e, "open", path, errno);
    int r;
    do
        r = fsync(fd);
    while (r < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    return r < 0 ? io_err(e, "fsync", path, saved) : 0;
}

int tsdb__f_rename(struct tsdb__fio *f, const char *from, const char *to, struct err *e)
{
    if (fault_hit(f, TSDB_FAULT_RENAME))
        return io_err(e, "rename", from, EIO);
    return rename(from, to) < 0 ? io_err(e, "rename", from, errno) : 0;
}

int tsdb__f_mkdir(struct tsdb__fio *f, const char *path, struct err *e)
{
    if (fault_hit(f, TSDB_FAULT_OPEN))
        return io_err(e, "mkdir", path, EIO);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return io_err(e, "mkdir", path, errno);
    return 0;
}

int tsdb__f_unlink(struct tsdb__fio *f, const char *path, struct err *e)
{
    (void)f; /* unlink is not an injected operation: recovery must progress */
    if (unlink(path) < 0 && errno != ENOENT)
        return io_err(e, "unlink", path, errno);
    return 0;
}

int tsdb__f_truncate(struct tsdb__fio *f, int fd, uint64_t size, const char *what, struct err *e)
{
    if (fault_hit(f, TSDB_FAULT_WRITE))
        return io_err(e, "truncate", what, EIO);
    int r;
    do
        r = ftruncate(fd, (off_t)size);
    while (r < 0 && errno == EINTR);
    return r < 0 ? io_err(e, "truncate", what, errno) : 0;
}

int tsdb__f_read_all(const char *path, struct buf *out, struct err *e)
{
    buf_reset(out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? err_set(e, ERR_NOTFOUND, "%s: not found", path)
                               : io_err(e, "open", path, errno);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int saved = errno;
        close(fd);
        return io_err(e, "stat", path, saved);
    }
    if (buf_reserve(out, (size_t)st.st_size + 1) != 0) {
        close(fd);
        return err_set(e, ERR_NOMEM, "%s: %lld bytes do not fit in memory", path,
                       (long long)st.st_size);
    }
    for (;;) {
        if (out->cap - out->len < 2 && buf_reserve(out, 65536) != 0) {
            close(fd);
            return err_set(e, ERR_NOMEM, "%s: too large", path);
        }
        ssize_t r = read(fd, out->p + out->len, out->cap - out->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int saved = errno;
            close(fd);
            return io_err(e, "read", path, saved);
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        out->p[out->len] = '\0';
    }
    close(fd);
    return 0;
}

int tsdb__f_replace(struct tsdb__fio *f, const char *dir, const char *name, const void *p,
                    size_t n, struct err *e)
{
    char tmp[TSDB__PATH_MAX], dst[TSDB__PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    int fd;
    int rc = tsdb__f_open(f, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fd, e);
    if (rc)
        return rc;
    rc = tsdb__f_write(f, fd, p, n, tmp, e);
    if (!rc)
        rc = tsdb__f_fdatasync(f, fd, tmp, e);
    close(fd);
    if (!rc)
        rc = tsdb__f_rename(f, tmp, dst, e);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    return tsdb__f_fsync_dir(f, dir, e);
}

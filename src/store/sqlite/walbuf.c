/* walbuf.c - the "ob-walbuf" SQLite VFS (walbuf.h): the default VFS, with consecutive
 * writes to WAL files gathered into one buffer. */
#include "store/sqlite/walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"

/* The buffer holds at most what the unix VFS writes in one call: its seekAndWrite masks
 * the length with 0x1ffff (just under 128 KiB), a longer write would come back short and
 * be reported as SQLITE_FULL. 124 KiB: 30 frames of 4 KiB pages per pwrite. */
#define BUF_CAP 0x1f000

struct wb_file {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, in the same allocation after this */
    int wal;            /* opened as a WAL: writes are gathered */
    char *buf;          /* allocated on the first write; NULL: write through */
    int len;            /* bytes in buf, to be written at off */
    sqlite3_int64 off;
    /* A main database file and the WAL of the same connection know each other (see
     * wb_shm_barrier); mains of open files are listed in `mains` under reg_mu. */
    const char *name; /* main database: the name SQLite passed to xOpen */
    struct wb_file *walf, *mainf, *next_main;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct wb_file *mains;

static sqlite3_vfs *real_vfs;

/* The real file follows ours, aligned for any type. */
#define REAL_OFF ((sizeof(struct wb_file) + 15) & ~(size_t)15)

static struct wb_file *F(sqlite3_file *f)
{
    return (struct wb_file *)f;
}

/* Writes the buffer out. The buffer is empty afterwards, even on failure: the data
 * belonged to the transaction that the error makes SQLite roll back. */
static int flush(struct wb_file *p)
{
    if (p->len == 0)
        return SQLITE_OK;
    int n = p->len;
    p->len = 0;
    return p->real->pMethods->xWrite(p->real, p->buf, n, p->off);
}

static int wb_close(sqlite3_file *f)
{
    struct wb_file *p = F(f);
    pthread_mutex_lock(&reg_mu);
    for (struct wb_file **m = &mains; *m; m = &(*m)->next_main)
        if (*m == p) {
            *m = p->next_main;
            break;
        }
    if (p->walf)
        p->walf->mainf = NULL;
    if (p->mainf)
        p->mainf->walf = NULL;
    pthread_mutex_unlock(&reg_mu);
    int rc = flush(p);
    int rc2 = p->real->pMethods->xClose(p->real);
    ob_free(p->buf);
    p->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *f, void *out, int amt, sqlite3_int64 off)
{
    struct wb_file *p = F(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xRead(p->real, out, amt, off);
}

static int wb_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off)
{
    struct wb_file *p = F(f);
    if (!p->wal)
        return p->real->pMethods->xWrite(p->real, data, amt, off);
    if (!p->buf && !(p->buf = ob_malloc(BUF_CAP)))
        p->wal = 0; /* no memory: write through from now on */
    if (p->len && off >= p->off && off + amt <= p->off + p->len) {
        /* Rewrites bytes still in the buffer (SQLite may rewrite a frame of the open
         * transaction). */
        memcpy(p->buf + (off - p->off), data, (size_t)amt);
        return SQLITE_OK;
    }
    if (p->len && (off != p->off + p->len || p->len + amt > BUF_CAP)) {
        int rc = flush(p);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (!p->wal || amt > BUF_CAP)
        return p->real->pMethods->xWrite(p->real, data, amt, off);
    if (p->len == 0)
        p->off = off;
    memcpy(p->buf + p->len, data, (size_t)amt);
    p->len += amt;
    return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    struct wb_file *p = F(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xTruncate(p->real, size);
}

static int wb_sync(sqlite3_file *f, int flags)
{
    struct wb_file *p = F(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xSync(p->real, flags);
}

static int wb_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    struct wb_file *p = F(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xFileSize(p->real, size);
}

static int wb_lock(sqlite3_file *f, int lock)
{
    return F(f)->real->pMethods->xLock(F(f)->real, lock);
}

static int wb_unlock(sqlite3_file *f, int lock)
{
    return F(f)->real->pMethods->xUnlock(F(f)->real, lock);
}

static int wb_check_reserved(sqlite3_file *f, int *out)
{
    return F(f)->real->pMethods->xCheckReservedLock(F(f)->real, out);
}

static int wb_file_control(sqlite3_file *f, int op, void *arg)
{
    struct wb_file *p = F(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xFileControl(p->real, op, arg);
}

static int wb_sector_size(sqlite3_file *f)
{
    return F(f)->real->pMethods->xSectorSize(F(f)->real);
}

static int wb_device_characteristics(sqlite3_file *f)
{
    return F(f)->real->pMethods->xDeviceCharacteristics(F(f)->real);
}

static int wb_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **out)
{
    return F(f)->real->pMethods->xShmMap(F(f)->real, pg, pgsz, extend, out);
}

static int wb_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    struct wb_file *p = F(f);
    if (p->walf) {
        int rc = flush(p->walf);
        if (rc != SQLITE_OK)
            return rc;
    }
    return p->real->pMethods->xShmLock(p->real, off, n, flags);
}

/* SQLite calls this on the database file just before it publishes a new wal-index
 * header, that is, a commit. With synchronous=FULL the commit's sync has already
 * written the WAL buffer; this write-out keeps the frames ahead of the header under
 * any other setting too (a failure here cannot be reported, so FULL is what the log
 * uses). */
static void wb_shm_barrier(sqlite3_file *f)
{
    struct wb_file *p = F(f);
    if (p->walf)
        flush(p->walf);
    p->real->pMethods->xShmBarrier(p->real);
}

static int wb_shm_unmap(sqlite3_file *f, int del)
{
    return F(f)->real->pMethods->xShmUnmap(F(f)->real, del);
}

static int wb_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **out)
{
    struct wb_file *p = F(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xFetch(p->real, off, amt, out);
}

static int wb_unfetch(sqlite3_file *f, sqlite3_int64 off, void *page)
{
    return F(f)->real->pMethods->xUnfetch(F(f)->real, off, page);
}

/* Versions 1 and 2 of the methods are prefixes of version 3; the real file's version
 * decides which of the later calls exist, so each file gets the table of its version. */
#define METHODS(v)                                                                                 \
    {                                                                                              \
        v, wb_close, wb_read, wb_write, wb_truncate, wb_sync, wb_file_size, wb_lock, wb_unlock,    \
            wb_check_reserved, wb_file_control, wb_sector_size, wb_device_characteristics,         \
            wb_shm_map, wb_shm_lock, wb_shm_barrier, wb_shm_unmap, wb_fetch, wb_unfetch            \
    }
static const sqlite3_io_methods methods[4] = {METHODS(1), METHODS(1), METHODS(2), METHODS(3)};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    struct wb_file *p = F(f);
    memset(p, 0, sizeof *p);
    p->real = (sqlite3_file *)(void *)((char *)p + REAL_OFF);
    int rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out_flags);
    if (rc != SQLITE_OK || !p->real->pMethods) {
        /* SQLite calls no method of a file whose open failed. */
        p->base.pMethods = NULL;
        return rc;
    }
    int v = p->real->pMethods->iVersion;
    p->base.pMethods = &methods[v < 1 ? 1 : v > 3 ? 3 : v];
    p->wal = (flags & SQLITE_OPEN_WAL) != 0;
    if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL))) {
        pthread_mutex_lock(&reg_mu);
        if (flags & SQLITE_OPEN_MAIN_DB) {
            p->name = name;
            p->next_main = mains;
            mains = p;
        } else {
            /* The WAL's name lives in the same block as its database's name. */
            const char *db = sqlite3_filename_database(name);
            for (struct wb_file *m = mains; m; m = m->next_main)
                if (m->name == db && !m->walf) {
                    m->walf = p;
                    p->mainf = m;
                    break;
                }
        }
        pthread_mutex_unlock(&reg_mu);
    }
    return SQLITE_OK;
}

static int wb_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int wb_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int wb_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *wb_dlopen(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return real_vfs->xDlOpen(real_vfs, name);
}

static void wb_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
    (void)vfs;
    real_vfs->xDlError(real_vfs, n, msg);
}

static void (*wb_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return real_vfs->xDlSym(real_vfs, h, sym);
}

static void wb_dlclose(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    real_vfs->xDlClose(real_vfs, h);
}

static int wb_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int wb_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return real_vfs->xSleep(real_vfs, us);
}

static int wb_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int wb_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static int wb_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    if (real_vfs->iVersion >= 2 && real_vfs->xCurrentTimeInt64)
        return real_vfs->xCurrentTimeInt64(real_vfs, out);
    double d;
    int rc = real_vfs->xCurrentTime(real_vfs, &d);
    *out = (sqlite3_int64)(d * 86400000.0);
    return rc;
}

static sqlite3_vfs vfs = {
    .iVersion = 2,
    .zName = OB_WALBUF_VFS,
    .xOpen = wb_open,
    .xDelete = wb_delete,
    .xAccess = wb_access,
    .xFullPathname = wb_full_pathname,
    .xDlOpen = wb_dlopen,
    .xDlError = wb_dlerror,
    .xDlSym = wb_dlsym,
    .xDlClose = wb_dlclose,
    .xRandomness = wb_randomness,
    .xSleep = wb_sleep,
    .xCurrentTime = wb_current_time,
    .xGetLastError = wb_last_error,
    .xCurrentTimeInt64 = wb_current_time64,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int register_rc = SQLITE_ERROR;

static void do_register(void)
{
    if (sqlite3_initialize() != SQLITE_OK || !(real_vfs = sqlite3_vfs_find(NULL)))
        return;
    vfs.szOsFile = (int)REAL_OFF + real_vfs->szOsFile;
    vfs.mxPathname = real_vfs->mxPathname;
    register_rc = sqlite3_vfs_register(&vfs, 0);
}

int ob_walbuf_register(void)
{
    pthread_once(&once, do_register);
    return register_rc;
}

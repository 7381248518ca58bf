/* sqlite_vfs.c - the WAL-buffering VFS of sqlite_vfs.h. SQLite writes each WAL frame with two
 * xWrite calls (the 24-byte frame header, then the page); here the appends of a run collect in
 * a buffer that goes to the base VFS in one xWrite when the run ends. When a run ends, and why
 * that keeps SQLite's crash safety and what readers see: docs/internals/store.md, "WAL write
 * buffering". */
#include "store/sqlite_vfs.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WAL_FRAME_HDR   24   /* bytes of a WAL frame header (SQLite's file format) */
#define WAL_MIN_BUFFER  4096 /* smallest buffer accepted */
#define NO_OFFSET       (-1) /* an unknown or unset offset */
#define MAX_VFS_VERSION 3    /* the sqlite3_vfs version this file implements */
/* the most one xWrite of the base VFS is given: the unix VFS masks a write's length to 17 bits
 * (seekAndWriteFd: nBuf &= 0x1ffff), as SQLite never writes more than a 64 KiB page at once */
#define WAL_WRITE_CHUNK ((size_t)64 * 1024)

/* A registered VFS: SQLite's struct first (its pAppData points back here). */
struct walbuf_vfs {
    sqlite3_vfs vfs;
    sqlite3_vfs *base;
    size_t buf_bytes;
    char name[64];
};

/* A WAL file: SQLite's struct first, then the base VFS's file right after this struct. */
struct wal_file {
    sqlite3_file file;         /* pMethods = &wal_io */
    sqlite3_file *real;        /* the base VFS's file */
    unsigned char *buf;        /* buffered bytes (allocated at the first buffered write) */
    size_t cap, len;           /* buffer size and bytes held */
    sqlite3_int64 start;       /* file offset of buf[0] (meaningful while len > 0) */
    sqlite3_int64 frontier;    /* end of the furthest write since the log (re)started, or -1 */
    sqlite3_int64 commit_page; /* offset of the page after a commit frame header, or -1 */
    int open_tail;   /* 1: the last write appended bytes that did not end a commit frame */
    int passthrough; /* 1: never buffer (see walbuf_open and wal_sync) */
};

/* The base VFS of a registered VFS. */
static sqlite3_vfs *base_of(sqlite3_vfs *v)
{
    return ((struct walbuf_vfs *)v->pAppData)->base;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- the WAL file ---- */

/* Writes the buffered run to the base file, in as few calls as WAL_WRITE_CHUNK allows; the buffer
 * is empty afterwards even on failure (SQLite then treats the calling operation as a failed write
 * and the frames as never written, as after a failed xWrite of the base VFS). */
static int wal_flush(struct wal_file *w)
{
    int rc = SQLITE_OK;
    for (size_t done = 0; done < w->len && rc == SQLITE_OK; done += WAL_WRITE_CHUNK) {
        size_t n = w->len - done < WAL_WRITE_CHUNK ? w->len - done : WAL_WRITE_CHUNK;
        rc = w->real->pMethods->xWrite(w->real, w->buf + done, (int)n,
                                       w->start + (sqlite3_int64)done);
    }
    w->len = 0;
    if (rc != SQLITE_OK)
        w->frontier = NO_OFFSET; /* the file's end is unknown now: write through until known */
    return rc;
}

static int wal_close(sqlite3_file *f)
{
    struct wal_file *w = (struct wal_file *)f;
    int rc = wal_flush(w);
    int rc2 = w->real->pMethods->xClose(w->real);
    free(w->buf);
    w->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wal_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    struct wal_file *w = (struct wal_file *)f;
    int rc = wal_flush(w);
    if (rc != SQLITE_OK)
        return rc;
    return w->real->pMethods->xRead(w->real, p, n, off);
}

/* Appends n bytes at the frontier to the buffer and clears *through, or leaves *through set
 * when they must be written through (no buffer memory, or more than the buffer holds). Returns
 * SQLITE_OK or the error of the flush that made room. */
static int wal_append(struct wal_file *w, const void *p, int n, sqlite3_int64 off, int *through)
{
    if ((size_t)n > w->cap)
        return SQLITE_OK;
    if (w->buf == NULL) {
        w->buf = malloc(w->cap);
        if (w->buf == NULL)
            return SQLITE_OK;
    }
    if (w->len + (size_t)n > w->cap) {
        int rc = wal_flush(w);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (w->len == 0)
        w->start = off;
    memcpy(w->buf + w->len, p, (size_t)n);
    w->len += (size_t)n;
    w->frontier = off + n;
    *through = 0;
    return SQLITE_OK;
}

/* Only appends at the frontier (the end of the furthest write since the log restarted at
 * offset 0) are buffered, plus overwrites that fall wholly inside the buffered run. Anything
 * else - SQLite's in-place rewrites of frames of the open transaction, a first write whose
 * frontier is not known - first flushes the run and then goes straight to the base file. The
 * run is also flushed as soon as the page of a commit frame (a frame header whose "database
 * size" field is not 0) was taken: whatever SQLite does next (xSync, or with synchronous=NORMAL
 * or OFF straight to publishing the commit in the wal-index), the frames are in the file. */
static int wal_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    struct wal_file *w = (struct wal_file *)f;
    int rc = SQLITE_OK;
    int ends_commit = w->commit_page != NO_OFFSET && off == w->commit_page;
    int append = w->frontier == NO_OFFSET || off >= w->frontier;
    w->commit_page = NO_OFFSET;
    w->open_tail = append && !ends_commit && off != 0;
    if (w->passthrough)
        return w->real->pMethods->xWrite(w->real, p, n, off);
    if (off == 0) { /* the WAL header of a new or restarted log */
        rc = wal_flush(w);
        if (rc != SQLITE_OK)
            return rc;
        w->frontier = 0;
    }
    int through = 1;
    if (w->len > 0 && off >= w->start && off + n <= w->start + (sqlite3_int64)w->len) {
        memcpy(w->buf + (off - w->start), p, (size_t)n);
        through = 0;
    } else if (w->frontier != NO_OFFSET && off == w->frontier) {
        rc = wal_append(w, p, n, off, &through);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (through) {
        rc = wal_flush(w);
        if (rc != SQLITE_OK)
            return rc;
        rc = w->real->pMethods->xWrite(w->real, p, n, off);
        if (rc != SQLITE_OK) {
            w->frontier = NO_OFFSET;
            return rc;
        }
        if (w->frontier == NO_OFFSET || off + n > w->frontier)
            w->frontier = off + n;
    }
    if (ends_commit) {
        rc = wal_flush(w);
        if (rc != SQLITE_OK)
            return rc;
    }
    if (n == WAL_FRAME_HDR && be32((const unsigned char *)p + 4) != 0)
        w->commit_page = off + WAL_FRAME_HDR;
    return SQLITE_OK;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    struct wal_file *w = (struct wal_file *)f;
    int rc = wal_flush(w);
    if (rc != SQLITE_OK)
        return rc;
    if (w->frontier > size)
        w->frontier = NO_OFFSET;
    return w->real->pMethods->xTruncate(w->real, size);
}

/* SQLite syncs the WAL after the commit frame, after a new log's header, and (checkpoints) after
 * whole transactions. A sync right after an append that ended neither is the sync SQLite makes
 * in the middle of a write when it pads a commit to a sector boundary (a database without
 * "powersafe overwrite"): the rest of that write follows the sync with no commit frame header
 * before it, so from here on this file is not buffered. (Also reached, harmlessly, by a
 * checkpoint after a transaction that spilled frames and rolled back.) */
static int wal_sync(sqlite3_file *f, int flags)
{
    struct wal_file *w = (struct wal_file *)f;
    if (w->open_tail)
        w->passthrough = 1;
    int rc = wal_flush(w);
    if (rc != SQLITE_OK)
        return rc;
    return w->real->pMethods->xSync(w->real, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    struct wal_file *w = (struct wal_file *)f;
    int rc = wal_flush(w);
    if (rc != SQLITE_OK)
        return rc;
    return w->real->pMethods->xFileSize(w->real, size);
}

static int wal_lock(sqlite3_file *f, int level)
{
    struct wal_file *w = (struct wal_file *)f;
    return w->real->pMethods->xLock(w->real, level);
}

static int wal_unlock(sqlite3_file *f, int level)
{
    struct wal_file *w = (struct wal_file *)f;
    return w->real->pMethods->xUnlock(w->real, level);
}

static int wal_check_reserved_lock(sqlite3_file *f, int *out)
{
    struct wal_file *w = (struct wal_file *)f;
    return w->real->pMethods->xCheckReservedLock(w->real, out);
}

/* Any file control may look at or change the file: the run goes first. */
static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
    struct wal_file *w = (struct wal_file *)f;
    int rc = wal_flush(w);
    if (rc != SQLITE_OK)
        return rc;
    return w->real->pMethods->xFileControl(w->real, op, arg);
}

static int wal_sector_size(sqlite3_file *f)
{
    struct wal_file *w = (struct wal_file *)f;
    return w->real->pMethods->xSectorSize(w->real);
}

static int wal_device_characteristics(sqlite3_file *f)
{
    struct wal_file *w = (struct wal_file *)f;
    return w->real->pMethods->xDeviceCharacteristics(w->real);
}

/* SQLite keeps the wal-index on the database file, never on the WAL; these only pass through. */
static int wal_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
    struct wal_file *w = (struct wal_file *)f;
    if (w->real->pMethods->iVersion < 2 || w->real->pMethods->xShmMap == NULL)
        return SQLITE_IOERR_SHMMAP;
    return w->real->pMethods->xShmMap(w->real, page, size, extend, out);
}

static int wal_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    struct wal_file *w = (struct wal_file *)f;
    if (w->real->pMethods->iVersion < 2 || w->real->pMethods->xShmLock == NULL)
        return SQLITE_IOERR_SHMLOCK;
    return w->real->pMethods->xShmLock(w->real, offset, n, flags);
}

static void wal_shm_barrier(sqlite3_file *f)
{
    struct wal_file *w = (struct wal_file *)f;
    if (w->real->pMethods->iVersion >= 2 && w->real->pMethods->xShmBarrier != NULL)
        w->real->pMethods->xShmBarrier(w->real);
}

static int wal_shm_unmap(sqlite3_file *f, int delete_flag)
{
    struct wal_file *w = (struct wal_file *)f;
    if (w->real->pMethods->iVersion < 2 || w->real->pMethods->xShmUnmap == NULL)
        return SQLITE_OK;
    return w->real->pMethods->xShmUnmap(w->real, delete_flag);
}

/* A memory map reads the file: the run goes first. */
static int wal_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
    struct wal_file *w = (struct wal_file *)f;
    *out = NULL;
    int rc = wal_flush(w);
    if (rc != SQLITE_OK)
        return rc;
    if (w->real->pMethods->iVersion < 3 || w->real->pMethods->xFetch == NULL)
        return SQLITE_OK;
    return w->real->pMethods->xFetch(w->real, off, n, out);
}

static int wal_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    struct wal_file *w = (struct wal_file *)f;
    if (w->real->pMethods->iVersion < 3 || w->real->pMethods->xUnfetch == NULL)
        return SQLITE_OK;
    return w->real->pMethods->xUnfetch(w->real, off, p);
}

static const sqlite3_io_methods wal_io = {
    .iVersion = 3,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_check_reserved_lock,
    .xFileControl = wal_file_control,
    .xSectorSize = wal_sector_size,
    .xDeviceCharacteristics = wal_device_characteristics,
    .xShmMap = wal_shm_map,
    .xShmLock = wal_shm_lock,
    .xShmBarrier = wal_shm_barrier,
    .xShmUnmap = wal_shm_unmap,
    .xFetch = wal_fetch,
    .xUnfetch = wal_unfetch,
};

/* ---- the VFS ---- */

/* A WAL file gets the buffering wrapper; every other file is opened by the base VFS straight
 * into SQLite's memory (which is at least the base's szOsFile), so it costs nothing. */
static int walbuf_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags,
                       int *out_flags)
{
    struct walbuf_vfs *wv = v->pAppData;
    if ((flags & SQLITE_OPEN_WAL) == 0)
        return wv->base->xOpen(wv->base, name, f, flags, out_flags);
    struct wal_file *w = (struct wal_file *)f;
    memset(w, 0, sizeof *w);
    w->real = (sqlite3_file *)(w + 1);
    w->cap = wv->buf_bytes;
    w->frontier = NO_OFFSET;
    w->commit_page = NO_OFFSET;
    int rc = wv->base->xOpen(wv->base, name, w->real, flags, out_flags);
    /* a base file with methods must be closed even after a failed open (sqlite3_vfs docs) */
    w->file.pMethods = w->real->pMethods != NULL ? &wal_io : NULL;
    if (rc != SQLITE_OK || w->real->pMethods == NULL)
        return rc;
    /* Without "powersafe overwrite" on the database file (SQLite decides from the database, not
     * the WAL; with the unix VFS only the psow=0 URI parameter takes it away) SQLite pads each
     * commit to a sector boundary and syncs in the middle of a write: such WAL files are not
     * buffered (wal_sync also catches it if this guess is wrong). */
    int dc = w->real->pMethods->xDeviceCharacteristics(w->real);
    w->passthrough = (dc & SQLITE_IOCAP_POWERSAFE_OVERWRITE) == 0 ||
                     !sqlite3_uri_boolean(name, "psow", 1) || (flags & SQLITE_OPEN_READONLY);
    return SQLITE_OK;
}

static int walbuf_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    return base_of(v)->xDelete(base_of(v), name, sync_dir);
}

static int walbuf_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    return base_of(v)->xAccess(base_of(v), name, flags, out);
}

static int walbuf_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    return base_of(v)->xFullPathname(base_of(v), name, n, out);
}

static void *walbuf_dl_open(sqlite3_vfs *v, const char *name)
{
    return base_of(v)->xDlOpen != NULL ? base_of(v)->xDlOpen(base_of(v), name) : NULL;
}

static void walbuf_dl_error(sqlite3_vfs *v, int n, char *msg)
{
    if (base_of(v)->xDlError != NULL)
        base_of(v)->xDlError(base_of(v), n, msg);
    else if (n > 0)
        msg[0] = '\0';
}

static void (*walbuf_dl_sym(sqlite3_vfs *v, void *lib, const char *sym))(void)
{
    return base_of(v)->xDlSym != NULL ? base_of(v)->xDlSym(base_of(v), lib, sym) : NULL;
}

static void walbuf_dl_close(sqlite3_vfs *v, void *lib)
{
    if (base_of(v)->xDlClose != NULL)
        base_of(v)->xDlClose(base_of(v), lib);
}

static int walbuf_randomness(sqlite3_vfs *v, int n, char *out)
{
    return base_of(v)->xRandomness(base_of(v), n, out);
}

static int walbuf_sleep(sqlite3_vfs *v, int us)
{
    return base_of(v)->xSleep(base_of(v), us);
}

static int walbuf_current_time(sqlite3_vfs *v, double *out)
{
    return base_of(v)->xCurrentTime(base_of(v), out);
}

static int walbuf_get_last_error(sqlite3_vfs *v, int n, char *msg)
{
    return base_of(v)->xGetLastError != NULL ? base_of(v)->xGetLastError(base_of(v), n, msg) : 0;
}

static int walbuf_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    return base_of(v)->xCurrentTimeInt64(base_of(v), out);
}

static int walbuf_set_system_call(sqlite3_vfs *v, const char *name, sqlite3_syscall_ptr fn)
{
    return base_of(v)->xSetSystemCall(base_of(v), name, fn);
}

static sqlite3_syscall_ptr walbuf_get_system_call(sqlite3_vfs *v, const char *name)
{
    return base_of(v)->xGetSystemCall(base_of(v), name);
}

static const char *walbuf_next_system_call(sqlite3_vfs *v, const char *name)
{
    return base_of(v)->xNextSystemCall(base_of(v), name);
}

int store_walbuf_register(const char *name, const char *base, size_t buf_bytes)
{
    if (name == NULL || strlen(name) >= sizeof((struct walbuf_vfs *)0)->name ||
        buf_bytes < WAL_MIN_BUFFER || buf_bytes > INT32_MAX)
        return SQLITE_MISUSE;
    if (sqlite3_vfs_find(name) != NULL)
        return SQLITE_OK;
    sqlite3_vfs *b = sqlite3_vfs_find(base);
    if (b == NULL)
        return SQLITE_ERROR;
    struct walbuf_vfs *wv = calloc(1, sizeof *wv);
    if (wv == NULL)
        return SQLITE_NOMEM;
    memcpy(wv->name, name, strlen(name) + 1);
    wv->base = b;
    wv->buf_bytes = buf_bytes;
    sqlite3_vfs *v = &wv->vfs;
    v->iVersion = b->iVersion < MAX_VFS_VERSION ? b->iVersion : MAX_VFS_VERSION;
    v->szOsFile = (int)sizeof(struct wal_file) + b->szOsFile;
    v->mxPathname = b->mxPathname;
    v->zName = wv->name;
    v->pAppData = wv;
    v->xOpen = walbuf_open;
    v->xDelete = walbuf_delete;
    v->xAccess = walbuf_access;
    v->xFullPathname = walbuf_full_pathname;
    v->xDlOpen = walbuf_dl_open;
    v->xDlError = walbuf_dl_error;
    v->xDlSym = walbuf_dl_sym;
    v->xDlClose = walbuf_dl_close;
    v->xRandomness = walbuf_randomness;
    v->xSleep = walbuf_sleep;
    v->xCurrentTime = walbuf_current_time;
    v->xGetLastError = walbuf_get_last_error;
    if (v->iVersion >= 2)
        v->xCurrentTimeInt64 = walbuf_current_time_int64;
    if (v->iVersion >= 3) {
        v->xSetSystemCall = walbuf_set_system_call;
        v->xGetSystemCall = walbuf_get_system_call;
        v->xNextSystemCall = walbuf_next_system_call;
    }
    int rc = sqlite3_vfs_register(v, 0);
    if (rc != SQLITE_OK)
        free(wv);
    return rc;
}

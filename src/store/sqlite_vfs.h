/* sqlite_vfs.h - a SQLite VFS over another one that gathers the sequential writes of a WAL file
 * into one write per run (one pwrite per commit instead of two per page). Internal to store/;
 * the design and why it keeps SQLite's crash safety: docs/internals/store.md, "WAL write
 * buffering". */
#ifndef COS_STORE_SQLITE_VFS_H
#define COS_STORE_SQLITE_VFS_H

#include <stddef.h>

/* The name sqlite.c opens its connections with, and the buffer each WAL file may hold. */
#define STORE_WALBUF_VFS   "cityos-walbuf"
#define STORE_WALBUF_BYTES ((size_t)2 * 1024 * 1024)

/* Registers (not as the default) a VFS called name that wraps the VFS called base (NULL: the
 * process's default VFS, normally "unix"). Files it opens with SQLITE_OPEN_WAL buffer up to
 * buf_bytes (at least 4096) of appended bytes; every other file is the base VFS's own. Returns
 * SQLITE_OK, also when name is already registered (then nothing changes), or a SQLite error
 * code. Registration is not serialised with itself: call it once (pthread_once). The VFS lives
 * until the process ends. */
int store_walbuf_register(const char *name, const char *base, size_t buf_bytes);

#endif

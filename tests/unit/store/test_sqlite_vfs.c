/* test_sqlite_vfs.c - unit tests of the WAL-buffering VFS (src/store/sqlite_vfs.c): the same
 * database and WAL bytes as SQLite's unix VFS, one write per commit, readers (other connections
 * and another process) see every commit in every synchronous mode, a failed deferred write fails
 * the commit (also through store_write), and a SIGKILLed writer leaves whole transactions with
 * every acknowledged one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "store/sqlite_vfs.h"
#include "store/store.h"
#include "support/fixture.h"

#define SMALL_VFS "walbuf-test-small" /* the shim with a buffer smaller than two frames */
#define SMALL_BUF ((size_t)6000)

/* ---- the probe: unix's pwrite calls on "-wal" files, counted and optionally failing ---- */

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
static sqlite3_syscall_ptr orig_pwrite, orig_pwrite64;
static atomic_int wal_writes; /* pwrite calls on -wal files since the last reset */
static atomic_int wal_fail;   /* 1: they fail with EIO */

static int is_wal_fd(int fd)
{
    char link[64], path[512];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 4)
        return 0;
    path[n] = '\0';
    return strcmp(path + n - 4, "-wal") == 0;
}

static ssize_t probe_write(sqlite3_syscall_ptr orig, int fd, const void *p, size_t n, off_t off)
{
    if (is_wal_fd(fd)) {
        atomic_fetch_add(&wal_writes, 1);
        if (atomic_load(&wal_fail)) {
            errno = EIO;
            return -1;
        }
    }
    return ((pwrite_fn)orig)(fd, p, n, off);
}

static ssize_t probe_pwrite(int fd, const void *p, size_t n, off_t off)
{
    return probe_write(orig_pwrite, fd, p, n, off);
}

static ssize_t probe_pwrite64(int fd, const void *p, size_t n, off_t off)
{
    return probe_write(orig_pwrite64, fd, p, n, off);
}

/* Installs the probe in the unix VFS (every VFS here sits on it) and registers the shims. */
static int group_setup(void **state)
{
    (void)state;
    sqlite3_vfs *u = sqlite3_vfs_find("unix");
    if (u == NULL || u->iVersion < 3)
        return -1;
    orig_pwrite = u->xGetSystemCall(u, "pwrite");
    orig_pwrite64 = u->xGetSystemCall(u, "pwrite64");
    if (orig_pwrite != NULL)
        u->xSetSystemCall(u, "pwrite", (sqlite3_syscall_ptr)probe_pwrite);
    if (orig_pwrite64 != NULL)
        u->xSetSystemCall(u, "pwrite64", (sqlite3_syscall_ptr)probe_pwrite64);
    if (store_walbuf_register(STORE_WALBUF_VFS, "unix", STORE_WALBUF_BYTES) != SQLITE_OK ||
        store_walbuf_register(SMALL_VFS, "unix", SMALL_BUF) != SQLITE_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    sqlite3_vfs *u = sqlite3_vfs_find("unix");
    u->xSetSystemCall(u, NULL, NULL); /* every system call back to its default */
    return 0;
}

/* ---- helpers ---- */

struct dir {
    char path[64];
};

static void dir_make(struct dir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/cityos-walbuf-XXXXXX");
    assert_non_null(mkdtemp(d->path));
}

static void db_path(const struct dir *d, const char *name, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s", d->path, name);
    assert_true(n > 0 && (size_t)n < size);
}

static sqlite3 *db_open(const char *path, const char *vfs, int flags)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_URI, vfs);
    if (rc != SQLITE_OK)
        fprintf(stderr, "open %s: %s\n", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    assert_int_equal(rc, SQLITE_OK);
    return db;
}

static int exec_rc(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    sqlite3_free(msg);
    return rc;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void integrity_ok(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
}

static void set_mode(sqlite3 *db, const char *sync)
{
    char sql[64];
    exec_ok(db, "PRAGMA journal_mode=WAL");
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", sync);
    exec_ok(db, sql);
    exec_ok(db, "PRAGMA temp_store=MEMORY");
}

/* Inserts rows [first, first + n) of transaction tx with deterministic blobs of len bytes. */
static void insert_rows(sqlite3 *db, int tx, int first, int n, int len)
{
    static unsigned char blob[8192];
    sqlite3_stmt *st = NULL;
    assert_true(len <= (int)sizeof blob);
    assert_int_equal(
        sqlite3_prepare_v2(db, "INSERT INTO t (id, tx, k, v) VALUES (?, ?, ?, ?)", -1, &st, NULL),
        SQLITE_OK);
    for (int i = first; i < first + n; i++) {
        char key[32];
        for (int b = 0; b < len; b++)
            blob[b] = (unsigned char)(i * 31 + b * 7 + tx);
        snprintf(key, sizeof key, "k%08d", (i * 7919) % 100003);
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_int(st, 2, tx);
        sqlite3_bind_text(st, 3, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 4, blob, len, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}

static const char *const SCHEMA = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, "
                                  "tx INTEGER NOT NULL, k TEXT NOT NULL, v BLOB NOT NULL);"
                                  "CREATE INDEX IF NOT EXISTS t_k ON t (k)";

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    unsigned char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void assert_same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    unsigned char *pa = slurp(a, &na), *pb = slurp(b, &nb);
    if (na != nb || memcmp(pa, pb, na) != 0)
        fprintf(stderr, "differ: %s (%zu bytes) and %s (%zu bytes)\n", a, na, b, nb);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na);
    free(pa);
    free(pb);
}

/* ---- byte-identical files ---- */

/* "Powersafe overwrite" of the database file: on (the default), or off by URI (SQLite then pads
 * every commit to a sector boundary and syncs in the middle of a write; the shim sees the
 * parameter when the WAL opens and does not buffer). */
enum psow { PSOW_ON, PSOW_URI_OFF };

/* The workload of the comparison, recording the WAL after each phase into wal_copy[phase]:
 * 30 small commits; one commit larger than the buffer; a transaction that spills pages with a
 * tiny cache and rewrites them (SQLite's in-place frame overwrite and checksum rewrite); a
 * checkpoint and commits that restart the log at offset 0 over old frames. Returns the
 * -wal pwrite calls of the 30 small commits. */
static int workload(const char *path, const char *vfs, const char *sync, enum psow psow,
                    unsigned char **wal_copy, size_t *wal_len)
{
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    char uri[640];
    snprintf(uri, sizeof uri, "file:%s%s", path, psow == PSOW_URI_OFF ? "?psow=0" : "");
    sqlite3 *db = db_open(uri, vfs, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    set_mode(db, sync);
    exec_ok(db, "PRAGMA wal_autocheckpoint=0");
    exec_ok(db, SCHEMA);
    atomic_store(&wal_writes, 0);
    for (int tx = 0; tx < 30; tx++) {
        exec_ok(db, "BEGIN");
        insert_rows(db, tx, tx * 20, 20, 300);
        exec_ok(db, "COMMIT");
    }
    int small_writes = atomic_load(&wal_writes);
    wal_copy[0] = slurp(wal, &wal_len[0]);
    exec_ok(db, "BEGIN");
    insert_rows(db, 30, 1000, 600, 4000); /* ~2.4 MiB of pages */
    exec_ok(db, "COMMIT");
    wal_copy[1] = slurp(wal, &wal_len[1]);
    exec_ok(db, "PRAGMA cache_size=10");
    exec_ok(db, "BEGIN");
    exec_ok(db, "UPDATE t SET v = zeroblob(3000) WHERE id % 3 = 0");
    exec_ok(db, "UPDATE t SET k = 'u' || k WHERE id % 2 = 0");
    insert_rows(db, 31, 5000, 100, 2000);
    exec_ok(db, "COMMIT");
    exec_ok(db, "PRAGMA cache_size=-2000");
    wal_copy[2] = slurp(wal, &wal_len[2]);
    exec_ok(db, "PRAGMA wal_checkpoint(PASSIVE)");
    for (int tx = 32; tx < 36; tx++) {
        exec_ok(db, "BEGIN");
        insert_rows(db, tx, 6000 + tx * 10, 10, 500);
        exec_ok(db, "COMMIT");
    }
    wal_copy[3] = slurp(wal, &wal_len[3]);
    integrity_ok(db);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return small_writes;
}

static void compare_with_unix(const char *vfs, const char *sync, enum psow psow)
{
    struct dir d;
    dir_make(&d);
    char a[512], b[512];
    db_path(&d, "unix.db", a, sizeof a);
    db_path(&d, "shim.db", b, sizeof b);
    unsigned char *wa[4] = {0}, *wb[4] = {0};
    size_t la[4] = {0}, lb[4] = {0};
    /* the same random salts for both runs (the generator seeds itself at its first use) */
    char seed[8];
    sqlite3_randomness(sizeof seed, seed);
    sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SAVE);
    int writes_unix = workload(a, "unix", sync, psow, wa, la);
    sqlite3_test_control(SQLITE_TESTCTRL_PRNG_RESTORE);
    int writes_shim = workload(b, vfs, sync, psow, wb, lb);
    for (int i = 0; i < 4; i++) {
        if (la[i] != lb[i] || memcmp(wa[i], wb[i], la[i]) != 0)
            fprintf(stderr, "%s %s psow %d: WAL differs after phase %d\n", vfs, sync, (int)psow, i);
        assert_int_equal(la[i], lb[i]);
        assert_memory_equal(wa[i], wb[i], la[i]);
        free(wa[i]);
        free(wb[i]);
    }
    assert_same_file(a, b);
    /* the unix VFS: two writes per frame; the shim: one per commit (and the first header) */
    assert_true(writes_unix >= 30 * 2 * 2);
    if (psow == PSOW_ON && strcmp(vfs, STORE_WALBUF_VFS) == 0)
        assert_true(writes_shim <= 30 + 2);
    else if (psow == PSOW_URI_OFF)
        assert_int_equal(writes_shim, writes_unix); /* not buffered at all */
    fx_rm_tree(d.path);
}

static void test_same_bytes_as_unix_full(void **state)
{
    (void)state;
    compare_with_unix(STORE_WALBUF_VFS, "FULL", PSOW_ON);
}

static void test_same_bytes_as_unix_normal_and_off(void **state)
{
    (void)state;
    compare_with_unix(STORE_WALBUF_VFS, "NORMAL", PSOW_ON);
    compare_with_unix(STORE_WALBUF_VFS, "OFF", PSOW_ON);
}

static void test_same_bytes_small_buffer_and_no_psow(void **state)
{
    (void)state;
    compare_with_unix(SMALL_VFS, "FULL", PSOW_ON);
    compare_with_unix(SMALL_VFS, "NORMAL", PSOW_ON);
    compare_with_unix(STORE_WALBUF_VFS, "FULL", PSOW_URI_OFF);
}

/* ---- readers ---- */

/* The count another process (the sqlite3 shell) sees, or -1 without the shell. */
static int64_t count_in_other_process(const char *path)
{
    if (access("/usr/bin/sqlite3", X_OK) != 0)
        return -1;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "/usr/bin/sqlite3 -readonly '%s' 'SELECT count(*) FROM t'", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    long long n = -2;
    if (fscanf(p, "%lld", &n) != 1)
        n = -2;
    pclose(p);
    return n;
}

static void readers_in_mode(const char *sync)
{
    struct dir d;
    dir_make(&d);
    char path[512];
    db_path(&d, "r.db", path, sizeof path);
    sqlite3 *w = db_open(path, STORE_WALBUF_VFS, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    set_mode(w, sync);
    exec_ok(w, "PRAGMA wal_autocheckpoint=0");
    exec_ok(w, SCHEMA);
    sqlite3 *plain = db_open(path, "unix", SQLITE_OPEN_READONLY);
    sqlite3 *shim = db_open(path, STORE_WALBUF_VFS, SQLITE_OPEN_READONLY);
    int64_t rows = 0;
    for (int tx = 0; tx < 40; tx++) {
        exec_ok(w, "BEGIN");
        insert_rows(w, tx, tx * 10, 10, 700);
        exec_ok(w, "COMMIT");
        rows += 10;
        assert_int_equal(query_int(plain, "SELECT count(*) FROM t"), rows);
        assert_int_equal(query_int(shim, "SELECT count(*) FROM t"), rows);
        assert_int_equal(query_int(plain, "SELECT sum(length(v)) FROM t"), rows * 700);
        if (tx % 10 == 9) {
            int64_t other = count_in_other_process(path);
            assert_true(other == -1 || other == rows);
            exec_ok(w, "PRAGMA wal_checkpoint(PASSIVE)"); /* the next commit restarts the log */
        }
    }
    /* a transaction that spills and rewrites frames, then a truncating checkpoint */
    exec_ok(w, "PRAGMA cache_size=10");
    exec_ok(w, "BEGIN");
    exec_ok(w, "UPDATE t SET v = zeroblob(1500) WHERE id % 2 = 0");
    insert_rows(w, 40, 1000, 50, 3000);
    exec_ok(w, "COMMIT");
    rows += 50;
    int64_t bytes = query_int(w, "SELECT sum(length(v)) FROM t");
    assert_int_equal(query_int(plain, "SELECT count(*) FROM t"), rows);
    assert_int_equal(query_int(plain, "SELECT sum(length(v)) FROM t"), bytes);
    assert_int_equal(query_int(shim, "SELECT sum(length(v)) FROM t"), bytes);
    int64_t other = count_in_other_process(path);
    assert_true(other == -1 || other == rows);
    integrity_ok(plain);
    exec_ok(w, "PRAGMA wal_checkpoint(TRUNCATE)");
    exec_ok(w, "BEGIN");
    insert_rows(w, 41, 2000, 10, 100);
    exec_ok(w, "COMMIT");
    assert_int_equal(query_int(plain, "SELECT count(*) FROM t"), rows + 10);
    sqlite3_close(plain);
    sqlite3_close(shim);
    assert_int_equal(sqlite3_close(w), SQLITE_OK);
    fx_rm_tree(d.path);
}

static void test_readers_see_every_commit(void **state)
{
    (void)state;
    readers_in_mode("FULL");
    readers_in_mode("NORMAL");
    readers_in_mode("OFF");
}

/* ---- a failed deferred write ---- */

static void failed_flush_in_mode(const char *sync)
{
    struct dir d;
    dir_make(&d);
    char path[512];
    db_path(&d, "f.db", path, sizeof path);
    sqlite3 *w = db_open(path, STORE_WALBUF_VFS, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    set_mode(w, sync);
    exec_ok(w, SCHEMA);
    exec_ok(w, "BEGIN");
    insert_rows(w, 0, 0, 10, 200);
    exec_ok(w, "COMMIT");
    atomic_store(&wal_writes, 0);
    atomic_store(&wal_fail, 1);
    exec_ok(w, "BEGIN");
    insert_rows(w, 1, 10, 30, 900); /* several frames, all buffered */
    int rc = exec_rc(w, "COMMIT");
    atomic_store(&wal_fail, 0);
    /* the frames reached the file in one write, the deferred one, and its failure failed COMMIT */
    assert_int_equal(atomic_load(&wal_writes), 1);
    assert_int_equal(rc & 0xff, SQLITE_IOERR);
    if (!sqlite3_get_autocommit(w))
        (void)exec_rc(w, "ROLLBACK");
    sqlite3 *r = db_open(path, "unix", SQLITE_OPEN_READONLY);
    assert_int_equal(query_int(r, "SELECT count(*) FROM t"), 10);
    assert_int_equal(query_int(w, "SELECT count(*) FROM t"), 10);
    /* the connection goes on: the next commit lands */
    exec_ok(w, "BEGIN");
    insert_rows(w, 2, 100, 5, 200);
    exec_ok(w, "COMMIT");
    assert_int_equal(query_int(r, "SELECT count(*) FROM t"), 15);
    integrity_ok(r);
    sqlite3_close(r);
    assert_int_equal(sqlite3_close(w), SQLITE_OK);
    sqlite3 *again = db_open(path, "unix", SQLITE_OPEN_READONLY);
    assert_int_equal(query_int(again, "SELECT count(*) FROM t"), 15);
    assert_int_equal(query_int(again, "SELECT count(*) FROM t WHERE tx = 1"), 0);
    sqlite3_close(again);
    fx_rm_tree(d.path);
}

static void test_failed_flush_fails_the_commit(void **state)
{
    (void)state;
    failed_flush_in_mode("FULL");
    failed_flush_in_mode("NORMAL");
    failed_flush_in_mode("OFF");
}

struct notice_job {
    const char *id;
};

static int notice_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct notice_job *j = ctx;
    struct store_value v[] = {STORE_TEXT_V(j->id), STORE_INT_V(1), STORE_TEXT_V("test"),
                              STORE_TEXT_V("{}")};
    int n = store_tx_exec(
        tx, "INSERT INTO notice (id, created_ms, category, doc) VALUES (?, ?, ?, ?)", v, 4, e);
    return n < 0 ? n : 0;
}

/* Through the store: the writer's commit fails, so store_write does not acknowledge. */
static void test_failed_flush_is_not_acknowledged(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    struct notice_job ok = {"before"}, lost = {"lost"}, after = {"after"};
    assert_int_equal(store_write(f->s, notice_fn, &ok, &e), 0);
    atomic_store(&wal_fail, 1);
    int rc = store_write(f->s, notice_fn, &lost, &e);
    atomic_store(&wal_fail, 0);
    assert_int_equal(rc, ERR_IO);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM notice WHERE id = 'lost'"), 0);
    assert_int_equal(store_write(f->s, notice_fn, &after, &e), 0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM notice WHERE id IN ('before', 'after')"), 2);
}

static int store_setup(void **state)
{
    return fx_setup_in(state, "walbuf");
}

/* ---- SIGKILL in the middle of a stream of commits ---- */

#define KILL_ROWS 20 /* rows per transaction */

/* The child: commits transactions of KILL_ROWS rows numbered on from the database's last, and
 * after each COMMIT returned writes its number to fd. Never returns. */
static void committer(const char *path, const char *sync, int fd)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, STORE_WALBUF_VFS) !=
        SQLITE_OK)
        _exit(2);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", sync);
    if (exec_rc(db, "PRAGMA journal_mode=WAL") != SQLITE_OK || exec_rc(db, sql) != SQLITE_OK ||
        exec_rc(db, SCHEMA) != SQLITE_OK)
        _exit(3);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(tx), 0) FROM t", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        _exit(4);
    int tx = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "INSERT INTO t (tx, k, v) VALUES (?, 'k', zeroblob(?))", -1, &st,
                           NULL) != SQLITE_OK)
        _exit(5);
    for (;;) {
        tx++;
        if (exec_rc(db, "BEGIN") != SQLITE_OK)
            _exit(6);
        for (int i = 0; i < KILL_ROWS; i++) {
            sqlite3_bind_int(st, 1, tx);
            sqlite3_bind_int(st, 2, 200 + (tx * 37 + i * 101) % 3000);
            if (sqlite3_step(st) != SQLITE_DONE)
                _exit(7);
            sqlite3_reset(st);
        }
        if (exec_rc(db, "COMMIT") != SQLITE_OK)
            _exit(8);
        if (tx % 25 == 0 && exec_rc(db, "PRAGMA wal_checkpoint(PASSIVE)") != SQLITE_OK)
            _exit(9);
        if (write(fd, &tx, sizeof tx) != (ssize_t)sizeof tx)
            _exit(10);
    }
}

static void kill_rounds(const char *sync)
{
    struct dir d;
    dir_make(&d);
    char path[512];
    db_path(&d, "k.db", path, sizeof path);
    unsigned seed = (unsigned)time(NULL);
    int last_ack = 0;
    for (int round = 0; round < 4; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            committer(path, sync, fds[1]);
        }
        close(fds[1]);
        int target = last_ack + 10 + (int)(rand_r(&seed) % 40), tx = 0;
        while (last_ack < target && read(fds[0], &tx, sizeof tx) == (ssize_t)sizeof tx)
            last_ack = tx;
        struct timespec pause = {.tv_nsec = (long)(rand_r(&seed) % 3000) * 1000L};
        nanosleep(&pause, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status)); /* it was still committing, not failed */
        while (read(fds[0], &tx, sizeof tx) == (ssize_t)sizeof tx)
            last_ack = tx; /* acknowledged before the kill */
        close(fds[0]);
        sqlite3 *db = db_open(path, "unix", SQLITE_OPEN_READWRITE);
        integrity_ok(db);
        int64_t max_tx = query_int(db, "SELECT coalesce(max(tx), 0) FROM t");
        assert_true(max_tx >= last_ack);
        assert_int_equal(query_int(db, "SELECT count(DISTINCT tx) FROM t"), max_tx);
        assert_int_equal(query_int(db, "SELECT min(tx) FROM t"), 1);
        assert_int_equal(query_int(db, "SELECT count(*) FROM (SELECT tx FROM t GROUP BY tx "
                                       "HAVING count(*) <> 20)"),
                         0);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        last_ack = (int)max_tx;
    }
    fx_rm_tree(d.path);
}

static void test_sigkill_keeps_whole_acknowledged_commits(void **state)
{
    (void)state;
    kill_rounds("FULL");
    kill_rounds("NORMAL");
}

int main(void)
{
    log_set_level(LOGL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_unix_full),
        cmocka_unit_test(test_same_bytes_as_unix_normal_and_off),
        cmocka_unit_test(test_same_bytes_small_buffer_and_no_psow),
        cmocka_unit_test(test_readers_see_every_commit),
        cmocka_unit_test(test_failed_flush_fails_the_commit),
        cmocka_unit_test_setup_teardown(test_failed_flush_is_not_acknowledged, store_setup,
                                        fx_teardown),
        cmocka_unit_test(test_sigkill_keeps_whole_acknowledged_commits),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

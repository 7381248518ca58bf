/* sqlite.c - the SQLite backend of store.h: one writer thread that commits queued writes in
 * batches (group commit), a read connection per thread, per-connection statement caches. */
#include "store/sqlite_names.h" /* before store.h: see store.c */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/utf8.h"
#include "store/migrations.h"
#include "store/sqlite_vfs.h"

#define DB_FILE               "cityos.db"
#define BATCH_DEFAULT         256
#define BATCH_LIMIT           65536
#define QUEUE_MAX             100000 /* queued writes before store_write_async says unavailable */
#define STMT_CACHE_MAX        64     /* prepared statements kept per connection */
#define STMT_CACHE_BUCKETS    128    /* hash buckets of the statement cache (power of two) */
#define SQL_MAX_BYTES         ((size_t)256 * 1024) /* longest SQL text accepted */
#define BUSY_TIMEOUT_MS       5000 /* waits for another process's lock before SQLITE_BUSY */
#define WAL_CHECKPOINT_FRAMES 4000 /* WAL frames that trigger a passive checkpoint (16 MiB) */
/* page caches, as negative KiB (PRAGMA cache_size): the writer's holds a whole batch's pages;
 * each reader's the hot index pages of searches */
#define WRITER_CACHE_KIB   "-65536"
#define READER_CACHE_KIB   "-16384"
#define JOURNAL_SIZE_LIMIT "67108864" /* WAL bytes kept after a checkpoint resets it (64 MiB) */
#define SQL_SHOWN          60         /* characters of SQL quoted in error messages */

/* One cached prepared statement, in a hash bucket chain and in the connection's LRU list. */
struct stmt_entry {
    struct stmt_entry *hnext;               /* next in the same bucket */
    struct stmt_entry *lru_prev, *lru_next; /* most recently used first */
    uint64_t hash;
    sqlite3_stmt *st;
    int busy;   /* in use right now (a row callback may nest a query with the same text) */
    int user;   /* prepared as user SQL (authorized) or internal: part of the key */
    size_t len; /* strlen(sql) */
    char sql[]; /* the key */
};

/* A connection and its statement cache. Used by one thread at a time. */
struct conn {
    sqlite3 *db;
    int user_sql; /* the statement running came through store.h: the authorizer applies */
    struct stmt_entry *buckets[STMT_CACHE_BUCKETS];
    struct stmt_entry *lru_head, *lru_tail;
    int nstmts;
};

/* A thread's read connection, registered with its store so store_close() can close it. */
struct reader {
    struct conn c;
    struct store *s;
    struct reader *prev, *next;
    int scope_depth; /* store_read_begin() calls not yet ended */
    int in_txn;      /* the outermost scope's BEGIN succeeded */
};

/* One queued write. */
struct job {
    struct job *next;
    store_write_fn fn;
    store_write_group_fn gfn; /* a group write (fn is NULL): one call with its neighbours' */
    void *ctx;
    store_done_fn done;
    void *done_ctx;
    int status;
    struct err err;
};

struct store {
    char *dir;
    char *db_path;
    int batch_max;
    int schema_version;

    struct conn w;    /* the write connection: owned by the writer thread once it runs */
    void **gctx;      /* batch_max contexts of one group write (writer thread only) */
    int wal_frames;   /* frames in the WAL after the last commit (writer thread only) */
    pthread_t writer; /* the writer thread */
    int writer_started;

    pthread_mutex_t mu; /* guards the queue and closing */
    pthread_cond_t cv;  /* signalled when the queue becomes non-empty or closing is set */
    struct job *head, *tail;
    size_t queued;
    int closing;

    pthread_key_t rkey; /* this thread's struct reader */
    int rkey_created;
    pthread_mutex_t rmu;    /* guards readers */
    struct reader *readers; /* every open read connection */

    struct store_metrics m;
};

struct store_tx {
    struct store *s;
    struct conn *c;
};

struct store_row {
    sqlite3_stmt *st;
    int ncols;
};

/* The store whose writer runs on this thread, if any: catches a write waiting for itself. */
static _Thread_local struct store *tls_writer;

/* ---- errors ---- */

static int code_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        return ERR_CONFLICT;
    case SQLITE_NOMEM:
        return ERR_NOMEM;
    case SQLITE_TOOBIG:
        return ERR_TOOBIG;
    case SQLITE_AUTH:
        return ERR_INVALID;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PROTOCOL:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
        return ERR_IO;
    default:
        return ERR_INTERNAL;
    }
}

/* Turns a SQLite failure into our code, once, at the boundary. */
static int conn_fail(struct conn *c, int rc, const char *what, const char *sql, struct err *e)
{
    const char *msg = c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_AUTH)
        return err_set(e, ERR_INVALID, "%s: statement not allowed through the store: \"%.*s\"",
                       what, SQL_SHOWN, sql);
    return err_set(e, code_of(rc), "%s: %s (sqlite %d): \"%.*s\"", what, msg, rc, SQL_SHOWN, sql);
}

/* ---- statement cache ---- */

static uint64_t sql_hash(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211u;
    }
    return h;
}

static void lru_unlink(struct conn *c, struct stmt_entry *en)
{
    if (en->lru_prev != NULL)
        en->lru_prev->lru_next = en->lru_next;
    else
        c->lru_head = en->lru_next;
    if (en->lru_next != NULL)
        en->lru_next->lru_prev = en->lru_prev;
    else
        c->lru_tail = en->lru_prev;
    en->lru_prev = en->lru_next = NULL;
}

static void lru_push_front(struct conn *c, struct stmt_entry *en)
{
    en->lru_prev = NULL;
    en->lru_next = c->lru_head;
    if (c->lru_head != NULL)
        c->lru_head->lru_prev = en;
    c->lru_head = en;
    if (c->lru_tail == NULL)
        c->lru_tail = en;
}

/* Removes en from the cache, finalizes its statement and frees it. */
static void cache_evict(struct conn *c, struct stmt_entry *en)
{
    struct stmt_entry **pp = &c->buckets[en->hash & (STMT_CACHE_BUCKETS - 1)];
    while (*pp != NULL && *pp != en)
        pp = &(*pp)->hnext;
    if (*pp == en)
        *pp = en->hnext;
    lru_unlink(c, en);
    sqlite3_finalize(en->st);
    free(en);
    c->nstmts--;
}

/* Makes room for one more entry by evicting the least recently used idle one. Returns 0, or -1
 * when every entry is busy (deeply nested queries): the new statement then stays uncached. */
static int cache_make_room(struct conn *c)
{
    if (c->nstmts < STMT_CACHE_MAX)
        return 0;
    for (struct stmt_entry *en = c->lru_tail; en != NULL; en = en->lru_prev) {
        if (!en->busy) {
            cache_evict(c, en);
            return 0;
        }
    }
    return -1;
}

/* Is the rest of a prepared text only blanks and semicolons? */
static int tail_empty(const char *tail)
{
    for (size_t i = 0; tail != NULL && tail[i] != '\0' && i < SQL_MAX_BYTES; i++) {
        if (strchr(" \t\r\n;", tail[i]) == NULL)
            return 0;
    }
    return 1;
}

/* Finds sql's statement in the cache or prepares it. *out_en is the cache entry (marked busy) or
 * NULL for a private statement the caller finalizes through stmt_release(). */
static int stmt_acquire(struct conn *c, const char *sql, struct stmt_entry **out_en,
                        sqlite3_stmt **out_st, struct err *e)
{
    size_t len = strnlen(sql, SQL_MAX_BYTES + 1);
    if (len > SQL_MAX_BYTES)
        return err_set(e, ERR_TOOBIG, "SQL text longer than %zu bytes", SQL_MAX_BYTES);
    uint64_t h = sql_hash(sql, len);
    struct stmt_entry *en = c->buckets[h & (STMT_CACHE_BUCKETS - 1)];
    for (; en != NULL; en = en->hnext) {
        if (en->hash == h && en->user == c->user_sql && en->len == len &&
            memcmp(en->sql, sql, len) == 0)
            break;
    }
    if (en != NULL && !en->busy) {
        lru_unlink(c, en);
        lru_push_front(c, en);
        en->busy = 1;
        *out_en = en;
        *out_st = en->st;
        return 0;
    }

    /* not cached, or cached but in use by an outer query on this connection */
    int cacheable = en == NULL;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int ret = 0;
    int rc = sqlite3_prepare_v3(c->db, sql, (int)len + 1, cacheable ? SQLITE_PREPARE_PERSISTENT : 0,
                                &st, &tail);
    if (rc != SQLITE_OK) {
        ret = conn_fail(c, rc, "prepare", sql, e);
        goto out;
    }
    if (st == NULL) {
        ret = err_set(e, ERR_INVALID, "empty SQL statement");
        goto out;
    }
    if (!tail_empty(tail)) {
        ret = err_set(e, ERR_INVALID, "one SQL statement per call: \"%.*s\"", SQL_SHOWN, sql);
        goto out;
    }
    en = NULL;
    if (cacheable && cache_make_room(c) == 0)
        en = malloc(sizeof *en + len + 1);
    if (en != NULL) { /* no memory for the entry: the statement simply stays private */
        memset(en, 0, sizeof *en);
        en->hash = h;
        en->st = st;
        en->busy = 1;
        en->user = c->user_sql;
        en->len = len;
        memcpy(en->sql, sql, len + 1);
        struct stmt_entry **bucket = &c->buckets[h & (STMT_CACHE_BUCKETS - 1)];
        en->hnext = *bucket;
        *bucket = en;
        lru_push_front(c, en);
        c->nstmts++;
    }
    *out_en = en;
    *out_st = st;
    st = NULL; /* handed to the caller */
out:
    sqlite3_finalize(st);
    return ret;
}

/* Resets a statement after use (releasing its read snapshot) and returns it to the cache. */
static void stmt_release(struct stmt_entry *en, sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (en != NULL)
        en->busy = 0;
    else
        sqlite3_finalize(st);
}

/* ---- connections ---- */

/* Statements that arrive through store.h may not control transactions, attach files or change
 * connection settings: the store owns those. Internal statements run with user_sql == 0. */
static int conn_authorize(void *ctx, int action, const char *a, const char *b, const char *d,
                          const char *t)
{
    const struct conn *c = ctx;
    (void)a;
    (void)b;
    (void)d;
    (void)t;
    if (!c->user_sql)
        return SQLITE_OK;
    switch (action) {
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
    case SQLITE_PRAGMA:
        return SQLITE_DENY;
    default:
        return SQLITE_OK;
    }
}

/* Runs an internal statement (a PRAGMA) outside the cache. When val is given, copies the first
 * column of the first row into it (NUL-terminated, truncated to size). */
static int conn_exec(struct conn *c, const char *sql, char *val, size_t size, struct err *e)
{
    sqlite3_stmt *st = NULL;
    int ret = 0, rc;
    if (val != NULL && size > 0)
        val[0] = '\0';
    rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        ret = conn_fail(c, rc, "prepare", sql, e);
        goto out;
    }
    for (int row = 0; st != NULL; row++) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            ret = conn_fail(c, rc, "exec", sql, e);
            goto out;
        }
        if (row == 0 && val != NULL && size > 0) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(val, size, "%s", t != NULL ? (const char *)t : "");
        }
    }
out:
    sqlite3_finalize(st);
    return ret;
}

static void conn_close(struct conn *c)
{
    while (c->lru_head != NULL)
        cache_evict(c, c->lru_head);
    if (c->db == NULL)
        return;
    int rc = sqlite3_close(c->db);
    if (rc != SQLITE_OK) {
        log_error("store: closing a connection failed: %s", sqlite3_errstr(rc));
        sqlite3_close_v2(c->db);
    }
    c->db = NULL;
}

/* Before SQLite's first use in the process: no memory statistics, which cost a global mutex
 * around every allocation of every connection (nothing here reads them). */
static void sqlite_configure_once(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* The VFS every connection opens its files with: the default one, whose WAL writes are gathered
 * into one write per commit (sqlite_vfs.h), or NULL (SQLite's default) if that failed. */
static const char *walbuf_vfs;

/* After sqlite_configure_once (registering initialises SQLite). */
static void walbuf_register_once(void)
{
    int rc = store_walbuf_register(STORE_WALBUF_VFS, NULL, STORE_WALBUF_BYTES);
    if (rc == SQLITE_OK)
        walbuf_vfs = STORE_WALBUF_VFS;
    else
        log_warn("store: WAL write buffering off: %s", sqlite3_errstr(rc));
}

/* Opens path with flags and applies the settings every connection shares. */
static int conn_open(struct conn *c, const char *path, int flags, struct err *e)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    static pthread_once_t walbuf_registered = PTHREAD_ONCE_INIT;
    int ret = 0;
    memset(c, 0, sizeof *c);
    pthread_once(&configured, sqlite_configure_once);
    pthread_once(&walbuf_registered, walbuf_register_once);
    int rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, walbuf_vfs);
    if (rc != SQLITE_OK) {
        ret =
            err_set(e, code_of(rc) == ERR_NOMEM ? ERR_NOMEM : ERR_IO, "cannot open database %s: %s",
                    path, c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    /* hardening, and double-quoted strings off so SQL stays valid on PostgreSQL */
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int *)NULL);
    sqlite3_set_authorizer(c->db, conn_authorize, c);
out:
    if (ret != 0)
        conn_close(c);
    return ret;
}

/* ---- running statements ---- */

static int bind_params(struct conn *c, sqlite3_stmt *st, const char *sql,
                       const struct store_value *params, size_t nparams, struct err *e)
{
    int want = sqlite3_bind_parameter_count(st);
    if (nparams != (size_t)want)
        return err_set(e, ERR_INVALID, "statement has %d placeholders, %zu values given: \"%.*s\"",
                       want, nparams, SQL_SHOWN, sql);
    if (nparams > 0 && params == NULL)
        return err_set(e, ERR_INVALID, "no values given for %zu placeholders", nparams);
    for (int i = 0; i < want; i++) {
        const struct store_value *v = &params[i];
        size_t len = v->len;
        int rc;
        /* a NULL pointer binds SQL NULL, so an optional string can be passed as it is */
        if ((v->type == STORE_TEXT || v->type == STORE_BLOB) && v->p == NULL) {
            if (len != 0 && len != SIZE_MAX)
                return err_set(e, ERR_INVALID, "value %d: NULL pointer with length %zu", i + 1,
                               len);
            rc = sqlite3_bind_null(st, i + 1);
        } else if (v->type == STORE_NULL) {
            rc = sqlite3_bind_null(st, i + 1);
        } else if (v->type == STORE_INT) {
            rc = sqlite3_bind_int64(st, i + 1, v->i);
        } else if (v->type == STORE_TEXT) {
            if (len == SIZE_MAX)
                len = strlen(v->p);
            /* what PostgreSQL's text accepts, so both backends agree */
            if (!utf8_valid(v->p, len))
                return err_set(e, ERR_INVALID, "value %d: text is not valid UTF-8 (or holds NUL)",
                               i + 1);
            rc = sqlite3_bind_text64(st, i + 1, v->p, len, SQLITE_STATIC, SQLITE_UTF8);
        } else if (v->type == STORE_BLOB) {
            rc = sqlite3_bind_blob64(st, i + 1, v->p, len, SQLITE_STATIC);
        } else {
            return err_set(e, ERR_INVALID, "value %d: unknown type %d", i + 1, (int)v->type);
        }
        if (rc != SQLITE_OK)
            return conn_fail(c, rc, "bind", sql, e);
    }
    return 0;
}

/* Prepares (or reuses), binds and steps one statement on c, calling fn per row. readonly refuses
 * a statement that would write; user marks SQL that came through store.h. *changes (OUT, may be
 * NULL) receives the rows the statement changed. */
static int conn_run(struct conn *c, int user, int readonly, const char *sql,
                    const struct store_value *params, size_t nparams, store_row_fn fn, void *ctx,
                    int *changes, struct err *e)
{
    struct stmt_entry *en = NULL;
    sqlite3_stmt *st = NULL;
    int saved_user = c->user_sql;
    int ret = 0;
    if (sql == NULL)
        return err_set(e, ERR_INVALID, "no SQL given");
    c->user_sql = user;
    ret = stmt_acquire(c, sql, &en, &st, e);
    if (ret != 0)
        goto out;
    if (readonly && !sqlite3_stmt_readonly(st)) {
        ret = err_set(e, ERR_INVALID, "not a read-only statement: \"%.*s\"", SQL_SHOWN, sql);
        goto out;
    }
    ret = bind_params(c, st, sql, params, nparams, e);
    if (ret != 0)
        goto out;
    sqlite3_int64 before = sqlite3_total_changes64(c->db);
    struct store_row row = {.st = st, .ncols = sqlite3_column_count(st)};
    for (;;) { /* ends at SQLITE_DONE, an error, or when fn says stop */
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            ret = conn_fail(c, rc, "step", sql, e);
            goto out;
        }
        if (fn != NULL && fn(&row, ctx) != 0)
            break;
    }
    if (changes != NULL) {
        /* sqlite3_changes() keeps the last DML's count across DDL: only trust it if we changed */
        sqlite3_int64 n = sqlite3_total_changes64(c->db) == before ? 0 : sqlite3_changes64(c->db);
        *changes = n > INT_MAX ? INT_MAX : (int)n;
    }
out:
    if (st != NULL)
        stmt_release(en, st);
    c->user_sql = saved_user;
    return ret;
}

/* Internal statements (BEGIN, SAVEPOINT, ...) through the cache, outside the authorizer. */
static int conn_internal(struct conn *c, const char *sql, struct err *e)
{
    return conn_run(c, 0, 0, sql, NULL, 0, NULL, NULL, NULL, e);
}

static int row_int_fn(const struct store_row *r, void *ctx)
{
    *(int64_t *)ctx = store_row_int(r, 0);
    return 1;
}

/* ---- rows ---- */

int store_row_columns(const struct store_row *r)
{
    return r->ncols;
}

int store_row_is_null(const struct store_row *r, int col)
{
    if (col < 0 || col >= r->ncols)
        return 1;
    return sqlite3_column_type(r->st, col) == SQLITE_NULL;
}

int64_t store_row_int(const struct store_row *r, int col)
{
    if (col < 0 || col >= r->ncols)
        return 0;
    return sqlite3_column_int64(r->st, col);
}

const char *store_row_text(const struct store_row *r, int col, size_t *len)
{
    const char *t = NULL;
    if (col >= 0 && col < r->ncols)
        t = (const char *)sqlite3_column_text(r->st, col); /* before _bytes: the order matters */
    if (len != NULL)
        *len = t != NULL ? (size_t)sqlite3_column_bytes(r->st, col) : 0;
    return t;
}

const void *store_row_blob(const struct store_row *r, int col, size_t *len)
{
    static const unsigned char empty[1];
    const void *b = NULL;
    size_t n = 0;
    if (col >= 0 && col < r->ncols && sqlite3_column_type(r->st, col) != SQLITE_NULL) {
        b = sqlite3_column_blob(r->st, col);
        n = (size_t)sqlite3_column_bytes(r->st, col);
        if (b == NULL && n == 0)
            b = empty; /* an empty blob is not NULL */
    }
    if (len != NULL)
        *len = n;
    return b;
}

/* ---- reads ---- */

static void reader_free(struct reader *r)
{
    conn_close(&r->c);
    free(r);
}

/* Runs when a thread that read from the store exits while the store is open. */
static void reader_destructor(void *p)
{
    struct reader *r = p;
    struct store *s = r->s;
    pthread_mutex_lock(&s->rmu);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        s->readers = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    pthread_mutex_unlock(&s->rmu);
    reader_free(r);
}

/* This thread's read connection (*out), opened on first use. */
static int reader_get(struct store *s, struct reader **out, struct err *e)
{
    struct reader *r = pthread_getspecific(s->rkey);
    int ret = 0;
    if (r != NULL) {
        *out = r;
        return 0;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        ret = err_set(e, ERR_NOMEM, "out of memory opening a read connection");
        goto out;
    }
    r->s = s;
    ret = conn_open(&r->c, s->db_path, SQLITE_OPEN_READONLY, e);
    if (ret == 0)
        ret = conn_exec(&r->c, "PRAGMA query_only=ON", NULL, 0, e);
    if (ret == 0)
        ret = conn_exec(&r->c, "PRAGMA cache_size=" READER_CACHE_KIB, NULL, 0, e);
    if (ret != 0)
        goto out;
    if (pthread_setspecific(s->rkey, r) != 0) {
        ret = err_set(e, ERR_NOMEM, "cannot register a read connection");
        goto out;
    }
    pthread_mutex_lock(&s->rmu);
    r->next = s->readers;
    if (s->readers != NULL)
        s->readers->prev = r;
    s->readers = r;
    pthread_mutex_unlock(&s->rmu);
    *out = r;
    r = NULL;
out:
    if (r != NULL)
        reader_free(r);
    return ret;
}

int store_query(struct store *s, const char *sql, const struct store_value *params, size_t nparams,
                store_row_fn fn, void *ctx, struct err *e)
{
    if (s == NULL)
        return err_set(e, ERR_INVALID, "no store");
    struct reader *r = NULL;
    int ret = reader_get(s, &r, e);
    if (ret != 0)
        return ret;
    return conn_run(&r->c, 1, 1, sql, params, nparams, fn, ctx, NULL, e);
}

int store_read_begin(struct store *s)
{
    if (s == NULL)
        return ERR_INVALID;
    struct reader *r = NULL;
    int ret = reader_get(s, &r, NULL);
    if (ret != 0)
        return ret;
    if (r->scope_depth++ > 0)
        return 0;
    struct err e = {0};
    ret = conn_internal(&r->c, "BEGIN", &e); /* deferred: the snapshot starts at the first read */
    r->in_txn = ret == 0;
    return ret;
}

void store_read_end(struct store *s)
{
    struct reader *r = s != NULL ? pthread_getspecific(s->rkey) : NULL;
    if (r == NULL || r->scope_depth == 0 || --r->scope_depth > 0 || !r->in_txn)
        return;
    r->in_txn = 0;
    struct err e = {0};
    if (conn_internal(&r->c, "COMMIT", &e) != 0) {
        log_warn("store: ending a read scope: %s", e.msg);
        if (!sqlite3_get_autocommit(r->c.db))
            conn_internal(&r->c, "ROLLBACK", &e);
    }
}

/* ---- writes ---- */

int store_tx_exec(struct store_tx *tx, const char *sql, const struct store_value *params,
                  size_t nparams, struct err *e)
{
    int changes = 0;
    if (tx == NULL || tls_writer != tx->s)
        return err_set(e, ERR_INVALID, "store_tx_exec outside a write");
    int ret = conn_run(tx->c, 1, 0, sql, params, nparams, NULL, NULL, &changes, e);
    return ret != 0 ? ret : changes;
}

int store_tx_query(struct store_tx *tx, const char *sql, const struct store_value *params,
                   size_t nparams, store_row_fn fn, void *ctx, struct err *e)
{
    if (tx == NULL || tls_writer != tx->s)
        return err_set(e, ERR_INVALID, "store_tx_query outside a write");
    return conn_run(tx->c, 1, 1, sql, params, nparams, fn, ctx, NULL, e);
}

/* Queues a job; the reason for a refusal goes to e. */
static int enqueue(struct store *s, struct job *j, struct err *e)
{
    int ret = 0;
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        ret = err_set(e, ERR_UNAVAILABLE, "the store is closing");
        goto out;
    }
    if (s->queued >= QUEUE_MAX) {
        ret = err_set(e, ERR_UNAVAILABLE, "the write queue is full (%d writes)", QUEUE_MAX);
        goto out;
    }
    if (s->tail != NULL)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    if (s->queued++ == 0)
        pthread_cond_signal(&s->cv);
out:
    pthread_mutex_unlock(&s->mu);
    return ret;
}

static int write_async(struct store *s, store_write_fn fn, store_write_group_fn gfn, void *ctx,
                       store_done_fn done, void *done_ctx, struct err *e)
{
    if (s == NULL || (fn == NULL) == (gfn == NULL))
        return err_set(e, ERR_INVALID, "store_write needs a store and a write function");
    struct job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return err_set(e, ERR_NOMEM, "out of memory queueing a write");
    j->fn = fn;
    j->gfn = gfn;
    j->ctx = ctx;
    j->done = done;
    j->done_ctx = done_ctx;
    int ret = enqueue(s, j, e);
    if (ret != 0)
        free(j);
    return ret;
}

int store_write_async(struct store *s, store_write_fn fn, void *ctx, store_done_fn done,
                      void *done_ctx)
{
    return write_async(s, fn, NULL, ctx, done, done_ctx, NULL);
}

int store_write_group_async(struct store *s, store_write_group_fn fn, void *ctx, store_done_fn done,
                            void *done_ctx)
{
    return write_async(s, NULL, fn, ctx, done, done_ctx, NULL);
}

/* A synchronous caller waiting for its write. */
struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int status;
    struct err *e;
};

static void waiter_done(int status, const struct err *err, void *ctx)
{
    struct waiter *w = ctx;
    pthread_mutex_lock(&w->mu);
    w->status = status;
    if (w->e != NULL && err != NULL)
        *w->e = *err;
    w->done = 1;
    pthread_cond_signal(&w->cv); /* under the mutex: w may vanish as soon as we unlock */
    pthread_mutex_unlock(&w->mu);
}

int store_write(struct store *s, store_write_fn fn, void *ctx, struct err *e)
{
    struct waiter w = {.e = e};
    err_clear(e);
    if (s != NULL && tls_writer == s)
        return err_set(e, ERR_INVALID, "store_write inside a write would wait for itself");
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int ret = write_async(s, fn, NULL, ctx, waiter_done, &w, e);
    if (ret != 0)
        goto out;
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    ret = w.status;
out:
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return ret;
}

/* Runs one write in its own savepoint: j's own fn, or its group fn over ctxs[0..n-1]. The
 * write's own failure stays in j; the return value is a failure of the whole batch (the
 * transaction is lost or the savepoint could not be handled). */
static int write_run(struct conn *c, struct store_tx *tx, struct job *j, void *const *ctxs,
                     size_t n, struct err *be)
{
    int ret = conn_internal(c, "SAVEPOINT job", be);
    if (ret != 0)
        return ret;
    err_clear(&j->err);
    j->status = j->gfn != NULL ? j->gfn(tx, ctxs, n, &j->err) : j->fn(tx, j->ctx, &j->err);
    if (sqlite3_get_autocommit(c->db)) /* SQLite rolled the whole transaction back */
        return err_set(be, j->status < 0 ? j->status : ERR_IO, "the batch was rolled back: %s",
                       j->err.msg[0] != '\0' ? j->err.msg : sqlite3_errmsg(c->db));
    if (j->status != 0) {
        if (j->err.msg[0] == '\0')
            err_set(&j->err, j->status, "the write failed (%s)", err_name(j->status));
        j->err.code = j->status;
        ret = conn_internal(c, "ROLLBACK TO job", be);
    }
    if (ret == 0)
        ret = conn_internal(c, "RELEASE job", be);
    return ret;
}

/* Runs the write at j, or the group write that starts at j: j and the jobs right after it with
 * the same group fn, in one call. A group that fails is run again one write at a time, so each
 * gets its own verdict. *next is the job after. Returns a failure of the whole batch. */
static int job_run(struct store *s, struct store_tx *tx, struct job *j, struct job **next,
                   struct err *be)
{
    struct job *end = j->next;
    size_t n = 1;
    if (j->gfn != NULL) {
        s->gctx[0] = j->ctx;
        for (; end != NULL && end->gfn == j->gfn && n < (size_t)s->batch_max; end = end->next)
            s->gctx[n++] = end->ctx;
    }
    *next = end;
    int ret = write_run(&s->w, tx, j, s->gctx, n, be);
    if (ret != 0 || j->status == 0 || n == 1) {
        for (struct job *k = j->next; k != end; k = k->next) {
            k->status = j->status;
            k->err = j->err;
        }
        return ret;
    }
    for (struct job *k = j; ret == 0 && k != end; k = k->next)
        ret = write_run(&s->w, tx, k, &k->ctx, 1, be);
    return ret;
}

/* Runs one batch: BEGIN IMMEDIATE, each job in its savepoint, COMMIT, and only then the
 * completions. A batch failure (BEGIN, a savepoint, COMMIT) fails every job in it. */
static void batch_run(struct store *s, struct job *batch, size_t n)
{
    struct conn *c = &s->w;
    struct store_tx tx = {.s = s, .c = c};
    struct err be = {0};
    int bst = conn_internal(c, "BEGIN IMMEDIATE", &be);
    for (struct job *j = batch, *next = NULL; bst == 0 && j != NULL; j = next)
        bst = job_run(s, &tx, j, &next, &be);
    if (bst == 0) {
        uint64_t t0 = clock_mono_ns();
        bst = conn_internal(c, "COMMIT", &be);
        if (bst == 0) {
            histogram_observe(&s->m.commit_seconds, (double)(clock_mono_ns() - t0) / 1e9);
            histogram_observe(&s->m.batch_size, (double)n);
        }
    }
    if (bst != 0) {
        log_warn("store: a batch of %zu writes failed: %s", n, be.msg);
        if (!sqlite3_get_autocommit(c->db)) {
            struct err ignored;
            conn_internal(c, "ROLLBACK", &ignored);
        }
        /* even a write whose own fn failed gets the batch's failure: its verdict (a conflict,
         * say) may have depended on an earlier write of the batch that is now lost */
        for (struct job *j = batch; j != NULL; j = j->next) {
            j->status = bst;
            j->err = be;
        }
    }
    for (size_t i = 0; batch != NULL && i < n; i++) {
        struct job *j = batch;
        batch = j->next;
        if (j->status == 0)
            err_clear(&j->err);
        atomic_fetch_add_explicit(j->status == 0 ? &s->m.writes_ok : &s->m.writes_failed, 1,
                                  memory_order_relaxed);
        if (j->done != NULL)
            j->done(j->status, &j->err, j->done_ctx);
        free(j);
    }
}

/* Records the WAL size after each commit; the writer checkpoints itself (see maybe_checkpoint). */
static int wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((struct store *)ctx)->wal_frames = frames;
    return SQLITE_OK;
}

/* A passive checkpoint after the batch's completions, so no acknowledgement waits for it. */
static void maybe_checkpoint(struct store *s)
{
    if (s->wal_frames < WAL_CHECKPOINT_FRAMES)
        return;
    s->wal_frames = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->w.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
        log_warn("store: checkpoint failed: %s", sqlite3_errmsg(s->w.db));
}

static void *writer_main(void *arg)
{
    struct store *s = arg;
    tls_writer = s;
    for (;;) { /* until closing and drained */
        struct job *batch, *last;
        size_t n = 0;
        pthread_mutex_lock(&s->mu);
        while (s->head == NULL && !s->closing)
            pthread_cond_wait(&s->cv, &s->mu);
        batch = last = s->head;
        for (n = 0; last != NULL && n + 1 < (size_t)s->batch_max && last->next != NULL; n++)
            last = last->next;
        if (last != NULL) {
            n++;
            s->head = last->next;
            if (s->head == NULL)
                s->tail = NULL;
            last->next = NULL;
            s->queued -= n;
        }
        pthread_mutex_unlock(&s->mu);
        if (batch == NULL)
            break;
        batch_run(s, batch, n);
        maybe_checkpoint(s);
    }
    tls_writer = NULL;
    return NULL;
}

/* ---- open and close ---- */

/* fsync()s a folder so that entries just created in it survive a power loss. */
static void dir_sync(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fsync(fd) != 0)
        log_warn("store: fsync of folder %s: %s", dir, strerror(errno));
    close(fd);
}

/* Creates the data folder if missing (one level) and proves it writable by creating or opening
 * the database file. */
static int dir_prepare(struct store *s, struct err *e)
{
    struct stat st;
    int fd = -1, ret = 0;
    if (mkdir(s->dir, 0750) == 0) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", s->dir);
        char *slash = strrchr(parent, '/');
        if (slash == parent)
            slash[1] = '\0';
        else if (slash != NULL)
            *slash = '\0';
        dir_sync(slash != NULL ? parent : ".");
    } else if (errno != EEXIST) {
        ret = err_set(e, ERR_IO, "cannot create data folder %s: %s", s->dir, strerror(errno));
        goto out;
    } else if (stat(s->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        ret = err_set(e, ERR_IO, "cannot use data folder %s: %s", s->dir,
                      strerror(errno == EEXIST ? ENOTDIR : errno));
        goto out;
    }
    fd = open(s->db_path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        ret = err_set(e, ERR_IO, "cannot write in data folder %s: %s", s->dir, strerror(errno));
        goto out;
    }
    dir_sync(s->dir);
out:
    if (fd >= 0)
        close(fd);
    return ret;
}

/* Applies each pending migration in a transaction of its own together with its meta row. */
static int migrate(struct store *s, struct err *e)
{
    struct conn *c = &s->w;
    size_t n = 0;
    const struct store__migration *m = store__migrations(&n);
    const int latest = store_schema_latest();
    int64_t cur = 0;
    int ret = 0, applied = 0;

    ret = conn_internal(c, STORE_MIGRATION_TABLE_SQL, e);
    if (ret == 0)
        ret = conn_run(c, 0, 1, "SELECT coalesce(max(version), 0) FROM store_migration", NULL, 0,
                       row_int_fn, &cur, NULL, e);
    if (ret != 0)
        goto out;
    if (cur > latest) {
        ret = err_set(e, ERR_INVALID, "database schema %lld is newer than this cityos (knows %d)",
                      (long long)cur, latest);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t present = 0;
        char *msg = NULL;
        if (m[i].version <= cur)
            continue;
        ret = conn_internal(c, "BEGIN IMMEDIATE", e);
        if (ret != 0)
            goto out;
        /* another process may have applied it since we looked: check inside the transaction */
        struct store_value v = STORE_INT_V(m[i].version);
        ret = conn_run(c, 0, 1, "SELECT count(*) FROM store_migration WHERE version = ?", &v, 1,
                       row_int_fn, &present, NULL, e);
        if (ret == 0 && present == 0) {
            int rc = sqlite3_exec(c->db, m[i].sql, NULL, NULL, &msg);
            if (rc != SQLITE_OK)
                ret = err_set(e, ERR_INTERNAL, "migration %d (%s) failed: %s", m[i].version,
                              m[i].name, msg != NULL ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
        }
        if (ret == 0 && present == 0) {
            struct store_value row[3] = {STORE_INT_V(m[i].version), STORE_TEXT_V(m[i].name),
                                         STORE_INT_V(clock_now_ms())};
            ret = conn_run(c, 0, 0,
                           "INSERT INTO store_migration (version, name, applied_ms) "
                           "VALUES (?, ?, ?)",
                           row, 3, NULL, NULL, NULL, e);
        }
        if (ret == 0)
            ret = conn_internal(c, "COMMIT", e);
        if (ret != 0) {
            struct err ignored;
            if (!sqlite3_get_autocommit(c->db))
                conn_internal(c, "ROLLBACK", &ignored);
            goto out;
        }
        if (present == 0) {
            applied++;
            log_info("store: applied migration %d (%s)", m[i].version, m[i].name);
        }
    }
    cur = 0;
    ret = conn_run(c, 0, 1, "SELECT coalesce(max(version), 0) FROM store_migration", NULL, 0,
                   row_int_fn, &cur, NULL, e);
    s->schema_version = (int)cur;
out:
    if (ret == 0 && applied > 0)
        log_info("store: schema now at version %d", s->schema_version);
    return ret;
}

static int writer_open(struct store *s, struct err *e)
{
    char mode[16];
    int ret = conn_open(&s->w, s->db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, e);
    if (ret != 0)
        goto out;
    ret = conn_exec(&s->w, "PRAGMA journal_mode=WAL", mode, sizeof mode, e);
    if (ret == 0 && strcmp(mode, "wal") != 0)
        ret = err_set(e, ERR_IO, "cannot switch %s to WAL mode (got %s)", s->db_path, mode);
    if (ret == 0)
        ret = conn_exec(&s->w, "PRAGMA synchronous=FULL", NULL, 0, e);
    if (ret == 0)
        ret = conn_exec(&s->w, "PRAGMA foreign_keys=ON", NULL, 0, e);
    if (ret == 0)
        ret = conn_exec(&s->w, "PRAGMA journal_size_limit=" JOURNAL_SIZE_LIMIT, NULL, 0, e);
    /* the writer's page cache: a batch of FHIR writes touches many index pages at random ids,
     * and SQLite's default 2 MiB made it spill (write) pages in the middle of a transaction */
    if (ret == 0)
        ret = conn_exec(&s->w, "PRAGMA cache_size=" WRITER_CACHE_KIB, NULL, 0, e);
    /* each write runs in a savepoint, and SQLite copies every page a savepoint touches first
     * into a statement journal, which spills to a temporary file beyond 64 KiB: an Observation
     * with its index rows touches ~70 pages, so every write did ~100 pwrite()s to /var/tmp.
     * In memory the journal is a memcpy (and it is discarded at each RELEASE anyway). */
    if (ret == 0)
        ret = conn_exec(&s->w, "PRAGMA temp_store=MEMORY", NULL, 0, e);
    if (ret != 0)
        goto out;
    /* replaces SQLite's auto-checkpoint, which would run inside COMMIT and delay acks */
    sqlite3_wal_hook(s->w.db, wal_hook, s);
out:
    return ret;
}

int store_open(struct store **out, const struct store_options *opt, struct err *e)
{
    struct store *s = NULL;
    int ret = 0;
    *out = NULL;
    if (opt == NULL || opt->data_dir == NULL || opt->data_dir[0] == '\0')
        return err_set(e, ERR_INVALID, "store_open needs a data folder");
    if (strlen(opt->data_dir) > PATH_MAX - sizeof "/" DB_FILE "-journal")
        return err_set(e, ERR_INVALID, "data folder path too long");
    if (!sqlite3_threadsafe())
        return err_set(e, ERR_INTERNAL, "the SQLite library was built without thread support");

    s = calloc(1, sizeof *s);
    if (s == NULL)
        return err_set(e, ERR_NOMEM, "out of memory opening the store");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    histogram_init(&s->m.batch_size, histogram_batch_bounds, histogram_batch_nbounds);
    histogram_init(&s->m.commit_seconds, histogram_latency_bounds, histogram_latency_nbounds);
    atomic_init(&s->m.writes_ok, 0);
    atomic_init(&s->m.writes_failed, 0);
    s->batch_max = opt->batch_max <= 0            ? BATCH_DEFAULT
                   : opt->batch_max > BATCH_LIMIT ? BATCH_LIMIT
                                                  : opt->batch_max;
    size_t dlen = strlen(opt->data_dir);
    while (dlen > 1 && opt->data_dir[dlen - 1] == '/')
        dlen--;
    s->gctx = malloc((size_t)s->batch_max * sizeof *s->gctx);
    s->dir = strndup(opt->data_dir, dlen);
    s->db_path = malloc(dlen + sizeof "/" DB_FILE);
    if (s->dir == NULL || s->db_path == NULL || s->gctx == NULL) {
        ret = err_set(e, ERR_NOMEM, "out of memory opening the store");
        goto out;
    }
    snprintf(s->db_path, dlen + sizeof "/" DB_FILE, "%s/" DB_FILE, s->dir);

    ret = dir_prepare(s, e);
    if (ret != 0)
        goto out;
    ret = writer_open(s, e);
    if (ret == 0)
        ret = migrate(s, e);
    if (ret != 0) {
        if (e != NULL && strstr(e->msg, s->db_path) == NULL) { /* say which database */
            char why[sizeof e->msg];
            memcpy(why, e->msg, sizeof why);
            err_set(e, ret, "%s: %s", s->db_path, why);
        }
        goto out;
    }
    if (pthread_key_create(&s->rkey, reader_destructor) != 0) {
        ret = err_set(e, ERR_INTERNAL, "cannot create a thread key for read connections");
        goto out;
    }
    s->rkey_created = 1;
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        ret = err_set(e, ERR_INTERNAL, "cannot start the writer thread");
        goto out;
    }
    s->writer_started = 1;
    log_info("store: opened %s (schema %d)", s->db_path, s->schema_version);
    *out = s;
    s = NULL;
out:
    store_close(s);
    return ret;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    if (s->writer_started) {
        pthread_mutex_lock(&s->mu);
        s->closing = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->writer, NULL); /* the writer drains the queue first */
    }
    if (s->rkey_created)
        pthread_key_delete(s->rkey); /* no destructor runs for this store after this */
    pthread_mutex_lock(&s->rmu);
    while (s->readers != NULL) {
        struct reader *r = s->readers;
        s->readers = r->next;
        reader_free(r);
    }
    pthread_mutex_unlock(&s->rmu);
    conn_close(&s->w); /* the last connection: SQLite checkpoints and removes the WAL */
    if (s->writer_started)
        log_info("store: closed %s", s->db_path);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->gctx);
    free(s->db_path);
    free(s->dir);
    free(s);
}

int store_schema_version(struct store *s)
{
    return s != NULL ? s->schema_version : 0;
}

const struct store_metrics *store_metrics(struct store *s)
{
    return &s->m;
}

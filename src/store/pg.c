/* pg.c - the PostgreSQL backend of store.h, on libpq: a bounded pool of read connections, one
 * writer connection on a writer thread that commits queued writes in batches (group commit,
 * synchronous_commit on; one batch at a time across the processes sharing the database), the
 * numbered migrations of migrations.c, per-connection caches of server-side prepared statements,
 * and the dialect layer that turns store.h's portable SQL
 * (`?` placeholders) into PostgreSQL's ($1, $2, ...). docs/internals/store-pg.md. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/utf8.h"
#include "store/backend.h"
#include "store/migrations.h"

#define BATCH_DEFAULT      256
#define BATCH_LIMIT        65536
#define QUEUE_MAX          100000 /* queued writes before store_write_async says unavailable */
#define POOL_MAX           16     /* read connections per store, opened on demand */
#define STMT_CACHE_MAX     256    /* prepared statements kept per connection */
#define STMT_CACHE_BUCKETS 512    /* hash buckets of the statement cache (power of two) */
#define SQL_MAX_BYTES      ((size_t)256 * 1024) /* longest SQL text accepted */
#define PARAMS_MAX         65535                /* PostgreSQL's limit on bind parameters */
#define SQL_SHOWN          60                   /* characters of SQL quoted in error messages */
#define MIGRATION_LOCK     7370364402LL /* pg_advisory_xact_lock key: one migrator at a time */
#define WRITER_LOCK        "7370364403" /* pg_advisory_xact_lock key: one writing batch at a time */

/* type OIDs (src/include/catalog/pg_type.dat; stable across versions) */
#define OID_UNKNOWN 0
#define OID_BOOL    16
#define OID_BYTEA   17
#define OID_INT8    20
#define OID_TEXT    25

/* One cached server-side prepared statement, in a hash bucket chain and in the LRU list. */
struct pstmt {
    struct pstmt *hnext;
    struct pstmt *lru_prev, *lru_next;
    uint64_t hash;
    char name[24];   /* "cs<n>" on this connection */
    int nparams;     /* `?` count of the portable text */
    uint64_t tmask;  /* which of the first 64 parameters were prepared as int8 (the rest unknown) */
    uint64_t txmask; /* which were prepared as text because PostgreSQL could not infer them */
    size_t len;      /* strlen(sql) */
    char sql[];      /* the key: the portable text */
};

/* A connection and its statement cache. Used by one thread at a time. */
struct pconn {
    PGconn *pg;
    struct pstmt *buckets[STMT_CACHE_BUCKETS];
    struct pstmt *lru_head, *lru_tail;
    int nstmts;
    unsigned next_id;
    struct pconn *next_free; /* in the pool's free list */
};

/* One queued write. */
struct job {
    struct job *next;
    store_write_fn fn;
    void *ctx;
    store_done_fn done;
    void *done_ctx;
    int status;
    struct err err;
};

struct store {
    char *url;
    int batch_max;
    int schema_version;

    struct pconn w;   /* the write connection: owned by the writer thread once it runs */
    pthread_t writer; /* the writer thread */
    int writer_started;

    pthread_mutex_t mu; /* guards the queue and closing */
    pthread_cond_t cv;  /* signalled when the queue becomes non-empty or closing is set */
    struct job *head, *tail;
    size_t queued;
    int closing;

    pthread_mutex_t pmu; /* guards the pool */
    pthread_cond_t pcv;  /* signalled when a connection returns to the pool */
    struct pconn *free_list;
    struct pconn *all[POOL_MAX];
    int nconns;

    struct store_metrics m;
};

struct store_tx {
    struct store *s;
    struct pconn *c;
    unsigned sp; /* statement savepoints taken (names) */
};

struct store_row {
    const PGresult *res;
    int row;
    int ncols;
    unsigned char **blobs; /* bytea columns decoded on demand (freed after the callback) */
    size_t *blob_lens;
};

/* The store whose writer runs on this thread, if any: catches a write waiting for itself. */
static _Thread_local struct store *tls_writer;

/* ---- errors ---- */

/* SQLSTATE classes to our codes (https://www.postgresql.org/docs/15/errcodes-appendix.html). */
static int code_of_state(const char *st)
{
    if (st == NULL || strlen(st) != 5)
        return ERR_IO;             /* no SQLSTATE: the connection failed */
    if (strncmp(st, "23", 2) == 0) /* integrity constraint violation */
        return ERR_CONFLICT;
    if (strcmp(st, "25006") == 0) /* read-only transaction: a write through store_query */
        return ERR_INVALID;
    if (strcmp(st, "54000") == 0 || strcmp(st, "54001") == 0 || strcmp(st, "22001") == 0)
        return ERR_TOOBIG;
    if (strcmp(st, "53200") == 0) /* out of memory */
        return ERR_NOMEM;
    if (strncmp(st, "22", 2) == 0) /* data exception: bad value, invalid text, ... */
        return ERR_INVALID;
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 || strncmp(st, "57", 2) == 0 ||
        strncmp(st, "58", 2) == 0 || strncmp(st, "40", 2) == 0 || strncmp(st, "XX", 2) == 0)
        return ERR_IO;   /* connection, resources, operator intervention, system, rollback */
    return ERR_INTERNAL; /* syntax, undefined objects, ...: a bug in our SQL */
}

/* Turns a failed result (or a connection failure when res is NULL) into our code, once. */
static int res_fail(struct pconn *c, const PGresult *res, const char *what, const char *sql,
                    struct err *e)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
    if (msg == NULL || msg[0] == '\0')
        msg = c->pg != NULL ? PQerrorMessage(c->pg) : "no connection";
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return err_set(e, code_of_state(state), "%s: %.*s (sqlstate %s): \"%.*s\"", what, (int)n, msg,
                   state != NULL ? state : "none", SQL_SHOWN, sql != NULL ? sql : "");
}

/* ---- the dialect layer ---- */

/* Rewrites portable SQL for PostgreSQL: each `?` outside string literals, quoted identifiers and
 * comments becomes $1, $2, ... in order. out is malloc'd; *nparams receives the count. Returns 0,
 * ERR_NOMEM, or ERR_INVALID for an unterminated literal or more than PARAMS_MAX placeholders. */
static int dialect_translate(const char *sql, size_t len, char **out, int *nparams, struct err *e)
{
    size_t q = 0;
    for (size_t i = 0; i < len; i++)
        q += sql[i] == '?';
    if (q > PARAMS_MAX)
        return err_set(e, ERR_INVALID, "more than %d placeholders", PARAMS_MAX);
    char *o = malloc(len + q * 5 + 1); /* "?" -> "$65535" at most */
    if (o == NULL)
        return err_set(e, ERR_NOMEM, "out of memory translating SQL");
    size_t k = 0;
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = sql[i];
        if (ch == '\'' || ch == '"') { /* copy a literal or quoted identifier whole */
            size_t j = i + 1;
            for (; j < len; j++) {
                if (sql[j] == ch) {
                    if (j + 1 < len && sql[j + 1] == ch) { /* doubled quote */
                        j++;
                        continue;
                    }
                    break;
                }
            }
            if (j >= len) {
                free(o);
                return err_set(e, ERR_INVALID, "unterminated quote in SQL: \"%.*s\"", SQL_SHOWN,
                               sql);
            }
            memcpy(o + k, sql + i, j - i + 1);
            k += j - i + 1;
            i = j;
        } else if (ch == '-' && i + 1 < len && sql[i + 1] == '-') { /* comment to end of line */
            size_t j = i;
            while (j < len && sql[j] != '\n')
                j++;
            memcpy(o + k, sql + i, j - i);
            k += j - i;
            i = j - 1;
        } else if (ch == '/' && i + 1 < len && sql[i + 1] == '*') {
            const char *end = strstr(sql + i + 2, "*/");
            size_t j = end != NULL ? (size_t)(end - sql) + 2 : len;
            memcpy(o + k, sql + i, j - i);
            k += j - i;
            i = j - 1;
        } else if (ch == '?') {
            k += (size_t)snprintf(o + k, 7, "$%d", ++n);
        } else {
            o[k++] = ch;
        }
    }
    o[k] = '\0';
    *out = o;
    *nparams = n;
    return 0;
}

/* The first keyword of sql, upper-cased into kw (at most size-1 letters). */
static void first_keyword(const char *sql, char *kw, size_t size)
{
    size_t i = 0, k = 0;
    for (;;) { /* skip blanks, ( and comments */
        while (sql[i] != '\0' && (isspace((unsigned char)sql[i]) || sql[i] == '('))
            i++;
        if (sql[i] == '-' && sql[i + 1] == '-') {
            while (sql[i] != '\0' && sql[i] != '\n')
                i++;
        } else if (sql[i] == '/' && sql[i + 1] == '*') {
            const char *end = strstr(sql + i + 2, "*/");
            i = end != NULL ? (size_t)(end - sql) + 2 : strlen(sql);
        } else {
            break;
        }
    }
    while (k + 1 < size && isalpha((unsigned char)sql[i]))
        kw[k++] = (char)toupper((unsigned char)sql[i++]);
    kw[k] = '\0';
}

/* Statements that arrive through store.h may not control transactions or change the
 * connection's settings: the store owns those (SQLite's authorizer does the same there). */
static int user_sql_allowed(const char *sql, int readonly, struct err *e)
{
    static const char *const refused[] = {
        "BEGIN",   "START",   "COMMIT",     "END",    "ROLLBACK",   "ABORT",  "SAVEPOINT",
        "RELEASE", "PREPARE", "DEALLOCATE", "SET",    "RESET",      "LISTEN", "NOTIFY",
        "COPY",    "VACUUM",  "DISCARD",    "LOCK",   "CHECKPOINT", "ATTACH", "DETACH",
        "PRAGMA",  "DO",      "CALL",       "EXECUTE"};
    char kw[16];
    first_keyword(sql, kw, sizeof kw);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (strcmp(kw, refused[i]) == 0)
            return err_set(e, ERR_INVALID, "statement not allowed through the store: \"%.*s\"",
                           SQL_SHOWN, sql);
    }
    if (readonly && strcmp(kw, "SELECT") != 0 && strcmp(kw, "WITH") != 0 &&
        strcmp(kw, "VALUES") != 0)
        return err_set(e, ERR_INVALID, "not a read-only statement: \"%.*s\"", SQL_SHOWN, sql);
    return 0;
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

static void lru_unlink(struct pconn *c, struct pstmt *p)
{
    if (p->lru_prev != NULL)
        p->lru_prev->lru_next = p->lru_next;
    else
        c->lru_head = p->lru_next;
    if (p->lru_next != NULL)
        p->lru_next->lru_prev = p->lru_prev;
    else
        c->lru_tail = p->lru_prev;
    p->lru_prev = p->lru_next = NULL;
}

static void lru_push_front(struct pconn *c, struct pstmt *p)
{
    p->lru_prev = NULL;
    p->lru_next = c->lru_head;
    if (c->lru_head != NULL)
        c->lru_head->lru_prev = p;
    c->lru_head = p;
    if (c->lru_tail == NULL)
        c->lru_tail = p;
}

/* Removes p from the cache; deallocates it on the server when dealloc (and the link is up). */
static void cache_evict(struct pconn *c, struct pstmt *p, int dealloc)
{
    struct pstmt **pp = &c->buckets[p->hash & (STMT_CACHE_BUCKETS - 1)];
    while (*pp != NULL && *pp != p)
        pp = &(*pp)->hnext;
    if (*pp == p)
        *pp = p->hnext;
    lru_unlink(c, p);
    if (dealloc && c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK &&
        PQtransactionStatus(c->pg) != PQTRANS_INERROR) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", p->name);
        PQclear(PQexec(c->pg, sql));
    }
    free(p);
    c->nstmts--;
}

static void cache_clear(struct pconn *c)
{
    while (c->lru_head != NULL)
        cache_evict(c, c->lru_head, 0);
}

/* Prepares translated text under name with the types of params (see stmt_get). */
static PGresult *prepare_typed(struct pconn *c, const char *name, const char *pgsql, int n,
                               const struct store_value *params, size_t nparams, int text_unknown)
{
    Oid types[64];
    int nt = n < 64 ? n : 64;
    for (int i = 0; i < nt; i++) {
        types[i] = OID_UNKNOWN;
        if ((size_t)i < nparams && params[i].type == STORE_INT)
            types[i] = OID_INT8;
        else if ((size_t)i < nparams && params[i].type == STORE_BLOB && params[i].p != NULL)
            types[i] = OID_BYTEA;
        else if (text_unknown)
            types[i] = OID_TEXT;
    }
    return PQprepare(c->pg, name, pgsql, nt, nt > 0 ? types : NULL);
}

/* Finds sql's prepared statement on c, or translates and prepares it. Parameters are typed from
 * the first call's values: integers int8, blobs bytea, text and NULL left to PostgreSQL to infer
 * from their place; when it cannot (`? IS NULL`), text. */
static int stmt_get(struct pconn *c, const char *sql, const struct store_value *params,
                    size_t nparams, struct pstmt **out, struct err *e)
{
    size_t len = strnlen(sql, SQL_MAX_BYTES + 1);
    if (len > SQL_MAX_BYTES)
        return err_set(e, ERR_TOOBIG, "SQL text longer than %zu bytes", SQL_MAX_BYTES);
    uint64_t h = sql_hash(sql, len);
    struct pstmt *p = c->buckets[h & (STMT_CACHE_BUCKETS - 1)];
    for (; p != NULL; p = p->hnext) {
        if (p->hash == h && p->len == len && memcmp(p->sql, sql, len) == 0) {
            lru_unlink(c, p);
            lru_push_front(c, p);
            *out = p;
            return 0;
        }
    }
    char *pgsql = NULL;
    int n = 0;
    int ret = dialect_translate(sql, len, &pgsql, &n, e);
    if (ret != 0)
        return ret;
    if (c->nstmts >= STMT_CACHE_MAX && c->lru_tail != NULL)
        cache_evict(c, c->lru_tail, 1);
    p = calloc(1, sizeof *p + len + 1);
    if (p == NULL) {
        free(pgsql);
        return err_set(e, ERR_NOMEM, "out of memory preparing a statement");
    }
    snprintf(p->name, sizeof p->name, "cs%u", c->next_id++);
    p->hash = h;
    p->nparams = n;
    p->len = len;
    memcpy(p->sql, sql, len + 1);
    /* inside the writer's transaction, preparing happens in a savepoint of its own */
    int in_tx = PQtransactionStatus(c->pg) == PQTRANS_INTRANS;
    if (in_tx)
        PQclear(PQexec(c->pg, "SAVEPOINT prep"));
    PGresult *res = prepare_typed(c, p->name, pgsql, n, params, nparams, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        /* 42P18: could not determine the type of a parameter; 42P08: ambiguous. Retry with
         * every text and NULL typed as text */
        if (st != NULL && (strcmp(st, "42P18") == 0 || strcmp(st, "42P08") == 0)) {
            PQclear(res);
            if (in_tx)
                PQclear(PQexec(c->pg, "ROLLBACK TO SAVEPOINT prep"));
            res = prepare_typed(c, p->name, pgsql, n, params, nparams, 1);
        }
    }
    if (in_tx) { /* a failed prepare must not abort the write's transaction */
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            PQclear(PQexec(c->pg, "ROLLBACK TO SAVEPOINT prep"));
        PQclear(PQexec(c->pg, "RELEASE SAVEPOINT prep"));
    }
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (st != NULL && strcmp(st, "42601") == 0 &&
            strstr(PQresultErrorMessage(res), "multiple commands") != NULL)
            ret = err_set(e, ERR_INVALID, "one SQL statement per call: \"%.*s\"", SQL_SHOWN, sql);
        else
            ret = res_fail(c, res, "prepare", sql, e);
        PQclear(res);
        free(pgsql);
        free(p);
        return ret;
    }
    PQclear(res);
    free(pgsql);
    for (int i = 0; i < n && i < 64; i++) {
        if ((size_t)i < nparams && params[i].type == STORE_INT)
            p->tmask |= 1ull << i;
    }
    struct pstmt **bucket = &c->buckets[h & (STMT_CACHE_BUCKETS - 1)];
    p->hnext = *bucket;
    *bucket = p;
    lru_push_front(c, p);
    c->nstmts++;
    *out = p;
    return 0;
}

/* ---- connections ---- */

static void pconn_close(struct pconn *c)
{
    cache_clear(c);
    if (c->pg != NULL)
        PQfinish(c->pg);
    c->pg = NULL;
}

/* Runs one internal statement (no parameters, no rows wanted) through the simple protocol. */
static int pconn_exec(struct pconn *c, const char *sql, struct err *e)
{
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int ret = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        ret = res_fail(c, res, "exec", sql, e);
    PQclear(res);
    return ret;
}

/* The server's notices ("relation ... already exists, skipping") go to the debug log. */
static void notice_quiet(void *arg, const char *message)
{
    (void)arg;
    size_t n = strcspn(message, "\n");
    log_debug("store: PostgreSQL says: %.*s", (int)n, message);
}

/* Opens a connection to url with the settings every connection shares: UTF-8, UTC, and
 * read_only for readers. */
static int pconn_open(struct pconn *c, const char *url, int readonly, struct err *e)
{
    memset(c, 0, sizeof *c);
    c->pg = PQconnectdb(url);
    if (c->pg == NULL)
        return err_set(e, ERR_NOMEM, "out of memory connecting to PostgreSQL");
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c->pg));
        msg[strcspn(msg, "\n")] = '\0';
        pconn_close(c);
        return err_set(e, ERR_IO, "cannot connect to PostgreSQL: %s", msg);
    }
    PQsetNoticeProcessor(c->pg, notice_quiet, NULL);
    int ret = pconn_exec(c, "SET client_encoding = 'UTF8'", e);
    if (ret == 0)
        ret = pconn_exec(c, "SET TIME ZONE 'UTC'", e);
    /* the promise of store_write: acknowledged means flushed to disk (whatever the server's
     * default); and readers can never write */
    if (ret == 0)
        ret = pconn_exec(
            c, readonly ? "SET default_transaction_read_only = on" : "SET synchronous_commit = on",
            e);
    if (ret != 0)
        pconn_close(c);
    return ret;
}

/* Converts params to libpq's text (or, for bytea, binary) form. vals/lens/fmts have n slots;
 * numbers are formatted into nums (21 bytes each). */
static int params_convert(const struct pstmt *p, const struct store_value *params, size_t nparams,
                          const char **vals, int *lens, int *fmts, char (*nums)[24], char **copies,
                          struct err *e)
{
    if (nparams != (size_t)p->nparams)
        return err_set(e, ERR_INVALID, "statement has %d placeholders, %zu values given: \"%.*s\"",
                       p->nparams, nparams, SQL_SHOWN, p->sql);
    if (nparams > 0 && params == NULL)
        return err_set(e, ERR_INVALID, "no values given for %zu placeholders", nparams);
    for (size_t i = 0; i < nparams; i++) {
        const struct store_value *v = &params[i];
        size_t len = v->len;
        vals[i] = NULL;
        lens[i] = 0;
        fmts[i] = 0;
        copies[i] = NULL;
        if ((v->type == STORE_TEXT || v->type == STORE_BLOB) && v->p == NULL) {
            if (len != 0 && len != SIZE_MAX)
                return err_set(e, ERR_INVALID, "value %zu: NULL pointer with length %zu", i + 1,
                               len);
        } else if (v->type == STORE_NULL) {
            /* NULL */
        } else if (v->type == STORE_INT) {
            snprintf(nums[i], sizeof nums[i], "%" PRId64, v->i);
            vals[i] = nums[i];
        } else if (v->type == STORE_TEXT) {
            if (len == SIZE_MAX)
                len = strlen(v->p);
            if (!utf8_valid(v->p, len))
                return err_set(e, ERR_INVALID, "value %zu: text is not valid UTF-8 (or holds NUL)",
                               i + 1);
            if (len > INT_MAX)
                return err_set(e, ERR_TOOBIG, "value %zu: text too long", i + 1);
            /* the text format wants a NUL-terminated string: a length-bounded text is copied */
            if (v->len == SIZE_MAX) {
                vals[i] = v->p;
            } else {
                char *copy = malloc(len + 1);
                if (copy == NULL)
                    return err_set(e, ERR_NOMEM, "out of memory binding value %zu", i + 1);
                memcpy(copy, v->p, len);
                copy[len] = '\0';
                copies[i] = copy;
                vals[i] = copy;
            }
            lens[i] = (int)len;
        } else if (v->type == STORE_BLOB) {
            if (len > INT_MAX)
                return err_set(e, ERR_TOOBIG, "value %zu: blob too long", i + 1);
            vals[i] = v->p;
            lens[i] = (int)len;
            fmts[i] = 1;
        } else {
            return err_set(e, ERR_INVALID, "value %zu: unknown type %d", i + 1, (int)v->type);
        }
    }
    return 0;
}

/* Runs the prepared statement `name` between "SAVEPOINT st" and "RELEASE SAVEPOINT st" in one
 * round trip (libpq's pipeline mode) instead of three. Returns the statement's result (the
 * caller PQclear()s it), or, if the savepoint failed, that failure's result; NULL if the pipeline
 * could not be used at all (the connection). After a failure the transaction is in error and the
 * caller rolls back to the savepoint. The results are a few bytes each, so writing the three
 * before reading cannot block on a full socket in either direction. */
static PGresult *exec_in_savepoint(PGconn *pg, const char *name, int n, const char *const *vals,
                                   const int *lens, const int *fmts)
{
    if (PQenterPipelineMode(pg) != 1)
        return NULL;
    int sent = PQsendQueryParams(pg, "SAVEPOINT st", 0, NULL, NULL, NULL, NULL, 0) == 1 &&
               PQsendQueryPrepared(pg, name, n, vals, lens, fmts, 0) == 1 &&
               PQsendQueryParams(pg, "RELEASE SAVEPOINT st", 0, NULL, NULL, NULL, NULL, 0) == 1;
    int synced = PQpipelineSync(pg) == 1;
    PGresult *stmt = NULL, *failed = NULL;
    /* each query's results end with a NULL; then comes the sync's own result. A lost
     * connection ends the loop: at most one NULL more than the queries sent */
    for (int ended = 0; synced && ended <= 3;) {
        PGresult *r = PQgetResult(pg);
        if (r == NULL) {
            ended++;
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (ended == 1 && stmt == NULL)
            stmt = r;
        else if (failed == NULL && st != PGRES_COMMAND_OK && st != PGRES_PIPELINE_ABORTED)
            failed = r; /* the savepoint (or its release) failed */
        else
            PQclear(r);
    }
    if (PQexitPipelineMode(pg) != 1 || !sent) {
        PQclear(stmt);
        PQclear(failed);
        return NULL;
    }
    if (failed != NULL && (stmt == NULL || PQresultStatus(stmt) == PGRES_PIPELINE_ABORTED)) {
        PQclear(stmt);
        return failed;
    }
    PQclear(failed);
    return stmt;
}

/* Prepares (or reuses), binds and executes one statement on c, in a savepoint of its own when
 * `savepoint` is set (a write's statement). *out receives the result (the caller PQclear()s it)
 * or NULL on failure. */
static int pconn_run(struct pconn *c, const char *sql, const struct store_value *params,
                     size_t nparams, int savepoint, PGresult **out, struct err *e)
{
    struct pstmt *p = NULL;
    *out = NULL;
    if (sql == NULL)
        return err_set(e, ERR_INVALID, "no SQL given");
    if (c->pg == NULL)
        return err_set(e, ERR_IO, "no connection to PostgreSQL");
    int ret = stmt_get(c, sql, params, nparams, &p, e);
    if (ret != 0)
        return ret;
    size_t n = nparams;
    const char *vals_s[16];
    int lens_s[16], fmts_s[16];
    char nums_s[16][24];
    char *copies_s[16] = {0};
    const char **vals = vals_s;
    int *lens = lens_s, *fmts = fmts_s;
    char(*nums)[24] = nums_s;
    char **copies = copies_s;
    if (n > 16) {
        vals = malloc(n * sizeof *vals);
        lens = malloc(n * sizeof *lens);
        fmts = malloc(n * sizeof *fmts);
        nums = malloc(n * sizeof *nums);
        copies = calloc(n, sizeof *copies);
        if (vals == NULL || lens == NULL || fmts == NULL || nums == NULL || copies == NULL) {
            ret = err_set(e, ERR_NOMEM, "out of memory binding %zu values", n);
            goto out;
        }
    }
    ret = params_convert(p, params, nparams, vals, lens, fmts, nums, copies, e);
    if (ret != 0)
        goto out;
    PGresult *res = savepoint ? exec_in_savepoint(c->pg, p->name, (int)n, vals, lens, fmts)
                              : PQexecPrepared(c->pg, p->name, (int)n, vals, lens, fmts, 0);
    if (res == NULL) {
        ret = err_set(e, ERR_IO, "PostgreSQL: %s", PQerrorMessage(c->pg));
        goto out;
    }
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        ret = res_fail(c, res, "exec", sql, e);
        /* a statement the server no longer knows (a reconnect, DISCARD): forget it */
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state != NULL && strcmp(state, "26000") == 0)
            cache_evict(c, p, 0);
        PQclear(res);
        goto out;
    }
    *out = res;
out:
    for (size_t i = 0; copies != NULL && i < n; i++)
        free(copies[i]);
    if (vals != vals_s) {
        free(vals);
        free(lens);
        free(fmts);
        free(nums);
        free(copies);
    }
    return ret;
}

/* Calls fn for each row of res. */
static void rows_deliver(const PGresult *res, store_row_fn fn, void *ctx)
{
    if (fn == NULL)
        return;
    int nrows = PQntuples(res);
    struct store_row row = {.res = res, .ncols = PQnfields(res)};
    for (int i = 0; i < nrows; i++) {
        row.row = i;
        int stop = fn(&row, ctx);
        if (row.blobs != NULL) {
            for (int k = 0; k < row.ncols; k++) {
                PQfreemem(row.blobs[k]);
                row.blobs[k] = NULL;
            }
        }
        if (stop)
            break;
    }
    free(row.blobs);
    free(row.blob_lens);
}

/* ---- rows ---- */

static int pg_row_columns(const struct store_row *r)
{
    return r->ncols;
}

static int pg_row_is_null(const struct store_row *r, int col)
{
    if (col < 0 || col >= r->ncols)
        return 1;
    return PQgetisnull(r->res, r->row, col);
}

static int64_t pg_row_int(const struct store_row *r, int col)
{
    if (pg_row_is_null(r, col))
        return 0;
    const char *t = PQgetvalue(r->res, r->row, col);
    if (PQftype(r->res, col) == OID_BOOL)
        return t[0] == 't';
    char *end = NULL;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (end != NULL && (*end == '.' || *end == 'e' || *end == 'E')) { /* a real, as SQLite */
        double d = strtod(t, NULL);
        if (d >= 9.2e18)
            return INT64_MAX;
        if (d <= -9.2e18)
            return INT64_MIN;
        return (int64_t)d;
    }
    return (int64_t)v;
}

static const char *pg_row_text(const struct store_row *r, int col, size_t *len)
{
    const char *t = NULL;
    size_t n = 0;
    if (!pg_row_is_null(r, col)) {
        t = PQgetvalue(r->res, r->row, col);
        n = (size_t)PQgetlength(r->res, r->row, col);
        if (PQftype(r->res, col) == OID_BOOL) { /* SQLite has no booleans: 1 and 0 */
            t = t[0] == 't' ? "1" : "0";
            n = 1;
        }
    }
    if (len != NULL)
        *len = n;
    return t;
}

static const void *pg_row_blob(const struct store_row *r, int col, size_t *len)
{
    static const unsigned char empty[1];
    const void *b = NULL;
    size_t n = 0;
    if (!pg_row_is_null(r, col)) {
        if (PQftype(r->res, col) != OID_BYTEA) {
            b = PQgetvalue(r->res, r->row, col);
            n = (size_t)PQgetlength(r->res, r->row, col);
        } else {
            struct store_row *w = (struct store_row *)r; /* the decoded cache is ours */
            if (w->blobs == NULL) {
                w->blobs = calloc((size_t)r->ncols, sizeof *w->blobs);
                w->blob_lens = calloc((size_t)r->ncols, sizeof *w->blob_lens);
                if (w->blobs == NULL || w->blob_lens == NULL) {
                    free(w->blobs);
                    free(w->blob_lens);
                    w->blobs = NULL;
                    w->blob_lens = NULL;
                }
            }
            if (w->blobs != NULL && w->blobs[col] == NULL)
                w->blobs[col] = PQunescapeBytea(
                    (const unsigned char *)PQgetvalue(r->res, r->row, col), &w->blob_lens[col]);
            if (w->blobs != NULL && w->blobs[col] != NULL) {
                b = w->blobs[col];
                n = w->blob_lens[col];
            }
        }
        if (b != NULL && n == 0)
            b = empty; /* an empty blob is not NULL */
    }
    if (len != NULL)
        *len = n;
    return b;
}

/* ---- reads: a bounded pool ---- */

/* Takes a read connection from the pool, opening one when none is free and fewer than POOL_MAX
 * exist, else waiting for one. */
static int pool_take(struct store *s, struct pconn **out, struct err *e)
{
    pthread_mutex_lock(&s->pmu);
    for (;;) {
        if (s->free_list != NULL) {
            *out = s->free_list;
            s->free_list = (*out)->next_free;
            pthread_mutex_unlock(&s->pmu);
            return 0;
        }
        if (s->nconns < POOL_MAX)
            break;
        pthread_cond_wait(&s->pcv, &s->pmu);
    }
    struct pconn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        pthread_mutex_unlock(&s->pmu);
        return err_set(e, ERR_NOMEM, "out of memory opening a read connection");
    }
    int slot = 0;
    while (s->all[slot] != NULL) /* a free slot exists: nconns < POOL_MAX */
        slot++;
    s->all[slot] = c; /* reserved; connect outside the lock */
    s->nconns++;
    pthread_mutex_unlock(&s->pmu);
    int ret = pconn_open(c, s->url, 1, e);
    if (ret != 0) {
        pthread_mutex_lock(&s->pmu);
        s->all[slot] = NULL;
        s->nconns--;
        pthread_cond_signal(&s->pcv);
        pthread_mutex_unlock(&s->pmu);
        free(c);
        return ret;
    }
    *out = c;
    return 0;
}

static void pool_give(struct store *s, struct pconn *c)
{
    if (PQstatus(c->pg) != CONNECTION_OK) { /* reconnect on next use */
        cache_clear(c);
        PQreset(c->pg);
        if (PQstatus(c->pg) == CONNECTION_OK) {
            struct err ignored;
            pconn_exec(c, "SET client_encoding = 'UTF8'", &ignored);
            pconn_exec(c, "SET TIME ZONE 'UTC'", &ignored);
            pconn_exec(c, "SET default_transaction_read_only = on", &ignored);
        }
    }
    pthread_mutex_lock(&s->pmu);
    c->next_free = s->free_list;
    s->free_list = c;
    pthread_cond_signal(&s->pcv);
    pthread_mutex_unlock(&s->pmu);
}

static int pg_query(struct store *s, const char *sql, const struct store_value *params,
                    size_t nparams, store_row_fn fn, void *ctx, struct err *e)
{
    if (s == NULL)
        return err_set(e, ERR_INVALID, "no store");
    if (sql == NULL)
        return err_set(e, ERR_INVALID, "no SQL given");
    int ret = user_sql_allowed(sql, 1, e);
    if (ret != 0)
        return ret;
    struct pconn *c = NULL;
    ret = pool_take(s, &c, e);
    if (ret != 0)
        return ret;
    PGresult *res = NULL;
    ret = pconn_run(c, sql, params, nparams, 0, &res, e);
    pool_give(s, c); /* the whole result is here: callbacks may query again */
    if (ret == 0)
        rows_deliver(res, fn, ctx);
    PQclear(res);
    return ret;
}

/* ---- writes ---- */

/* Inside a write, each statement runs in a savepoint of its own, so that a failed statement
 * (a conflict the caller handles) undoes only itself, as in SQLite, instead of aborting the
 * whole PostgreSQL transaction. */
static int pg_tx_exec(struct store_tx *tx, const char *sql, const struct store_value *params,
                      size_t nparams, struct err *e)
{
    if (tx == NULL || tls_writer != tx->s)
        return err_set(e, ERR_INVALID, "store_tx_exec outside a write");
    if (sql == NULL)
        return err_set(e, ERR_INVALID, "no SQL given");
    int ret = user_sql_allowed(sql, 0, e);
    if (ret != 0)
        return ret;
    struct pconn *c = tx->c;
    PGresult *res = NULL;
    ret = pconn_run(c, sql, params, nparams, 1, &res, e);
    if (ret != 0) {
        /* the statement failed inside its savepoint: undo it alone (a failure before the
         * statement reached the server left the transaction as it was) */
        if (c->pg != NULL && PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
            struct err ignored;
            pconn_exec(c, "ROLLBACK TO SAVEPOINT st; RELEASE SAVEPOINT st", &ignored);
        }
        return ret;
    }
    const char *t = PQcmdTuples(res);
    long long changes = t != NULL && t[0] != '\0' ? strtoll(t, NULL, 10) : 0;
    PQclear(res);
    return changes > INT_MAX ? INT_MAX : (int)changes;
}

static int pg_tx_query(struct store_tx *tx, const char *sql, const struct store_value *params,
                       size_t nparams, store_row_fn fn, void *ctx, struct err *e)
{
    if (tx == NULL || tls_writer != tx->s)
        return err_set(e, ERR_INVALID, "store_tx_query outside a write");
    if (sql == NULL)
        return err_set(e, ERR_INVALID, "no SQL given");
    int ret = user_sql_allowed(sql, 1, e);
    if (ret != 0)
        return ret;
    PGresult *res = NULL;
    ret = pconn_run(tx->c, sql, params, nparams, 0, &res, e);
    if (ret == 0)
        rows_deliver(res, fn, ctx);
    PQclear(res);
    return ret;
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

static int write_async(struct store *s, store_write_fn fn, void *ctx, store_done_fn done,
                       void *done_ctx, struct err *e)
{
    if (s == NULL || fn == NULL)
        return err_set(e, ERR_INVALID, "store_write needs a store and a write function");
    struct job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return err_set(e, ERR_NOMEM, "out of memory queueing a write");
    j->fn = fn;
    j->ctx = ctx;
    j->done = done;
    j->done_ctx = done_ctx;
    int ret = enqueue(s, j, e);
    if (ret != 0)
        free(j);
    return ret;
}

static int pg_write_async(struct store *s, store_write_fn fn, void *ctx, store_done_fn done,
                          void *done_ctx)
{
    return write_async(s, fn, ctx, done, done_ctx, NULL);
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

static int pg_write(struct store *s, store_write_fn fn, void *ctx, struct err *e)
{
    struct waiter w = {.e = e};
    err_clear(e);
    if (s != NULL && tls_writer == s)
        return err_set(e, ERR_INVALID, "store_write inside a write would wait for itself");
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int ret = write_async(s, fn, ctx, waiter_done, &w, e);
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

/* Runs one write in its own savepoint. The job's own failure stays in j; the return value is a
 * failure of the whole batch (the connection is lost or the savepoint could not be handled). */
static int job_run(struct pconn *c, struct store_tx *tx, struct job *j, struct err *be)
{
    int ret = pconn_exec(c, "SAVEPOINT job", be);
    if (ret != 0)
        return ret;
    err_clear(&j->err);
    j->status = j->fn(tx, j->ctx, &j->err);
    if (PQstatus(c->pg) != CONNECTION_OK)
        return err_set(be, ERR_IO, "the connection to PostgreSQL was lost: %s",
                       j->err.msg[0] != '\0' ? j->err.msg : PQerrorMessage(c->pg));
    if (j->status == 0 && PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
        /* a failed statement the write ignored (a store_tx_query error) left the transaction
         * unusable: the write fails, as its changes cannot all be kept */
        j->status = j->err.code != 0 ? j->err.code : ERR_INTERNAL;
        if (j->err.msg[0] == '\0')
            err_set(&j->err, j->status, "the write ignored a failed statement");
    }
    if (j->status != 0) {
        if (j->err.msg[0] == '\0')
            err_set(&j->err, j->status, "the write failed (%s)", err_name(j->status));
        j->err.code = j->status;
        ret = pconn_exec(c, "ROLLBACK TO SAVEPOINT job", be);
    }
    if (ret == 0)
        ret = pconn_exec(c, "RELEASE SAVEPOINT job", be);
    return ret;
}

/* Re-establishes the writer's connection after it was lost, with its settings. */
static void writer_reconnect(struct store *s)
{
    struct pconn *c = &s->w;
    if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
        return;
    cache_clear(c);
    PQreset(c->pg);
    if (PQstatus(c->pg) == CONNECTION_OK) {
        struct err ignored;
        pconn_exec(c, "SET client_encoding = 'UTF8'", &ignored);
        pconn_exec(c, "SET TIME ZONE 'UTC'", &ignored);
        pconn_exec(c, "SET synchronous_commit = on", &ignored);
        log_info("store: reconnected the writer to PostgreSQL");
    }
}

/* Every batch of every process takes this lock first, in the same round trip as BEGIN, and
 * holds it until COMMIT: batches of several processes sharing the database run one at a time,
 * as SQLite's BEGIN IMMEDIATE makes them. Each statement after it sees everything committed
 * before (READ COMMITTED), so every check a write makes before it writes (a balance, a free
 * slot, a chain's head, the next number of a sequence, an idempotency key) holds across
 * processes exactly as it does inside one, with no deadlock and no retry: one lock, always
 * taken first (store-pg.md, "Several processes"). */
#define BATCH_BEGIN "BEGIN; SELECT pg_advisory_xact_lock(" WRITER_LOCK ")"

/* Runs one batch: BEGIN and the writers' lock, each job in its savepoint, COMMIT, and only then
 * the completions. A batch failure (BEGIN, a savepoint, COMMIT, the connection) fails every
 * job in it. */
static void batch_run(struct store *s, struct job *batch, size_t n)
{
    struct pconn *c = &s->w;
    struct store_tx tx = {.s = s, .c = c};
    struct err be = {0};
    writer_reconnect(s);
    int bst = pconn_exec(c, BATCH_BEGIN, &be);
    for (struct job *j = batch; bst == 0 && j != NULL; j = j->next)
        bst = job_run(c, &tx, j, &be);
    if (bst == 0) {
        uint64_t t0 = clock_mono_ns();
        bst = pconn_exec(c, "COMMIT", &be);
        if (bst == 0) {
            histogram_observe(&s->m.commit_seconds, (double)(clock_mono_ns() - t0) / 1e9);
            histogram_observe(&s->m.batch_size, (double)n);
        }
    }
    if (bst != 0) {
        log_warn("store: a batch of %zu writes failed: %s", n, be.msg);
        if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
            struct err ignored;
            pconn_exec(c, "ROLLBACK", &ignored);
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
    }
    tls_writer = NULL;
    return NULL;
}

/* ---- open, migrations, close ---- */

static int row_int_fn(const struct store_row *r, void *ctx)
{
    *(int64_t *)ctx = pg_row_int(r, 0);
    return 1;
}

/* One internal parameterised query on c returning a single integer. */
static int pconn_int(struct pconn *c, const char *sql, const struct store_value *v, size_t n,
                     int64_t *out, struct err *e)
{
    PGresult *res = NULL;
    int ret = pconn_run(c, sql, v, n, 0, &res, e);
    if (ret == 0)
        rows_deliver(res, row_int_fn, out);
    PQclear(res);
    return ret;
}

/* Applies each pending migration in a transaction of its own together with its meta row; an
 * advisory lock makes processes starting together take turns. PostgreSQL runs DDL inside
 * transactions, so a failed migration leaves nothing behind. */
/* A migration's SQL as PostgreSQL takes it: SQLite's table option WITHOUT ROWID (the table
 * stored in its primary key's B-tree; PostgreSQL keeps a heap beside the primary key's index
 * and has no such option) is dropped wherever it appears (migrations.h). The caller frees it. */
static char *migration_sql_for_pg(const char *sql)
{
    static const char opt[] = " WITHOUT ROWID";
    const size_t optlen = sizeof opt - 1;
    size_t len = strlen(sql);
    char *out = malloc(len + 1), *w = out;
    if (out == NULL)
        return NULL;
    for (const char *r = sql; *r != '\0';) {
        if (strncmp(r, opt, optlen) == 0) {
            r += optlen;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
    return out;
}

static int migrate(struct store *s, struct err *e)
{
    struct pconn *c = &s->w;
    size_t n = 0;
    const struct store__migration *m = store__migrations(&n);
    const int latest = store_schema_latest();
    int64_t cur = 0;
    int ret = 0, applied = 0;
    char lock[96];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%lld)", MIGRATION_LOCK);

    ret = pconn_exec(c, "BEGIN", e);
    if (ret == 0)
        ret = pconn_exec(c, lock, e);
    if (ret == 0)
        ret = pconn_exec(c, STORE_MIGRATION_TABLE_SQL, e);
    if (ret == 0)
        ret = pconn_exec(c, "COMMIT", e);
    if (ret == 0)
        ret =
            pconn_int(c, "SELECT coalesce(max(version), 0) FROM store_migration", NULL, 0, &cur, e);
    if (ret != 0)
        goto out;
    if (cur > latest) {
        ret = err_set(e, ERR_INVALID, "database schema %lld is newer than this cityos (knows %d)",
                      (long long)cur, latest);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t present = 0;
        if (m[i].version <= cur)
            continue;
        ret = pconn_exec(c, "BEGIN", e);
        if (ret == 0)
            ret = pconn_exec(c, lock, e);
        /* no flush of its own: the first acknowledged write after it flushes the log up to and
         * including it, and until then a lost migration is simply applied again at start-up */
        if (ret == 0)
            ret = pconn_exec(c, "SET LOCAL synchronous_commit = off", e);
        /* another process may have applied it since we looked: check under the lock */
        struct store_value v = STORE_INT_V(m[i].version);
        if (ret == 0)
            ret = pconn_int(c, "SELECT count(*) FROM store_migration WHERE version = ?", &v, 1,
                            &present, e);
        char *sql = NULL;
        if (ret == 0 && present == 0 && (sql = migration_sql_for_pg(m[i].sql)) == NULL)
            ret = err_set(e, ERR_NOMEM, "out of memory reading migration %d", m[i].version);
        if (ret == 0 && present == 0) {
            PGresult *res = PQexec(c->pg, sql); /* several statements: simple protocol */
            if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
                struct err why = {0};
                res_fail(c, res, "migration", NULL, &why);
                ret = err_set(e, ERR_INTERNAL, "migration %d (%s) failed: %s", m[i].version,
                              m[i].name, why.msg);
            }
            PQclear(res);
        }
        free(sql);
        if (ret == 0 && present == 0) {
            struct store_value row[3] = {STORE_INT_V(m[i].version), STORE_TEXT_V(m[i].name),
                                         STORE_INT_V(clock_now_ms())};
            PGresult *res = NULL;
            ret = pconn_run(c,
                            "INSERT INTO store_migration (version, name, applied_ms) "
                            "VALUES (?, ?, ?)",
                            row, 3, 0, &res, e);
            PQclear(res);
        }
        if (ret == 0)
            ret = pconn_exec(c, "COMMIT", e);
        if (ret != 0)
            goto out;
        if (present == 0) {
            applied++;
            log_info("store: applied migration %d (%s)", m[i].version, m[i].name);
        }
    }
    cur = 0;
    ret = pconn_int(c, "SELECT coalesce(max(version), 0) FROM store_migration", NULL, 0, &cur, e);
    s->schema_version = (int)cur;
out:
    if (ret != 0 && c->pg != NULL && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        struct err ignored;
        pconn_exec(c, "ROLLBACK", &ignored);
    }
    /* DDL changed the schema under any cached plan: start the writer with an empty cache */
    if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK) {
        cache_clear(c);
        PQclear(PQexec(c->pg, "DEALLOCATE ALL"));
    }
    if (ret == 0 && applied > 0)
        log_info("store: schema now at version %d", s->schema_version);
    return ret;
}

/* Says (once, at open) when the server would not keep an acknowledged commit across a crash. */
static void check_durability(struct pconn *c)
{
    PGresult *res = PQexec(c->pg, "SELECT current_setting('fsync'), "
                                  "current_setting('server_encoding'), "
                                  "current_setting('lc_collate')");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        if (strcmp(PQgetvalue(res, 0, 0), "on") != 0)
            log_warn("store: PostgreSQL runs with fsync=off: acknowledged writes are not "
                     "durable across a crash of its machine");
        if (strcmp(PQgetvalue(res, 0, 1), "UTF8") != 0)
            log_warn("store: the database's encoding is %s, not UTF8", PQgetvalue(res, 0, 1));
        const char *coll = PQgetvalue(res, 0, 2);
        if (strcmp(coll, "C") != 0 && strcmp(coll, "POSIX") != 0 && strncmp(coll, "C.", 2) != 0)
            log_warn("store: the database's collation is %s: text sorts differ from SQLite's "
                     "byte order (create the database with LC_COLLATE 'C')",
                     coll);
    }
    PQclear(res);
}

/* The URL without its password, for logs. */
static void url_shown(const char *url, char *out, size_t size)
{
    const char *scheme = strstr(url, "://");
    const char *at = strchr(url, '@');
    const char *colon = scheme != NULL ? strchr(scheme + 3, ':') : NULL;
    if (scheme != NULL && at != NULL && colon != NULL && colon < at)
        snprintf(out, size, "%.*s:***%s", (int)(colon - url), url, at);
    else
        snprintf(out, size, "%s", url);
    char *q = strchr(out, '?');
    if (q != NULL && strstr(q, "password") != NULL)
        *q = '\0';
}

static void pg_close(struct store *s);

static int pg_open(struct store **out, const struct store_options *opt, struct err *e)
{
    struct store *s = NULL;
    int ret = 0;
    *out = NULL;
    if (opt == NULL || opt->database_url == NULL || opt->database_url[0] == '\0')
        return err_set(e, ERR_INVALID, "the PostgreSQL store needs a database URL");
    if (!PQisthreadsafe())
        return err_set(e, ERR_INTERNAL, "the libpq library was built without thread support");
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return err_set(e, ERR_NOMEM, "out of memory opening the store");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->pmu, NULL);
    pthread_cond_init(&s->pcv, NULL);
    histogram_init(&s->m.batch_size, histogram_batch_bounds, histogram_batch_nbounds);
    histogram_init(&s->m.commit_seconds, histogram_latency_bounds, histogram_latency_nbounds);
    atomic_init(&s->m.writes_ok, 0);
    atomic_init(&s->m.writes_failed, 0);
    s->batch_max = opt->batch_max <= 0            ? BATCH_DEFAULT
                   : opt->batch_max > BATCH_LIMIT ? BATCH_LIMIT
                                                  : opt->batch_max;
    s->url = strdup(opt->database_url);
    if (s->url == NULL) {
        ret = err_set(e, ERR_NOMEM, "out of memory opening the store");
        goto out;
    }
    char shown[256];
    url_shown(s->url, shown, sizeof shown);
    /* the data folder still holds what is not in the database (signing keys): made as SQLite's
     * store makes it, one level */
    if (opt->data_dir != NULL && opt->data_dir[0] != '\0' && mkdir(opt->data_dir, 0750) != 0 &&
        errno != EEXIST) {
        ret =
            err_set(e, ERR_IO, "cannot create data folder %s: %s", opt->data_dir, strerror(errno));
        goto out;
    }
    ret = pconn_open(&s->w, s->url, 0, e);
    if (ret == 0) {
        check_durability(&s->w);
        ret = migrate(s, e);
    }
    if (ret != 0) {
        if (e != NULL) { /* say which database */
            char why[sizeof e->msg];
            memcpy(why, e->msg, sizeof why);
            err_set(e, ret, "%s: %s", shown, why);
        }
        goto out;
    }
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        ret = err_set(e, ERR_INTERNAL, "cannot start the writer thread");
        goto out;
    }
    s->writer_started = 1;
    log_info("store: opened %s (PostgreSQL %d, schema %d)", shown, PQserverVersion(s->w.pg),
             s->schema_version);
    *out = s;
    s = NULL;
out:
    pg_close(s);
    return ret;
}

static void pg_close(struct store *s)
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
    for (int i = 0; i < POOL_MAX; i++) {
        if (s->all[i] != NULL) {
            pconn_close(s->all[i]);
            free(s->all[i]);
        }
    }
    pconn_close(&s->w);
    if (s->writer_started)
        log_info("store: closed the PostgreSQL store");
    pthread_cond_destroy(&s->pcv);
    pthread_mutex_destroy(&s->pmu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->url);
    free(s);
}

static int pg_schema_version(struct store *s)
{
    return s != NULL ? s->schema_version : 0;
}

static const struct store_metrics *pg_metrics(struct store *s)
{
    return &s->m;
}

const struct store_backend store__pg_backend = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .query = pg_query,
    .row_columns = pg_row_columns,
    .row_is_null = pg_row_is_null,
    .row_int = pg_row_int,
    .row_text = pg_row_text,
    .row_blob = pg_row_blob,
    .write_async = pg_write_async,
    .write = pg_write,
    .tx_exec = pg_tx_exec,
    .tx_query = pg_tx_query,
    .metrics = pg_metrics,
};

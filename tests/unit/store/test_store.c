/* test_store.c - unit tests of the store (SQLite backend): open and migrations, values, conflicts,
 * batches, concurrent writers and readers, kill -9 durability, closing, the statement cache. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/migrations.h"
#include "store/store.h"
#include "support/fixture.h"

/* ---- fixture: a fresh temporary folder per test ---- */

struct local_fx {
    char base[64];  /* mkdtemp folder */
    char data[128]; /* base/data: the data folder, not created yet */
};

static int local_setup(void **state)
{
    struct local_fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->base, sizeof f->base, "/tmp/cityos-store-XXXXXX");
    if (mkdtemp(f->base) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->data, sizeof f->data, "%s/data", f->base);
    *state = f;
    return 0;
}

static int local_teardown(void **state)
{
    struct local_fx *f = *state;
    fx_rm_tree(f->base);
    free(f);
    return 0;
}

static struct store *open_ok(const char *dir, int batch_max)
{
    struct store *s = NULL;
    struct err e = {0};
    struct store_options o = {.data_dir = dir, .batch_max = batch_max};
    int rc = store_open(&s, &o, &e);
    if (rc != 0)
        fprintf(stderr, "store_open: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_non_null(s);
    return s;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- small write and read helpers ---- */

/* A write that runs one statement; changes (OUT) receives store_tx_exec's answer. */
struct exec_job {
    const char *sql;
    struct store_value v[6];
    size_t n;
    int changes;
};

static int exec_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct exec_job *j = ctx;
    j->changes = store_tx_exec(tx, j->sql, j->v, j->n, e);
    return j->changes < 0 ? j->changes : 0;
}

static struct exec_job notice_job(const char *id, int64_t created_ms, const char *doc)
{
    struct exec_job j = {
        .sql =
            "INSERT INTO notice (id, created_ms, category, district, doc) VALUES (?, ?, ?, ?, ?)",
        .v = {STORE_TEXT_V(id), STORE_INT_V(created_ms), STORE_TEXT_V("test"), STORE_TEXT_V(NULL),
              STORE_TEXT_V(doc)},
        .n = 5,
    };
    return j;
}

static int insert_notice(struct store *s, const char *id, struct err *e)
{
    struct exec_job j = notice_job(id, clock_now_ms(), "{}");
    return store_write(s, exec_fn, &j, e);
}

static int first_int_fn(const struct store_row *r, void *ctx)
{
    *(int64_t *)ctx = store_row_int(r, 0);
    return 1;
}

/* The first integer of a one-value query; fails the test on error. */
static int64_t query_int(struct store *s, const char *sql, const struct store_value *v, size_t n)
{
    int64_t out = -1;
    struct err e = {0};
    int rc = store_query(s, sql, v, n, first_int_fn, &out, &e);
    if (rc != 0)
        fprintf(stderr, "query: %s\n", e.msg);
    assert_int_equal(rc, 0);
    return out;
}

static int64_t notice_present(struct store *s, const char *id)
{
    struct store_value v = STORE_TEXT_V(id);
    return query_int(s, "SELECT count(*) FROM notice WHERE id = ?", &v, 1);
}

/* Observations of h above 1 (batches that grouped more than one write). */
static uint64_t hist_above_one(const struct histogram *h)
{
    uint64_t n = 0;
    for (size_t i = 1; i <= h->nbounds; i++)
        n += atomic_load(&h->counts[i]);
    return n;
}

/* Counts completions of asynchronous writes. */
struct done_log {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    int status[512];
    char msg[512][64];
};

struct done_slot {
    struct done_log *log;
    int idx;
};

static void done_log_init(struct done_log *d)
{
    memset(d, 0, sizeof *d);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    for (int i = 0; i < 512; i++)
        d->status[i] = 1; /* "not called" */
}

static void done_log_release(struct done_log *d)
{
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
}

static void done_record(int status, const struct err *e, void *ctx)
{
    struct done_slot *slot = ctx;
    struct done_log *d = slot->log;
    pthread_mutex_lock(&d->mu);
    d->status[slot->idx] = status;
    snprintf(d->msg[slot->idx], sizeof d->msg[0], "%.63s", e != NULL ? e->msg : "");
    d->calls++;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

/* Waits (at most 30 s) until n completions arrived. */
static void done_wait(struct done_log *d, int n)
{
    uint64_t deadline = clock_mono_ns() + 30ull * 1000000000u;
    pthread_mutex_lock(&d->mu);
    while (d->calls < n && clock_mono_ns() < deadline) {
        pthread_mutex_unlock(&d->mu);
        sleep_ms(2);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    assert_int_equal(d->calls, n);
}

/* A write that holds the writer until the test opens the gate (at most 10 s): lets a test queue
 * writes behind it so they land in one batch, or be queued when the store starts closing. */
struct gate {
    atomic_int entered;
    atomic_int open;
    long sleep_ms; /* > 0: just sleep this long instead of waiting for open */
};

static int gate_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct gate *g = ctx;
    atomic_store(&g->entered, 1);
    for (int i = 0; i < 10000 && !atomic_load(&g->open); i++) {
        if (g->sleep_ms > 0 && i >= g->sleep_ms)
            break;
        sleep_ms(1);
    }
    struct exec_job j = notice_job("gate", 1, "{}");
    j.changes = store_tx_exec(tx, j.sql, j.v, j.n, e);
    return j.changes < 0 ? j.changes : 0;
}

static void gate_wait_entered(struct gate *g)
{
    for (int i = 0; i < 10000 && !atomic_load(&g->entered); i++)
        sleep_ms(1);
    assert_true(atomic_load(&g->entered));
}

/* ---- migrations and open ---- */

static void test_migration_table_is_well_formed(void **state)
{
    (void)state;
    size_t n = 0;
    const struct store__migration *m = store__migrations(&n);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(m[i].version, (int)i + 1);
        assert_true(m[i].name != NULL && m[i].name[0] != '\0');
        assert_true(m[i].sql != NULL && m[i].sql[0] != '\0');
    }
    assert_int_equal(store_schema_latest(), m[n - 1].version);
    assert_string_equal(m[0].name, "notices");
}

static int collect_applied_fn(const struct store_row *r, void *ctx)
{
    int64_t *out = ctx;
    int64_t v = store_row_int(r, 0);
    if (v >= 1 && v <= 16)
        out[v] = store_row_int(r, 1);
    return 0;
}

static void test_open_creates_folder_and_migrates_once(void **state)
{
    struct local_fx *f = *state;
    struct stat st;
    int64_t applied1[17] = {0}, applied2[17] = {0};
    assert_int_not_equal(stat(f->data, &st), 0);

    struct store *s = open_ok(f->data, 0);
    assert_int_equal(stat(f->data, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0750 & ~mask);
    assert_int_equal(store_schema_version(s), store_schema_latest());
    assert_int_equal(query_int(s, "SELECT count(*) FROM store_migration", NULL, 0),
                     store_schema_latest());
    assert_int_equal(query_int(s, "SELECT count(*) FROM notice", NULL, 0), 0);
    struct err e = {0};
    assert_int_equal(store_query(s, "SELECT version, applied_ms FROM store_migration", NULL, 0,
                                 collect_applied_fn, applied1, &e),
                     0);
    assert_true(applied1[1] > 0);
    store_close(s);

    char db[192];
    snprintf(db, sizeof db, "%s/cityos.db", f->data);
    assert_int_equal(stat(db, &st), 0);

    sleep_ms(5); /* a second migration run would record a later applied_ms */
    s = open_ok(f->data, 0);
    assert_int_equal(store_schema_version(s), store_schema_latest());
    assert_int_equal(query_int(s, "SELECT count(*) FROM store_migration", NULL, 0),
                     store_schema_latest());
    assert_int_equal(store_query(s, "SELECT version, applied_ms FROM store_migration", NULL, 0,
                                 collect_applied_fn, applied2, &e),
                     0);
    assert_memory_equal(applied1, applied2, sizeof applied1);
    store_close(s);
}

static void test_open_refuses_newer_schema(void **state)
{
    struct local_fx *f = *state;
    struct store *s = open_ok(f->data, 0);
    store_close(s);

    char db[192], sql[160];
    sqlite3 *raw = NULL;
    snprintf(db, sizeof db, "%s/cityos.db", f->data);
    snprintf(sql, sizeof sql,
             "INSERT INTO store_migration (version, name, applied_ms) VALUES (%d, 'future', 1)",
             store_schema_latest() + 6);
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);

    struct err e = {0};
    struct store_options o = {.data_dir = f->data};
    s = (struct store *)&e; /* must be reset to NULL */
    assert_int_equal(store_open(&s, &o, &e), ERR_INVALID);
    assert_null(s);
    assert_int_equal(e.code, ERR_INVALID);
    char want[96];
    snprintf(want, sizeof want, "database schema %d is newer than this cityos (knows %d)",
             store_schema_latest() + 6, store_schema_latest());
    assert_non_null(strstr(e.msg, want));
    assert_non_null(strstr(e.msg, f->data)); /* and which database */
}

static void test_open_unwritable_folder(void **state)
{
    struct local_fx *f = *state;
    char file[128], data[160];
    snprintf(file, sizeof file, "%s/file", f->base);
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);

    /* a folder under a regular file cannot be made, even by root */
    snprintf(data, sizeof data, "%s/data", file);
    struct store *s = NULL;
    struct err e = {0};
    struct store_options o = {.data_dir = data};
    assert_int_equal(store_open(&s, &o, &e), ERR_IO);
    assert_null(s);
    assert_non_null(strstr(e.msg, data));
    assert_non_null(strstr(e.msg, strerror(ENOTDIR)));

    /* the data folder itself is a regular file */
    o.data_dir = file;
    assert_int_equal(store_open(&s, &o, &e), ERR_IO);
    assert_non_null(strstr(e.msg, file));

    o.data_dir = "";
    assert_int_equal(store_open(&s, &o, &e), ERR_INVALID);
}

static void test_open_refuses_a_file_that_is_not_a_database(void **state)
{
    struct local_fx *f = *state;
    char db[192];
    assert_int_equal(mkdir(f->data, 0750), 0);
    snprintf(db, sizeof db, "%s/cityos.db", f->data);
    FILE *fp = fopen(db, "w");
    assert_non_null(fp);
    for (int i = 0; i < 64; i++)
        fputs("this is not an SQLite database, just text. ", fp);
    fclose(fp);

    struct store *s = NULL;
    struct err e = {0};
    struct store_options o = {.data_dir = f->data};
    assert_int_equal(store_open(&s, &o, &e), ERR_IO);
    assert_null(s);
    assert_non_null(strstr(e.msg, "not a database"));
    assert_non_null(strstr(e.msg, db));
}

/* ---- values ---- */

struct kv {
    int seen;
    int cols;
    int64_t i;
    int i_null, t_null, b_null, n_null;
    char t[128];
    size_t tlen;
    unsigned char b[32];
    size_t blen;
    const void *bptr;
    int64_t n;
};

static int kv_fn(const struct store_row *r, void *ctx)
{
    struct kv *k = ctx;
    k->seen++;
    k->cols = store_row_columns(r);
    k->i_null = store_row_is_null(r, 0);
    k->t_null = store_row_is_null(r, 1);
    k->b_null = store_row_is_null(r, 2);
    k->n_null = store_row_is_null(r, 3);
    k->i = store_row_int(r, 0);
    const char *t = store_row_text(r, 1, &k->tlen);
    if (t != NULL && k->tlen < sizeof k->t) {
        memcpy(k->t, t, k->tlen + 1); /* text is NUL-terminated */
    }
    k->bptr = store_row_blob(r, 2, &k->blen);
    if (k->bptr != NULL && k->blen <= sizeof k->b)
        memcpy(k->b, k->bptr, k->blen);
    k->n = store_row_int(r, 3);
    return 0;
}

static void read_kv(struct store *s, int id, struct kv *k)
{
    struct store_value v = STORE_INT_V(id);
    struct err e = {0};
    memset(k, 0, sizeof *k);
    assert_int_equal(store_query(s, "SELECT i, t, b, n FROM kv WHERE id = ?", &v, 1, kv_fn, k, &e),
                     0);
    assert_int_equal(k->seen, 1);
    assert_int_equal(k->cols, 4);
}

static void test_roundtrip_every_type(void **state)
{
    struct local_fx *f = *state;
    struct store *s = open_ok(f->data, 0);
    struct err e = {0};
    static const char utf8[] = "東京都千代田区 — café 🚲 ß";
    static const unsigned char blob[] = {0x00, 0x01, 0xfe, 0xff, 0x00, 0x7f};
    static const unsigned char empty[1];

    struct exec_job ddl = {
        .sql = "CREATE TABLE kv (id BIGINT PRIMARY KEY, i BIGINT, t TEXT, b BLOB, n BIGINT)"};
    assert_int_equal(store_write(s, exec_fn, &ddl, &e), 0);
    assert_int_equal(ddl.changes, 0);

    const char *ins = "INSERT INTO kv (id, i, t, b, n) VALUES (?, ?, ?, ?, ?)";
    struct exec_job rows[3] = {
        {.sql = ins,
         .v = {STORE_INT_V(1), STORE_INT_V(INT64_MIN), STORE_TEXT_V(utf8),
               STORE_BLOB_V(blob, sizeof blob), STORE_NULL_V},
         .n = 5},
        {.sql = ins,
         .v = {STORE_INT_V(2), STORE_INT_V(INT64_MAX), STORE_TEXTN_V("abcdef", 3),
               STORE_BLOB_V(empty, 0), STORE_TEXT_V(NULL)},
         .n = 5},
        {.sql = ins,
         .v = {STORE_INT_V(3), STORE_NULL_V, STORE_TEXT_V(""), STORE_BLOB_V(NULL, 0),
               STORE_INT_V(0)},
         .n = 5},
    };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(store_write(s, exec_fn, &rows[i], &e), 0);
        assert_int_equal(rows[i].changes, 1);
    }

    struct kv k;
    read_kv(s, 1, &k);
    assert_int_equal(k.i, INT64_MIN);
    assert_false(k.i_null);
    assert_string_equal(k.t, utf8);
    assert_int_equal(k.tlen, strlen(utf8));
    assert_int_equal(k.blen, sizeof blob);
    assert_memory_equal(k.b, blob, sizeof blob);
    assert_true(k.n_null);

    read_kv(s, 2, &k);
    assert_int_equal(k.i, INT64_MAX);
    assert_string_equal(k.t, "abc");
    assert_int_equal(k.tlen, 3);
    assert_false(k.b_null); /* an empty blob is a value, not NULL */
    assert_non_null(k.bptr);
    assert_int_equal(k.blen, 0);
    assert_true(k.n_null); /* STORE_TEXT_V(NULL) binds NULL */

    read_kv(s, 3, &k);
    assert_true(k.i_null);
    assert_false(k.t_null);
    assert_string_equal(k.t, "");
    assert_true(k.b_null);
    assert_null(k.bptr);
    assert_false(k.n_null);
    assert_int_equal(k.n, 0);

    /* text that PostgreSQL would refuse is refused here too, and nothing is written */
    struct exec_job bad = {
        .sql = ins,
        .v = {STORE_INT_V(4), STORE_NULL_V, STORE_TEXT_V("\xff\xfe"), STORE_NULL_V, STORE_NULL_V},
        .n = 5};
    assert_int_equal(store_write(s, exec_fn, &bad, &e), ERR_INVALID);
    bad.v[2] = STORE_TEXTN_V("a\0b", 3);
    assert_int_equal(store_write(s, exec_fn, &bad, &e), ERR_INVALID);
    bad.v[2] = STORE_TEXT_V("\xed\xa0\x80"); /* a UTF-16 surrogate */
    assert_int_equal(store_write(s, exec_fn, &bad, &e), ERR_INVALID);
    assert_int_equal(query_int(s, "SELECT count(*) FROM kv", NULL, 0), 3);

    /* a notice with a NULL district, read back through the other types */
    struct exec_job n = notice_job("n-1", 1700000000123, "{\"title\":\"避難所\"}");
    assert_int_equal(store_write(s, exec_fn, &n, &e), 0);
    assert_int_equal(query_int(s, "SELECT created_ms FROM notice WHERE id = 'n-1'", NULL, 0),
                     1700000000123);
    assert_int_equal(
        query_int(s, "SELECT count(*) FROM notice WHERE district IS NULL AND doc LIKE '%避難所%'",
                  NULL, 0),
        1);

    /* an UPDATE reports the rows it changed; a DDL statement reports none */
    struct exec_job upd = {.sql = "UPDATE kv SET n = n"};
    assert_int_equal(store_write(s, exec_fn, &upd, &e), 0);
    assert_int_equal(upd.changes, 3);
    struct exec_job idx = {.sql = "CREATE INDEX kv_by_i ON kv (i)"};
    assert_int_equal(store_write(s, exec_fn, &idx, &e), 0);
    assert_int_equal(idx.changes, 0);
    store_close(s);
}

/* ---- conflicts and batches ---- */

/* Inserts two notices; the second may collide. */
static int two_inserts_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    const char **ids = ctx;
    for (int i = 0; i < 2; i++) {
        struct exec_job j = notice_job(ids[i], 1, "{}");
        int rc = store_tx_exec(tx, j.sql, j.v, j.n, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void test_constraint_violation_is_conflict(void **state)
{
    struct local_fx *f = *state;
    struct store *s = open_ok(f->data, 0);
    struct err e = {0};
    assert_int_equal(insert_notice(s, "a", &e), 0);
    assert_int_equal(insert_notice(s, "a", &e), ERR_CONFLICT);
    assert_int_equal(e.code, ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "UNIQUE"));

    const char *ids[2] = {"b", "a"}; /* b is fine, a collides: b must not stay */
    assert_int_equal(store_write(s, two_inserts_fn, ids, &e), ERR_CONFLICT);
    assert_int_equal(notice_present(s, "b"), 0);
    assert_int_equal(query_int(s, "SELECT count(*) FROM notice", NULL, 0), 1);

    /* NOT NULL is a constraint too */
    struct exec_job j = notice_job("c", 1, NULL);
    assert_int_equal(store_write(s, exec_fn, &j, &e), ERR_CONFLICT);
    assert_int_equal(atomic_load(&store_metrics(s)->writes_ok), 1);
    assert_int_equal(atomic_load(&store_metrics(s)->writes_failed), 3);
    store_close(s);
}

static int refuse_after_insert_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct exec_job j = notice_job((const char *)ctx, 1, "{}");
    int rc = store_tx_exec(tx, j.sql, j.v, j.n, e);
    if (rc < 0)
        return rc;
    return err_set(e, ERR_INVALID, "refused on purpose");
}

static void test_failed_write_does_not_fail_its_batch(void **state)
{
    struct local_fx *f = *state;
    struct store *s = open_ok(f->data, 0);
    struct done_log d;
    struct done_slot slots[10];
    struct gate g = {0};
    char ids[10][16];
    const char *dup_pair[2] = {"b6x", "b1"};
    done_log_init(&d);
    for (int i = 0; i < 10; i++)
        slots[i] = (struct done_slot){&d, i};

    assert_int_equal(store_write_async(s, gate_fn, &g, done_record, &slots[0]), 0);
    gate_wait_entered(&g); /* the writer is busy: what follows queues up as one batch */
    struct exec_job jobs[10];
    for (int i = 1; i < 10; i++) {
        snprintf(ids[i], sizeof ids[i], "b%d", i);
        jobs[i] = notice_job(ids[i], i, "{}");
        int rc;
        if (i == 4)
            rc = store_write_async(s, refuse_after_insert_fn, ids[i], done_record, &slots[i]);
        else if (i == 6)
            rc = store_write_async(s, two_inserts_fn, dup_pair, done_record, &slots[i]);
        else
            rc = store_write_async(s, exec_fn, &jobs[i], done_record, &slots[i]);
        assert_int_equal(rc, 0);
    }
    atomic_store(&g.open, 1);
    done_wait(&d, 10);

    for (int i = 0; i < 10; i++) {
        if (i == 4) {
            assert_int_equal(d.status[i], ERR_INVALID);
            assert_string_equal(d.msg[i], "refused on purpose");
        } else if (i == 6) {
            assert_int_equal(d.status[i], ERR_CONFLICT);
        } else {
            assert_int_equal(d.status[i], 0);
        }
    }
    assert_int_equal(notice_present(s, "gate"), 1);
    for (int i = 1; i < 10; i++)
        assert_int_equal(notice_present(s, ids[i]), i == 4 || i == 6 ? 0 : 1);
    assert_int_equal(notice_present(s, "b6x"), 0);
    const struct store_metrics *m = store_metrics(s);
    assert_true(hist_above_one(&m->batch_size) >= 1);
    assert_int_equal(atomic_load(&m->writes_ok), 8);
    assert_int_equal(atomic_load(&m->writes_failed), 2);
    assert_true(atomic_load(&m->commit_seconds.count) >= 2);
    store_close(s);
    done_log_release(&d);
}

/* A read scope: one snapshot for every read until it ends (nested scopes count), then the
 * thread's reads see the latest commit again; queries and writes behave as outside a scope. */
static void test_read_scope_is_one_snapshot(void **state)
{
    struct local_fx *f = *state;
    struct store *s = open_ok(f->data, 0);
    struct err e = {0};
    assert_int_equal(insert_notice(s, "rs1", &e), 0);
    assert_int_equal(store_read_begin(s), 0);
    assert_int_equal(notice_present(s, "rs1"), 1);    /* the snapshot starts at the first read */
    assert_int_equal(store_read_begin(s), 0);         /* nested */
    assert_int_equal(insert_notice(s, "rs2", &e), 0); /* durable, but after the snapshot */
    assert_int_equal(notice_present(s, "rs2"), 0);
    store_read_end(s); /* the inner end keeps the snapshot */
    assert_int_equal(notice_present(s, "rs2"), 0);
    /* a refused statement inside the scope is refused as always and does not end it */
    int64_t n = 0;
    assert_int_equal(store_query(s, "DELETE FROM notice", NULL, 0, first_int_fn, &n, &e),
                     ERR_INVALID);
    assert_int_equal(notice_present(s, "rs2"), 0);
    store_read_end(s);
    assert_int_equal(notice_present(s, "rs2"), 1); /* each read its own snapshot again */
    store_read_end(s);                             /* an end too many is ignored */
    assert_int_equal(notice_present(s, "rs1"), 1);
    store_close(s);
}

/* ---- concurrency ---- */

#define WRITERS     8
#define WRITES_EACH 500

struct writer_arg {
    struct store *s;
    int t;
    int acked;
    int failed;
};

static void *writer_thread(void *p)
{
    struct writer_arg *a = p;
    for (int i = 0; i < WRITES_EACH; i++) {
        char id[32];
        struct err e = {0};
        snprintf(id, sizeof id, "w%d-%d", a->t, i);
        struct exec_job j = notice_job(id, clock_now_ms(), "{\"kind\":\"concurrent\"}");
        if (store_write(a->s, exec_fn, &j, &e) == 0)
            a->acked++;
        else
            a->failed++;
    }
    return NULL;
}

static void test_concurrent_writers_all_durable_once(void **state)
{
    struct local_fx *f = *state;
    struct store *s = open_ok(f->data, 0);
    pthread_t th[WRITERS];
    struct writer_arg args[WRITERS];
    for (int t = 0; t < WRITERS; t++) {
        args[t] = (struct writer_arg){.s = s, .t = t};
        assert_int_equal(pthread_create(&th[t], NULL, writer_thread, &args[t]), 0);
    }
    int acked = 0;
    for (int t = 0; t < WRITERS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].failed, 0);
        acked += args[t].acked;
    }
    assert_int_equal(acked, WRITERS * WRITES_EACH);
    const struct store_metrics *m = store_metrics(s);
    assert_true(hist_above_one(&m->batch_size) > 0);
    assert_true(atomic_load(&m->batch_size.count) <
                (uint64_t)acked); /* fewer commits than writes */
    assert_int_equal(atomic_load(&m->writes_ok), (uint64_t)acked);
    store_close(s);

    s = open_ok(f->data, 0);
    assert_int_equal(query_int(s, "SELECT count(*) FROM notice", NULL, 0), acked);
    assert_int_equal(query_int(s, "SELECT count(DISTINCT id) FROM notice", NULL, 0), acked);
    for (int t = 0; t < WRITERS; t++) {
        for (int i = 0; i < WRITES_EACH; i++) {
            char id[32];
            snprintf(id, sizeof id, "w%d-%d", t, i);
            assert_int_equal(notice_present(s, id), 1);
        }
    }
    store_close(s);
}

/* Each write inserts a pair, so a consistent snapshot always holds an even count. */
static int pair_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    int k = *(int *)ctx;
    for (int half = 0; half < 2; half++) {
        char id[32];
        snprintf(id, sizeof id, "p%d-%d", k, half);
        struct exec_job j = notice_job(id, k, "{}");
        int rc = store_tx_exec(tx, j.sql, j.v, j.n, e);
        if (rc < 0)
            return rc;
    }
    /* the transaction sees its own uncommitted rows */
    struct store_value v = STORE_INT_V(k);
    int64_t mine = 0;
    int rc = store_tx_query(tx, "SELECT count(*) FROM notice WHERE created_ms = ?", &v, 1,
                            first_int_fn, &mine, e);
    if (rc < 0)
        return rc;
    return mine == 2 ? 0 : err_set(e, ERR_INTERNAL, "tx sees %lld rows", (long long)mine);
}

struct pair_writer {
    struct store *s;
    int n;
    int failed;
    atomic_int done;
};

static void *pair_writer_thread(void *p)
{
    struct pair_writer *w = p;
    for (int k = 0; k < w->n; k++) {
        struct err e = {0};
        if (store_write(w->s, pair_fn, &k, &e) != 0)
            w->failed++;
    }
    atomic_store(&w->done, 1);
    return NULL;
}

struct reader_arg {
    struct store *s;
    struct pair_writer *w;
    int errors, odd, decreased, rounds;
    int64_t last;
};

static void *reader_thread(void *p)
{
    struct reader_arg *r = p;
    for (int i = 0; i < 1000000 && !atomic_load(&r->w->done); i++) {
        int64_t n = -1;
        struct err e = {0};
        if (store_query(r->s, "SELECT count(*) FROM notice", NULL, 0, first_int_fn, &n, &e) != 0) {
            r->errors++;
            continue;
        }
        r->odd += n % 2 != 0;
        r->decreased += n < r->last;
        r->last = n;
        r->rounds++;
    }
    return NULL; /* the thread exits: its read connection is closed by the key destructor */
}

static void test_readers_see_consistent_snapshots(void **state)
{
    struct local_fx *f = *state;
    struct store *s = open_ok(f->data, 0);
    struct pair_writer w = {.s = s, .n = 600};
    struct reader_arg ra[3];
    pthread_t wt, rt[3];
    for (int i = 0; i < 3; i++) {
        ra[i] = (struct reader_arg){.s = s, .w = &w};
        assert_int_equal(pthread_create(&rt[i], NULL, reader_thread, &ra[i]), 0);
    }
    assert_int_equal(pthread_create(&wt, NULL, pair_writer_thread, &w), 0);
    pthread_join(wt, NULL);
    for (int i = 0; i < 3; i++) {
        pthread_join(rt[i], NULL);
        assert_int_equal(ra[i].errors, 0);
        assert_int_equal(ra[i].odd, 0);
        assert_int_equal(ra[i].decreased, 0);
        assert_true(ra[i].rounds > 0);
    }
    assert_int_equal(w.failed, 0);
    assert_int_equal(query_int(s, "SELECT count(*) FROM notice", NULL, 0), 1200);
    store_close(s);
}

/* ---- kill -9 ---- */

#define KILL_THREADS 4
#define KILL_ACKS    300

struct kill_arg {
    struct store *s;
    int t;
    int fd;
};

static void *kill_writer(void *p)
{
    struct kill_arg *a = p;
    for (int i = 0; i < 10000000; i++) {
        char id[32], line[40];
        struct err e = {0};
        snprintf(id, sizeof id, "k%d-%07d", a->t, i);
        struct exec_job j = notice_job(id, i, "{\"kind\":\"kill9\"}");
        if (store_write(a->s, exec_fn, &j, &e) != 0)
            _exit(3);
        int n = snprintf(line, sizeof line, "%s\n", id); /* < PIPE_BUF: written atomically */
        if (write(a->fd, line, (size_t)n) != n)
            _exit(4);
    }
    return NULL;
}

static void kill_child(const char *dir, int fd)
{
    struct store *s = NULL;
    struct err e = {0};
    struct store_options o = {.data_dir = dir};
    pthread_t th[KILL_THREADS];
    struct kill_arg a[KILL_THREADS];
    if (store_open(&s, &o, &e) != 0)
        _exit(2);
    for (int t = 0; t < KILL_THREADS; t++) {
        a[t] = (struct kill_arg){.s = s, .t = t, .fd = fd};
        if (pthread_create(&th[t], NULL, kill_writer, &a[t]) != 0)
            _exit(2);
    }
    for (int t = 0; t < KILL_THREADS; t++)
        pthread_join(th[t], NULL);
    _exit(0);
}

/* Reads lines from fd into ids (up to max) until want lines, EOF, or 60 s. Returns the count. */
static int read_acks(int fd, char (*ids)[32], int have, int max, int want)
{
    static char buf[65536];
    static size_t used;
    uint64_t deadline = clock_mono_ns() + 60ull * 1000000000u;
    while (have < want && have < max && clock_mono_ns() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 1000) <= 0)
            continue;
        ssize_t n = read(fd, buf + used, sizeof buf - used - 1);
        if (n <= 0)
            break;
        used += (size_t)n;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', used - (size_t)(start - buf))) != NULL && have < max) {
            *nl = '\0';
            snprintf(ids[have++], 32, "%.31s", start);
            start = nl + 1;
        }
        used -= (size_t)(start - buf);
        memmove(buf, start, used);
    }
    return have;
}

static void test_kill9_keeps_every_acknowledged_write(void **state)
{
    struct local_fx *f = *state;
    enum { MAX_IDS = 200000 };
    char(*ids)[32] = calloc(MAX_IDS, 32);
    int fds[2];
    assert_non_null(ids);
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        kill_child(f->data, fds[1]);
        _exit(1);
    }
    close(fds[1]);
    int have = read_acks(fds[0], ids, 0, MAX_IDS, KILL_ACKS);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* the pipe may hold more acknowledgements written before the kill: they count too */
    have = read_acks(fds[0], ids, have, MAX_IDS, MAX_IDS);
    close(fds[0]);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_true(have >= KILL_ACKS);

    struct store *s = open_ok(f->data, 0);
    int missing = 0;
    for (int i = 0; i < have; i++) {
        if (notice_present(s, ids[i]) != 1) {
            fprintf(stderr, "acknowledged but missing: %s\n", ids[i]);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
    assert_true(query_int(s, "SELECT count(*) FROM notice", NULL, 0) >= have);
    store_close(s);
    free(ids);
}

/* ---- closing ---- */

static void test_close_commits_queued_writes(void **state)
{
    struct local_fx *f = *state;
    enum { N = 300 };
    struct store *s = open_ok(f->data, 16);
    static struct done_log d; /* large: keep it off the stack */
    struct done_slot slots[N + 1];
    static struct exec_job jobs[N];
    static char ids[N][16];
    struct gate g = {.sleep_ms = 100};
    done_log_init(&d);

    slots[N] = (struct done_slot){&d, N};
    assert_int_equal(store_write_async(s, gate_fn, &g, done_record, &slots[N]), 0);
    gate_wait_entered(&g); /* everything below is still queued when close starts */
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "q%d", i);
        jobs[i] = notice_job(ids[i], i, "{}");
        slots[i] = (struct done_slot){&d, i};
        assert_int_equal(store_write_async(s, exec_fn, &jobs[i], done_record, &slots[i]), 0);
    }
    store_close(s);
    assert_int_equal(d.calls, N + 1);
    for (int i = 0; i <= N; i++)
        assert_int_equal(d.status[i], 0);

    s = open_ok(f->data, 0);
    assert_int_equal(query_int(s, "SELECT count(*) FROM notice", NULL, 0), N + 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(notice_present(s, ids[i]), 1);
    store_close(s);
    done_log_release(&d);
}

static int noop_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    (void)tx;
    (void)ctx;
    (void)e;
    return 0;
}

struct late {
    struct store *s;
    int inner_rc; /* store_write_async from a completion while the store closes */
    int status;
    struct gate *g;
    atomic_int saw_unavailable;
    atomic_int accepted, completed;
};

static void late_done(int status, const struct err *e, void *ctx)
{
    struct late *l = ctx;
    (void)e;
    l->status = status;
    l->inner_rc = store_write_async(l->s, noop_fn, NULL, NULL, NULL);
}

static void count_done(int status, const struct err *e, void *ctx)
{
    struct late *l = ctx;
    (void)e;
    if (status == 0)
        atomic_fetch_add(&l->completed, 1);
}

/* Keeps queueing until the store refuses, then lets the writer finish. */
static void *late_thread(void *p)
{
    struct late *l = p;
    for (int i = 0; i < 10000; i++) {
        int rc = store_write_async(l->s, noop_fn, NULL, count_done, l);
        if (rc == ERR_UNAVAILABLE) {
            atomic_store(&l->saw_unavailable, 1);
            break;
        }
        if (rc == 0)
            atomic_fetch_add(&l->accepted, 1);
        sleep_ms(1);
    }
    atomic_store(&l->g->open, 1);
    return NULL;
}

static void test_write_refused_once_close_starts(void **state)
{
    struct local_fx *f = *state;
    struct store *s = open_ok(f->data, 0);
    struct gate g = {0};
    struct late l = {.s = s, .inner_rc = 1, .status = 1, .g = &g};
    pthread_t th;
    assert_int_equal(store_write_async(s, gate_fn, &g, NULL, NULL), 0);
    gate_wait_entered(&g);
    assert_int_equal(store_write_async(s, noop_fn, NULL, late_done, &l), 0);
    assert_int_equal(pthread_create(&th, NULL, late_thread, &l), 0);
    store_close(s); /* returns once late_thread opened the gate and the queue drained */
    pthread_join(th, NULL);
    assert_true(atomic_load(&l.saw_unavailable));
    assert_int_equal(l.status, 0);
    assert_int_equal(l.inner_rc, ERR_UNAVAILABLE);
    assert_int_equal(atomic_load(&l.completed), atomic_load(&l.accepted));
    store_close(NULL);
}

/* ---- what the interface refuses ---- */

static int nested_write_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    (void)tx;
    return store_write((struct store *)ctx, noop_fn, NULL, e);
}

static void test_refusals(void **state)
{
    struct local_fx *f = *state;
    struct store *s = open_ok(f->data, 0);
    struct err e = {0};
    struct store_value v = STORE_TEXT_V("x");
    const char *writes[] = {
        "INSERT INTO notice (id, created_ms, category, doc) VALUES ('x', 1, 'c', '{}')",
        "DELETE FROM notice",
        "CREATE TABLE t (a TEXT)",
        "BEGIN",
        "COMMIT",
        "SAVEPOINT a",
        "PRAGMA query_only=OFF",
        "PRAGMA journal_mode",
        "ATTACH DATABASE '/tmp/other.db' AS other",
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        err_clear(&e);
        assert_int_equal(store_query(s, writes[i], NULL, 0, NULL, NULL, &e), ERR_INVALID);
        assert_true(e.msg[0] != '\0');
    }
    assert_int_equal(store_query(s, "SELECT 1; SELECT 2", NULL, 0, NULL, NULL, &e), ERR_INVALID);
    assert_int_equal(store_query(s, "  ", NULL, 0, NULL, NULL, &e), ERR_INVALID);
    assert_int_equal(store_query(s, NULL, NULL, 0, NULL, NULL, &e), ERR_INVALID);
    assert_int_equal(store_query(s, "SELECT ?, ?", &v, 1, NULL, NULL, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "2 placeholders"));
    assert_int_equal(store_query(s, "SELECT * FROM no_such_table", NULL, 0, NULL, NULL, &e),
                     ERR_INTERNAL);
    assert_non_null(strstr(e.msg, "no_such_table"));
    assert_int_equal(store_query(s, "SELECT \"double quoted\"", NULL, 0, NULL, NULL, &e),
                     ERR_INTERNAL); /* not a string literal: the SQL stays PostgreSQL's */

    /* inside a write: no transaction control, no waiting for itself, reads must be reads */
    struct exec_job j = {.sql = "COMMIT"};
    assert_int_equal(store_write(s, exec_fn, &j, &e), ERR_INVALID);
    j.sql = "PRAGMA foreign_keys=OFF";
    assert_int_equal(store_write(s, exec_fn, &j, &e), ERR_INVALID);
    assert_int_equal(store_write(s, nested_write_fn, s, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "wait for itself"));
    assert_int_equal(store_tx_exec(NULL, "SELECT 1", NULL, 0, &e), ERR_INVALID);
    assert_int_equal(store_write_async(NULL, noop_fn, NULL, NULL, NULL), ERR_INVALID);
    assert_int_equal(store_write(s, NULL, NULL, &e), ERR_INVALID);

    /* the store still works */
    assert_int_equal(insert_notice(s, "after", &e), 0);
    assert_int_equal(notice_present(s, "after"), 1);
    store_close(s);
}

/* ---- statement cache and connections ---- */

struct nest {
    struct store *s;
    int depth;
    int rows;
    int errors;
};

static int nest_fn(const struct store_row *r, void *ctx)
{
    struct nest *n = ctx;
    (void)r;
    n->rows++;
    if (n->depth < 3) {
        /* the same SQL while the outer statement is still stepping */
        struct nest inner = {.s = n->s, .depth = n->depth + 1};
        struct err e = {0};
        if (store_query(n->s, "SELECT id FROM notice ORDER BY id", NULL, 0, nest_fn, &inner, &e))
            n->errors++;
        n->errors += inner.errors;
        n->rows += inner.rows;
    }
    return 0;
}

static void test_statement_cache(void **state)
{
    struct local_fx *f = *state;
    struct store *s = open_ok(f->data, 0);
    struct err e = {0};
    char sql[64];
    /* more distinct statements than the cache holds, then the first ones again */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 200; i++) {
            struct store_value v = STORE_INT_V(i);
            snprintf(sql, sizeof sql, "SELECT ? + %d", i);
            assert_int_equal(query_int(s, sql, &v, 1), 2 * i);
        }
    }
    assert_int_equal(insert_notice(s, "n1", &e), 0);
    assert_int_equal(insert_notice(s, "n2", &e), 0);
    struct nest n = {.s = s};
    assert_int_equal(store_query(s, "SELECT id FROM notice ORDER BY id", NULL, 0, nest_fn, &n, &e),
                     0);
    assert_int_equal(n.errors, 0);
    assert_int_equal(n.rows, 2 + 4 + 8 + 16); /* 2 rows at each of 4 levels */

    /* stopping early returns 0 and leaves the cached statement reusable */
    int64_t first = 0;
    assert_int_equal(
        store_query(s, "SELECT created_ms FROM notice", NULL, 0, first_int_fn, &first, &e), 0);
    assert_int_equal(query_int(s, "SELECT count(*) FROM notice", NULL, 0), 2);
    store_close(s);
}

static void *query_once_thread(void *p)
{
    struct store *s = p;
    struct err e = {0};
    int64_t n = -1;
    if (store_query(s, "SELECT count(*) FROM notice", NULL, 0, first_int_fn, &n, &e) != 0)
        return (void *)1;
    return (void *)(intptr_t)(n + 100); /* the thread exits: its connection goes */
}

static void test_several_stores_and_threads(void **state)
{
    struct local_fx *f = *state;
    char a_dir[160], b_dir[160], c_dir[160];
    struct err e = {0};
    snprintf(a_dir, sizeof a_dir, "%s/a", f->base);
    snprintf(b_dir, sizeof b_dir, "%s/b", f->base);
    snprintf(c_dir, sizeof c_dir, "%s/c", f->base);

    /* one after another on this thread: each gets its own fresh read connection */
    for (int round = 0; round < 3; round++) {
        struct store *s = open_ok(a_dir, 0);
        assert_int_equal(query_int(s, "SELECT count(*) FROM notice", NULL, 0), round);
        char id[16];
        snprintf(id, sizeof id, "r%d", round);
        assert_int_equal(insert_notice(s, id, &e), 0);
        assert_int_equal(query_int(s, "SELECT count(*) FROM notice", NULL, 0), round + 1);
        store_close(s);
    }

    /* two at once, read from this thread and from short-lived threads */
    struct store *a = open_ok(a_dir, 0);
    struct store *b = open_ok(b_dir, 0);
    assert_int_equal(insert_notice(b, "only-b", &e), 0);
    assert_int_equal(query_int(a, "SELECT count(*) FROM notice", NULL, 0), 3);
    assert_int_equal(query_int(b, "SELECT count(*) FROM notice", NULL, 0), 1);
    for (int i = 0; i < 4; i++) {
        pthread_t th;
        void *ret = NULL;
        assert_int_equal(pthread_create(&th, NULL, query_once_thread, i % 2 ? a : b), 0);
        pthread_join(th, &ret);
        assert_int_equal((intptr_t)ret, i % 2 ? 103 : 101);
    }
    store_close(a);
    assert_int_equal(query_int(b, "SELECT count(*) FROM notice", NULL, 0), 1);

    /* a new store after a closed one (its thread key may be reused) starts clean */
    struct store *c = open_ok(c_dir, 0);
    assert_int_equal(query_int(c, "SELECT count(*) FROM notice", NULL, 0), 0);
    assert_int_equal(query_int(b, "SELECT count(*) FROM notice", NULL, 0), 1);
    store_close(b);
    store_close(c);
}

/* ---- allocation failures ---- */

/* SQLite's allocator with one failure injected: the allocation numbered oom_countdown fails. */
static sqlite3_mem_methods real_mem;
static atomic_long oom_countdown = -1;

static int oom_now(void)
{
    return atomic_load(&oom_countdown) >= 0 && atomic_fetch_sub(&oom_countdown, 1) == 0;
}

static void *oom_malloc(int n)
{
    return oom_now() ? NULL : real_mem.xMalloc(n);
}

static void *oom_realloc(void *p, int n)
{
    return oom_now() ? NULL : real_mem.xRealloc(p, n);
}

static void oom_install(int on)
{
    /* allowed only with no connection open: every earlier store is closed */
    assert_int_equal(sqlite3_shutdown(), SQLITE_OK);
    if (on) {
        sqlite3_mem_methods m;
        assert_int_equal(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem), SQLITE_OK);
        m = real_mem;
        m.xMalloc = oom_malloc;
        m.xRealloc = oom_realloc;
        assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, &m), SQLITE_OK);
    } else {
        assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, &real_mem), SQLITE_OK);
    }
    assert_int_equal(sqlite3_initialize(), SQLITE_OK);
}

static void test_allocation_failures(void **state)
{
    struct local_fx *f = *state;
    enum { MAX_STEPS = 20000 };
    static char acked[MAX_STEPS][16];
    int nacked = 0, step;
    struct store *s = open_ok(f->data, 0); /* migrated already: the loop measures steady state */
    store_close(s);
    oom_install(1);
    for (step = 0; step < MAX_STEPS; step++) {
        struct err e = {0};
        struct store_options o = {.data_dir = f->data};
        char id[16];
        int64_t n = -1;
        snprintf(id, sizeof id, "oom%d", step);
        atomic_store(&oom_countdown, step);
        s = NULL;
        int rc = store_open(&s, &o, &e);
        if (rc == 0) {
            assert_non_null(s);
            rc = insert_notice(s, id, &e);
            if (rc == 0)
                snprintf(acked[nacked++], sizeof acked[0], "%s", id);
            rc = store_query(s, "SELECT count(*) FROM notice", NULL, 0, first_int_fn, &n, &e);
            assert_true(rc == 0 ? n >= nacked : rc < 0);
            store_close(s);
        } else {
            assert_null(s);
            assert_true(rc < 0 && e.msg[0] != '\0');
        }
        if (atomic_exchange(&oom_countdown, -1) >= 0)
            break; /* the scenario needed fewer allocations: every one has failed once */
    }
    oom_install(0);
    assert_true(step > 10 && step < MAX_STEPS);

    /* every acknowledged write survived, and the store is healthy */
    s = open_ok(f->data, 0);
    for (int i = 0; i < nacked; i++)
        assert_int_equal(notice_present(s, acked[i]), 1);
    struct err e = {0};
    assert_int_equal(insert_notice(s, "after-oom", &e), 0);
    store_close(s);
    fprintf(stderr, "allocation failures: %d steps, %d writes acknowledged\n", step, nacked);
}

int main(void)
{
    log_set_level(LOGL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migration_table_is_well_formed),
        cmocka_unit_test_setup_teardown(test_open_creates_folder_and_migrates_once, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_newer_schema, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(test_open_unwritable_folder, local_setup, local_teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_a_file_that_is_not_a_database,
                                        local_setup, local_teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_every_type, local_setup, local_teardown),
        cmocka_unit_test_setup_teardown(test_constraint_violation_is_conflict, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_does_not_fail_its_batch, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(test_read_scope_is_one_snapshot, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_all_durable_once, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(test_readers_see_consistent_snapshots, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(test_kill9_keeps_every_acknowledged_write, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(test_close_commits_queued_writes, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(test_write_refused_once_close_starts, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, local_setup, local_teardown),
        cmocka_unit_test_setup_teardown(test_statement_cache, local_setup, local_teardown),
        cmocka_unit_test_setup_teardown(test_several_stores_and_threads, local_setup,
                                        local_teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures, local_setup, local_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

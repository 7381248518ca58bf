/* test_store_backends.c - the promises of store.h that every backend keeps, run against SQLite
 * (suite unit) and against PostgreSQL (suite pg: CITYOS_TEST_BACKEND=postgresql and
 * CITYOS_TEST_DATABASE_URL naming a server, as scripts/test.sh starts one; skipped without it):
 * migrations once, every value type, conflicts, a failed statement undoing only itself, batches,
 * concurrent writers, refusals, nested reads, closing. test_store.c holds SQLite's own tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/audit.h"
#include "base/clock.h"
#include "base/log.h"
#include "store/store.h"
#include "support/fixture.h"

static int on_pg;             /* this run is the PostgreSQL one */
static const char *pg_server; /* CITYOS_TEST_DATABASE_URL */

/* ---- fixture: a fresh SQLite folder or a fresh PostgreSQL database per test ---- */

struct bfx {
    char base[64];  /* mkdtemp folder (SQLite's data folder lives below) */
    char data[128]; /* base/data */
    char url[256];  /* PostgreSQL: the test's own database */
};

static void pg_admin(const char *sql)
{
    char admin[300];
    snprintf(admin, sizeof admin, "%s/postgres", pg_server);
    PGconn *c = PQconnectdb(admin);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
}

static int setup(void **state)
{
    static atomic_int counter;
    struct bfx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->base, sizeof f->base, "/tmp/cityos-backends-XXXXXX");
    if (mkdtemp(f->base) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->data, sizeof f->data, "%s/data", f->base);
    if (on_pg) {
        char db[64], sql[128];
        snprintf(db, sizeof db, "u_%ld_%d", (long)getpid(), atomic_fetch_add(&counter, 1));
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
        pg_admin(sql);
        snprintf(f->url, sizeof f->url, "%s/%s", pg_server, db);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct bfx *f = *state;
    if (on_pg) {
        char sql[300];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)",
                 strrchr(f->url, '/') + 1);
        pg_admin(sql);
    }
    fx_rm_tree(f->base);
    free(f);
    return 0;
}

static struct store *open_ok(struct bfx *f, int batch_max)
{
    struct store *s = NULL;
    struct err e = {0};
    struct store_options o = {
        .data_dir = f->data, .batch_max = batch_max, .database_url = on_pg ? f->url : NULL};
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

/* ---- helpers ---- */

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

static struct exec_job notice_job(const char *id, int64_t created_ms)
{
    struct exec_job j = {
        .sql =
            "INSERT INTO notice (id, created_ms, category, district, doc) VALUES (?, ?, ?, ?, ?)",
        .v = {STORE_TEXT_V(id), STORE_INT_V(created_ms), STORE_TEXT_V("test"), STORE_TEXT_V(NULL),
              STORE_TEXT_V("{}")},
        .n = 5,
    };
    return j;
}

static int insert_notice(struct store *s, const char *id, struct err *e)
{
    struct exec_job j = notice_job(id, 1000);
    return store_write(s, exec_fn, &j, e);
}

static int first_int_fn(const struct store_row *r, void *ctx)
{
    *(int64_t *)ctx = store_row_int(r, 0);
    return 1;
}

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

static int64_t notices(struct store *s)
{
    return query_int(s, "SELECT count(*) FROM notice", NULL, 0);
}

/* ---- open and migrations ---- */

static void test_open_migrates_once(void **state)
{
    struct bfx *f = *state;
    struct store *s = open_ok(f, 0);
    assert_int_equal(store_schema_version(s), store_schema_latest());
    int64_t n = query_int(s, "SELECT count(*) FROM store_migration", NULL, 0);
    assert_int_equal(n, store_schema_latest());
    store_close(s);
    s = open_ok(f, 0); /* again: nothing to apply */
    assert_int_equal(store_schema_version(s), store_schema_latest());
    assert_int_equal(query_int(s, "SELECT count(*) FROM store_migration", NULL, 0), n);
    store_close(s);
}

static void test_open_refuses_bad_url(void **state)
{
    struct bfx *f = *state;
    struct store *s = NULL;
    struct err e = {0};
    struct store_options o = {.data_dir = f->data, .database_url = "mysql://x"};
    assert_int_equal(store_open(&s, &o, &e), ERR_INVALID);
    assert_null(s);
    if (on_pg) { /* a server nobody listens on */
        o.database_url = "postgresql://cityos@127.0.0.1:1/nothing?connect_timeout=2";
        assert_int_equal(store_open(&s, &o, &e), ERR_IO);
        assert_null(s);
        assert_non_null(strstr(e.msg, "127.0.0.1"));
    }
}

/* ---- values ---- */

struct typed {
    int64_t i;
    char text[64];
    size_t text_len;
    unsigned char blob[16];
    size_t blob_len;
    int blob_null, text_null, cols;
};

static int typed_fn(const struct store_row *r, void *ctx)
{
    struct typed *t = ctx;
    t->cols = store_row_columns(r);
    t->i = store_row_int(r, 0);
    size_t n = 0;
    const char *tx = store_row_text(r, 1, &n);
    t->text_null = tx == NULL;
    if (tx != NULL && n < sizeof t->text) {
        memcpy(t->text, tx, n + 1);
        t->text_len = n;
    }
    const void *b = store_row_blob(r, 2, &n);
    t->blob_null = b == NULL;
    if (b != NULL && n <= sizeof t->blob) {
        memcpy(t->blob, b, n);
        t->blob_len = n;
    }
    return 0;
}

static void roundtrip(struct store *s, const char *id, struct store_value iv, struct store_value tv,
                      struct store_value bv, struct typed *out)
{
    /* the wallet's idempotency table has an INTEGER, two TEXTs; use a table of our own kinds:
     * fhir_import (TEXT, TEXT, BIGINT, TEXT) for text and int; blobs go through a query echo */
    struct exec_job j = {
        .sql = "INSERT INTO fhir_import (source, record_hash, created_ms, resources) "
               "VALUES (?, ?, ?, ?)",
        .v = {STORE_TEXT_V(id),
              STORE_TEXT_V("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), iv,
              tv},
        .n = 4,
    };
    struct err e = {0};
    assert_int_equal(store_write(s, exec_fn, &j, &e), 0);
    assert_int_equal(j.changes, 1);
    struct store_value k[2] = {STORE_TEXT_V(id), bv};
    memset(out, 0, sizeof *out);
    assert_int_equal(
        store_query(s, "SELECT created_ms, resources, ? FROM fhir_import WHERE source = ?",
                    (struct store_value[]){bv, k[0]}, 2, typed_fn, out, &e),
        0);
}

static void test_roundtrip_every_type(void **state)
{
    struct bfx *f = *state;
    struct store *s = open_ok(f, 0);
    struct typed t;
    static const unsigned char bytes[5] = {0, 1, 0xff, 0x80, 0};

    roundtrip(s, "a", STORE_INT_V(INT64_MAX), STORE_TEXT_V("会津若松 'quoted' ?"),
              STORE_BLOB_V(bytes, sizeof bytes), &t);
    assert_int_equal(t.cols, 3);
    assert_true(t.i == INT64_MAX);
    assert_string_equal(t.text, "会津若松 'quoted' ?");
    assert_int_equal(t.text_len, strlen("会津若松 'quoted' ?"));
    assert_false(t.blob_null);
    assert_int_equal(t.blob_len, sizeof bytes);
    assert_memory_equal(t.blob, bytes, sizeof bytes);

    roundtrip(s, "b", STORE_INT_V(INT64_MIN), STORE_TEXTN_V("abcdef", 3), STORE_BLOB_V("", 0), &t);
    assert_true(t.i == INT64_MIN);
    assert_string_equal(t.text, "abc");
    assert_false(t.blob_null); /* an empty blob is not NULL */
    assert_int_equal(t.blob_len, 0);

    roundtrip(s, "c", STORE_INT_V(-1), STORE_TEXT_V(""), STORE_NULL_V, &t);
    assert_int_equal(t.i, -1);
    assert_false(t.text_null); /* an empty text is not NULL */
    assert_int_equal(t.text_len, 0);
    assert_true(t.blob_null);

    /* NULL parameters and NULL columns */
    struct exec_job j = {.sql = "INSERT INTO notice (id, created_ms, category, district, doc) "
                                "VALUES (?, ?, ?, ?, ?)",
                         .v = {STORE_TEXT_V("n1"), STORE_INT_V(5), STORE_TEXT_V("c"), STORE_NULL_V,
                               STORE_TEXT_V("{}")},
                         .n = 5};
    struct err e = {0};
    assert_int_equal(store_write(s, exec_fn, &j, &e), 0);
    assert_int_equal(query_int(s, "SELECT count(*) FROM notice WHERE district IS NULL", NULL, 0),
                     1);
    /* a parameter whose type only its value tells (`? IS NULL`), and a comparison's truth as
     * an integer (SQLite has no booleans: 1 and 0 on both backends) */
    struct store_value dv = STORE_TEXT_V(NULL);
    assert_int_equal(query_int(s, "SELECT count(*) FROM notice WHERE ? IS NULL OR district = ?",
                               (struct store_value[]){dv, dv}, 2),
                     1);
    assert_int_equal(query_int(s, "SELECT created_ms = 5 FROM notice", NULL, 0), 1);
    assert_int_equal(query_int(s, "SELECT created_ms > 5 FROM notice", NULL, 0), 0);
    /* a `?` inside a literal is not a placeholder */
    assert_int_equal(query_int(s, "SELECT count(*) FROM notice WHERE id <> '?' AND id = ?",
                               (struct store_value[]){STORE_TEXT_V("n1")}, 1),
                     1);
    store_close(s);
}

/* ---- conflicts and failures ---- */

static void test_conflicts(void **state)
{
    struct bfx *f = *state;
    struct store *s = open_ok(f, 0);
    struct err e = {0};
    assert_int_equal(insert_notice(s, "dup", &e), 0);
    assert_int_equal(insert_notice(s, "dup", &e), ERR_CONFLICT); /* primary key */
    assert_int_equal(e.code, ERR_CONFLICT);
    /* CHECK and NOT NULL */
    struct exec_job j = {.sql = "INSERT INTO audit_head (subject, seq, head) VALUES (?, ?, ?)",
                         .v = {STORE_TEXT_V("p"), STORE_INT_V(0), STORE_TEXT_V("short")},
                         .n = 3};
    assert_int_equal(store_write(s, exec_fn, &j, &e), ERR_CONFLICT);
    struct exec_job nn = notice_job("nn", 1);
    nn.v[2] = STORE_NULL_V; /* category NOT NULL */
    assert_int_equal(store_write(s, exec_fn, &nn, &e), ERR_CONFLICT);
    /* a foreign key */
    struct exec_job fk = {.sql = "INSERT INTO audit_checkpoint_head (checkpoint_id, subject, seq) "
                                 "VALUES (?, ?, ?)",
                          .v = {STORE_INT_V(99), STORE_TEXT_V("p"), STORE_INT_V(1)},
                          .n = 3};
    assert_int_equal(store_write(s, exec_fn, &fk, &e), ERR_CONFLICT);
    assert_int_equal(notices(s), 1);
    store_close(s);
}

/* A write that meets a conflict, handles it, and goes on: only the failed statement is undone
 * (SQLite's behaviour; on PostgreSQL each statement has a savepoint of its own). */
static int insert_or_touch_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    (void)ctx;
    struct exec_job a = notice_job("x", 1);
    int rc = store_tx_exec(tx, a.sql, a.v, a.n, e);
    if (rc != ERR_CONFLICT)
        return rc < 0 ? rc : ERR_INTERNAL; /* the test inserted x before */
    err_clear(e);
    struct store_value v = STORE_TEXT_V("x");
    rc = store_tx_exec(tx, "UPDATE notice SET created_ms = created_ms + 1 WHERE id = ?", &v, 1, e);
    if (rc != 1)
        return rc < 0 ? rc : ERR_INTERNAL;
    struct exec_job b = notice_job("y", 1);
    rc = store_tx_exec(tx, b.sql, b.v, b.n, e);
    return rc < 0 ? rc : 0;
}

static void test_failed_statement_undoes_only_itself(void **state)
{
    struct bfx *f = *state;
    struct store *s = open_ok(f, 0);
    struct err e = {0};
    assert_int_equal(insert_notice(s, "x", &e), 0);
    assert_int_equal(store_write(s, insert_or_touch_fn, NULL, &e), 0);
    assert_int_equal(notices(s), 2);
    struct store_value v = STORE_TEXT_V("x");
    assert_int_equal(query_int(s, "SELECT created_ms FROM notice WHERE id = ?", &v, 1), 1001);
    store_close(s);
}

/* ---- batches ---- */

struct gate {
    atomic_int entered;
    atomic_int open;
};

static int gate_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct gate *g = ctx;
    atomic_store(&g->entered, 1);
    for (int i = 0; i < 10000 && !atomic_load(&g->open); i++)
        sleep_ms(1);
    struct exec_job j = notice_job("gate", 1);
    int rc = store_tx_exec(tx, j.sql, j.v, j.n, e);
    return rc < 0 ? rc : 0;
}

struct done_log {
    pthread_mutex_t mu;
    int calls;
    int status[64];
};

struct done_slot {
    struct done_log *log;
    int idx;
};

static void done_record(int status, const struct err *e, void *ctx)
{
    (void)e;
    struct done_slot *slot = ctx;
    pthread_mutex_lock(&slot->log->mu);
    slot->log->status[slot->idx] = status;
    slot->log->calls++;
    pthread_mutex_unlock(&slot->log->mu);
}

/* Waits up to 10 s until want completions are in d; returns how many there are. */
static int done_calls_wait(struct done_log *d, int want)
{
    int calls = 0;
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&d->mu);
        calls = d->calls;
        pthread_mutex_unlock(&d->mu);
        if (calls == want)
            break;
        sleep_ms(1);
    }
    return calls;
}

static void test_failed_write_does_not_fail_its_batch(void **state)
{
    struct bfx *f = *state;
    struct store *s = open_ok(f, 0);
    struct err e = {0};
    assert_int_equal(insert_notice(s, "taken", &e), 0);
    struct gate g = {0};
    struct done_log d = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct done_slot gs = {&d, 0};
    assert_int_equal(store_write_async(s, gate_fn, &g, done_record, &gs), 0);
    for (int i = 0; i < 10000 && !atomic_load(&g.entered); i++)
        sleep_ms(1);
    /* queued behind the gate: one batch of ten, the fifth a conflict */
    struct exec_job jobs[10];
    struct done_slot slots[10];
    char ids[10][8];
    for (int i = 0; i < 10; i++) {
        snprintf(ids[i], sizeof ids[i], "b%d", i);
        jobs[i] = notice_job(i == 4 ? "taken" : ids[i], 1);
        slots[i] = (struct done_slot){&d, i + 1};
        assert_int_equal(store_write_async(s, exec_fn, &jobs[i], done_record, &slots[i]), 0);
    }
    atomic_store(&g.open, 1);
    assert_int_equal(done_calls_wait(&d, 11), 11);
    for (int i = 0; i <= 10; i++)
        assert_int_equal(d.status[i], i == 5 ? ERR_CONFLICT : 0);
    assert_int_equal(notices(s), 1 + 1 + 9);
    const struct store_metrics *m = store_metrics(s);
    assert_true(atomic_load(&m->writes_failed) >= 1);
    store_close(s);
}

/* A group write: inserts every context's notice id (one is already taken: a conflict inside the
 * group). Counts its calls and the largest group. */
static atomic_int group_calls, group_max;

static int group_insert_fn(struct store_tx *tx, void *const *ctxs, size_t n, struct err *e)
{
    atomic_fetch_add(&group_calls, 1);
    if ((int)n > atomic_load(&group_max))
        atomic_store(&group_max, (int)n);
    for (size_t i = 0; i < n; i++) {
        struct exec_job j = notice_job(ctxs[i], 1);
        int rc = store_tx_exec(tx, j.sql, j.v, j.n, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void test_group_writes(void **state)
{
    struct bfx *f = *state;
    struct store *s = open_ok(f, 0);
    struct err e = {0};
    assert_int_equal(insert_notice(s, "taken", &e), 0);
    struct gate g = {0};
    struct done_log d = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct done_slot gs = {&d, 0};
    atomic_store(&group_calls, 0);
    atomic_store(&group_max, 0);
    assert_int_equal(store_write_async(s, gate_fn, &g, done_record, &gs), 0);
    for (int i = 0; i < 10000 && !atomic_load(&g.entered); i++)
        sleep_ms(1);
    /* behind the gate: g1..g4 (one group), a plain write, then g5 "taken" g6: a group whose
     * conflict makes it run again one write at a time */
    static const char *const ids[8] = {"g1", "g2", "g3", "g4", "p1", "g5", "taken", "g6"};
    struct exec_job plain = notice_job("p1", 1);
    struct done_slot slots[8];
    for (int i = 0; i < 8; i++) {
        slots[i] = (struct done_slot){&d, i + 1};
        int rc = i == 4 ? store_write_async(s, exec_fn, &plain, done_record, &slots[i])
                        : store_write_group_async(s, group_insert_fn, (void *)ids[i], done_record,
                                                  &slots[i]);
        assert_int_equal(rc, 0);
    }
    atomic_store(&g.open, 1);
    assert_int_equal(done_calls_wait(&d, 9), 9);
    for (int i = 0; i < 8; i++)
        assert_int_equal(d.status[i + 1], i == 6 ? ERR_CONFLICT : 0);
    assert_int_equal(notices(s), 1 + 1 + 7); /* taken, gate, g1-g6 and p1 */
    if (on_pg) {                             /* no groups: each alone */
        assert_int_equal(atomic_load(&group_calls), 7);
        assert_int_equal(atomic_load(&group_max), 1);
    } else { /* g1-g4; g5-taken-g6, then each of the three again */
        assert_int_equal(atomic_load(&group_calls), 5);
        assert_int_equal(atomic_load(&group_max), 4);
    }
    assert_int_equal(store_write_group_async(s, NULL, NULL, NULL, NULL), ERR_INVALID);
    store_close(s);
}

/* audit_append_many() on this backend: the same rows as one audit_append() after another (its
 * multi-row INSERTs of 32, 8 and 1 rows included), in one store: appended one by one, dumped,
 * removed, appended again all at once, dumped and compared. */
struct trail_dump {
    char text[65536];
    size_t len;
};

static int trail_row(const struct store_row *r, void *ctx)
{
    struct trail_dump *d = ctx;
    for (int c = 0; c < store_row_columns(r); c++) {
        const char *t = store_row_is_null(r, c) ? "<null>" : store_row_text(r, c, NULL);
        int w = snprintf(d->text + d->len, sizeof d->text - d->len, "%s%c", t,
                         c + 1 < store_row_columns(r) ? '|' : '\n');
        assert_true(w > 0 && (size_t)w < sizeof d->text - d->len);
        d->len += (size_t)w;
    }
    return 0;
}

static void trail_of(struct store *s, struct trail_dump *d)
{
    struct err e = {0};
    d->len = 0;
    d->text[0] = '\0';
    assert_int_equal(store_query(s,
                                 "SELECT subject, seq, time_ms, actor_kind, actor_id, actor_org, "
                                 "action, resource_id, decision, reason, request_id, prev_hash, "
                                 "entry_hash FROM audit_entry ORDER BY subject, seq",
                                 NULL, 0, trail_row, d, &e),
                     0);
    assert_int_equal(store_query(s, "SELECT subject, seq, head FROM audit_head ORDER BY subject",
                                 NULL, 0, trail_row, d, &e),
                     0);
}

enum { TRAIL_N = 45 }; /* 32 + 8 + 5 x 1 rows */

struct trail_write {
    struct audit_event ev[TRAIL_N];
    int at_once;
};

static int trail_write_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct trail_write *w = ctx;
    int rc = store_tx_exec(tx, "DELETE FROM audit_entry", NULL, 0, e);
    if (rc >= 0)
        rc = store_tx_exec(tx, "DELETE FROM audit_head", NULL, 0, e);
    if (rc < 0)
        return rc;
    if (w->at_once)
        return audit_append_many(tx, w->ev, TRAIL_N, NULL, e);
    for (size_t i = 0; i < TRAIL_N; i++)
        if ((rc = audit_append(tx, &w->ev[i], NULL, e)) != 0)
            return rc;
    return 0;
}

static void test_audit_append_many_is_one_by_one(void **state)
{
    struct bfx *f = *state;
    assert_true(sodium_init() >= 0);
    struct store *s = open_ok(f, 0);
    static const char *const subjects[] = {"p-a", "p-b", "p-c"};
    static char rid[TRAIL_N][16];
    struct trail_write w = {.at_once = 0};
    for (int i = 0; i < TRAIL_N; i++) {
        snprintf(rid[i], sizeof rid[i], "req-%d", i);
        w.ev[i] = (struct audit_event){.time_ms = 1796083200000LL + i,
                                       .actor_kind = AUDIT_ACTOR_PRACTITIONER,
                                       .actor_id = "dr-sato",
                                       .actor_org = i % 2 ? "org-clinic" : NULL,
                                       .subject = subjects[(i * 7) % 3],
                                       .action = "read",
                                       .resource_id = rid[i] + 4,
                                       .decision = i % 5 == 4 ? AUDIT_DENY : AUDIT_PERMIT,
                                       .reason = i % 3 ? "会津" : NULL,
                                       .request_id = rid[i]};
    }
    static struct trail_dump one, many;
    struct err e = {0};
    assert_int_equal(store_write(s, trail_write_fn, &w, &e), 0);
    trail_of(s, &one);
    w.at_once = 1;
    assert_int_equal(store_write(s, trail_write_fn, &w, &e), 0);
    trail_of(s, &many);
    assert_true(one.len > 1000);
    assert_string_equal(one.text, many.text);
    struct audit_verify_report r;
    assert_int_equal(audit_verify(s, NULL, &r, &e), 0);
    assert_true(r.ok);
    assert_int_equal(r.entries, TRAIL_N);
    store_close(s);
}

struct writer_arg {
    struct store *s;
    int thread;
    int failures;
};

static void *writer_thread(void *p)
{
    struct writer_arg *a = p;
    for (int i = 0; i < 50; i++) {
        char id[32];
        snprintf(id, sizeof id, "t%d-%d", a->thread, i);
        struct err e = {0};
        if (insert_notice(a->s, id, &e) != 0)
            a->failures++;
    }
    return NULL;
}

static void test_concurrent_writers_all_durable_once(void **state)
{
    struct bfx *f = *state;
    struct store *s = open_ok(f, 0);
    pthread_t t[8];
    struct writer_arg a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (struct writer_arg){.s = s, .thread = i};
        assert_int_equal(pthread_create(&t[i], NULL, writer_thread, &a[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].failures, 0);
    }
    assert_int_equal(notices(s), 400);
    const struct store_metrics *m = store_metrics(s);
    assert_int_equal(atomic_load(&m->writes_ok), 400);
    store_close(s);
    s = open_ok(f, 0); /* still there after a reopen */
    assert_int_equal(notices(s), 400);
    store_close(s);
}

/* ---- reads ---- */

struct nested {
    struct store *s;
    int outer, inner_total;
};

static int inner_fn(const struct store_row *r, void *ctx)
{
    ((struct nested *)ctx)->inner_total += (int)store_row_int(r, 0);
    return 0;
}

static int outer_fn(const struct store_row *r, void *ctx)
{
    struct nested *n = ctx;
    size_t len = 0;
    const char *id = store_row_text(r, 0, &len);
    struct store_value v = STORE_TEXTN_V(id, len);
    struct err e = {0};
    n->outer++;
    return store_query(n->s, "SELECT count(*) FROM notice WHERE id = ?", &v, 1, inner_fn, n, &e);
}

static void test_nested_reads_and_early_stop(void **state)
{
    struct bfx *f = *state;
    struct store *s = open_ok(f, 0);
    struct err e = {0};
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof id, "n%d", i);
        assert_int_equal(insert_notice(s, id, &e), 0);
    }
    struct nested n = {.s = s};
    assert_int_equal(store_query(s, "SELECT id FROM notice ORDER BY id", NULL, 0, outer_fn, &n, &e),
                     0);
    assert_int_equal(n.outer, 5);
    assert_int_equal(n.inner_total, 5);
    int64_t first = -1; /* first_int_fn stops after one row */
    assert_int_equal(
        store_query(s, "SELECT created_ms FROM notice", NULL, 0, first_int_fn, &first, &e), 0);
    assert_int_equal(first, 1000);
    store_close(s);
}

/* store_tx_query sees the batch's uncommitted changes; store_tx_exec counts changed rows */
static int see_own_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    int64_t *seen = ctx;
    struct exec_job a = notice_job("own1", 1), b = notice_job("own2", 1);
    if (store_tx_exec(tx, a.sql, a.v, a.n, e) != 1 || store_tx_exec(tx, b.sql, b.v, b.n, e) != 1)
        return ERR_INTERNAL;
    int rc = store_tx_query(tx, "SELECT count(*) FROM notice", NULL, 0, first_int_fn, &seen[0], e);
    if (rc != 0)
        return rc;
    rc = store_tx_exec(tx, "UPDATE notice SET doc = ? WHERE created_ms = ?",
                       (struct store_value[]){STORE_TEXT_V("[]"), STORE_INT_V(1)}, 2, e);
    seen[1] = rc;
    rc = store_tx_exec(tx, "DELETE FROM notice WHERE id = 'nothing'", NULL, 0, e);
    seen[2] = rc;
    return 0;
}

static void test_tx_sees_its_batch_and_counts_changes(void **state)
{
    struct bfx *f = *state;
    struct store *s = open_ok(f, 0);
    struct err e = {0};
    int64_t seen[3] = {-1, -1, -1};
    assert_int_equal(store_write(s, see_own_fn, seen, &e), 0);
    assert_int_equal(seen[0], 2);
    assert_int_equal(seen[1], 2);
    assert_int_equal(seen[2], 0);
    store_close(s);
}

/* ---- refusals ---- */

static int refusals_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    int *bad = ctx;
    static const char *const sqls[] = {"COMMIT",
                                       "BEGIN",
                                       "ROLLBACK",
                                       "SAVEPOINT x",
                                       "PRAGMA foreign_keys=OFF",
                                       "INSERT INTO notice (id) VALUES ('a'); DELETE FROM notice"};
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        if (store_tx_exec(tx, sqls[i], NULL, 0, e) != ERR_INVALID)
            (*bad)++;
    }
    /* after the refusals the write still works */
    struct exec_job j = notice_job("after", 1);
    int rc = store_tx_exec(tx, j.sql, j.v, j.n, e);
    return rc < 0 ? rc : 0;
}

static void test_refusals(void **state)
{
    struct bfx *f = *state;
    struct store *s = open_ok(f, 0);
    struct err e = {0};
    /* writes through store_query */
    assert_int_equal(store_query(s, "DELETE FROM notice", NULL, 0, NULL, NULL, &e), ERR_INVALID);
    assert_int_equal(
        store_query(s,
                    "INSERT INTO notice (id, created_ms, category, doc) VALUES ('a', 1, 'c', "
                    "'{}')",
                    NULL, 0, NULL, NULL, &e),
        ERR_INVALID);
    /* placeholders and values disagree */
    struct store_value v[2] = {STORE_TEXT_V("a"), STORE_TEXT_V("b")};
    assert_int_equal(
        store_query(s, "SELECT count(*) FROM notice WHERE id = ?", v, 2, NULL, NULL, &e),
        ERR_INVALID);
    assert_int_equal(
        store_query(s, "SELECT count(*) FROM notice WHERE id = ?", NULL, 0, NULL, NULL, &e),
        ERR_INVALID);
    /* text that is not UTF-8 */
    struct store_value bad = STORE_TEXT_V("\xff\xfe");
    assert_int_equal(
        store_query(s, "SELECT count(*) FROM notice WHERE id = ?", &bad, 1, NULL, NULL, &e),
        ERR_INVALID);
    /* more than one statement */
    assert_int_equal(store_query(s, "SELECT 1; SELECT 2", NULL, 0, NULL, NULL, &e), ERR_INVALID);
    /* a transaction through store_tx_exec */
    int badn = 0;
    assert_int_equal(store_write(s, refusals_fn, &badn, &e), 0);
    assert_int_equal(badn, 0);
    assert_int_equal(notices(s), 1);
    /* outside a write */
    assert_int_equal(store_tx_exec(NULL, "SELECT 1", NULL, 0, &e), ERR_INVALID);
    /* SQL that does not parse is a bug of ours, not a conflict */
    int rc = store_query(s, "SELEC nothing", NULL, 0, NULL, NULL, &e);
    assert_true(rc == ERR_INTERNAL || rc == ERR_INVALID);
    store_close(s);
}

/* ---- close ---- */

static void test_close_commits_queued_writes(void **state)
{
    struct bfx *f = *state;
    struct store *s = open_ok(f, 0);
    struct gate g = {0};
    struct done_log d = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct done_slot gs = {&d, 0};
    assert_int_equal(store_write_async(s, gate_fn, &g, done_record, &gs), 0);
    for (int i = 0; i < 10000 && !atomic_load(&g.entered); i++)
        sleep_ms(1);
    struct exec_job jobs[20];
    struct done_slot slots[20];
    char ids[20][8];
    for (int i = 0; i < 20; i++) {
        snprintf(ids[i], sizeof ids[i], "c%d", i);
        jobs[i] = notice_job(ids[i], 1);
        slots[i] = (struct done_slot){&d, i + 1};
        assert_int_equal(store_write_async(s, exec_fn, &jobs[i], done_record, &slots[i]), 0);
    }
    atomic_store(&g.open, 1);
    store_close(s); /* drains the queue */
    assert_int_equal(d.calls, 21);
    for (int i = 0; i <= 20; i++)
        assert_int_equal(d.status[i], 0);
    s = open_ok(f, 0);
    assert_int_equal(notices(s), 21);
    /* after close began, writes are refused */
    store_close(s);
}

int main(void)
{
    const char *backend = getenv("CITYOS_TEST_BACKEND");
    on_pg = backend != NULL && strcmp(backend, "postgresql") == 0;
    if (on_pg) {
        pg_server = getenv("CITYOS_TEST_DATABASE_URL");
        if (pg_server == NULL || pg_server[0] == '\0') {
            fprintf(stderr, "CITYOS_TEST_DATABASE_URL is not set: skipped (scripts/test.sh "
                            "starts a PostgreSQL)\n");
            return 77; /* meson: skipped */
        }
    }
    log_set_level_name("warn");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_migrates_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_bad_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_every_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_statement_undoes_only_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_does_not_fail_its_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_append_many_is_one_by_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_all_durable_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_reads_and_early_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_sees_its_batch_and_counts_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_commits_queued_writes, setup, teardown),
    };
    return cmocka_run_group_tests_name(on_pg ? "store on PostgreSQL" : "store on SQLite", tests,
                                       NULL, NULL);
}

/* harness_db.c - the data folder's database, read and changed by a test beside the server
 * (harness.h): sqlite3 on <data_dir>/cityos.db, or libpq on the folder's own database when the
 * test runs on PostgreSQL (harness_pg.c). Only what a test needs: one statement, text
 * parameters, the first value of the first row or the number of rows changed. */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define BUSY_TIMEOUT_MS 10000
#define PG_RETRIES      50 /* serialization failures, deadlocks: tried again */

struct db_result {
    long value;   /* first column of the first row, or -1 */
    long changed; /* rows changed */
};

static long parse_value(const char *text)
{
    if (text == NULL)
        return -1;
    if (strcmp(text, "t") == 0)
        return 1;
    if (strcmp(text, "f") == 0)
        return 0;
    return strtol(text, NULL, 10);
}

static struct db_result sqlite_run(const char *data_dir, const char *sql, const char *const *params)
{
    struct db_result out = {-1, 0};
    char *path = str_printf("%s/cityos.db", data_dir);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fail_msg("harness_db: cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("harness_db: %s: %s", sql, sqlite3_errmsg(db));
    for (int i = 0; params != NULL && params[i] != NULL; i++)
        sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
    int rc, row = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (row++ == 0 && sqlite3_column_count(st) > 0)
            out.value = parse_value((const char *)sqlite3_column_text(st, 0));
    }
    if (rc != SQLITE_DONE)
        fail_msg("harness_db: %s: %s", sql, sqlite3_errmsg(db));
    out.changed = sqlite3_changes(db);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(path);
    return out;
}

/* `?` as $1, $2, ... outside quoted literals and identifiers. */
static char *pg_placeholders(const char *sql)
{
    size_t len = strlen(sql), cap = len * 4 + 1, o = 0;
    char *out = harness__xmalloc(cap);
    char quote = 0;
    int n = 0;
    for (const char *p = sql; *p != '\0'; p++) {
        if (quote != 0) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '?') {
            o += (size_t)snprintf(out + o, cap - o, "$%d", ++n);
            continue;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
    return out;
}

static struct db_result pg_run(const char *url, const char *sql, const char *const *params)
{
    struct db_result out = {-1, 0};
    int n = 0;
    while (params != NULL && params[n] != NULL)
        n++;
    char *text = pg_placeholders(sql);
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("harness_db: cannot reach %s: %s", url, PQerrorMessage(c));
    for (int attempt = 0;; attempt++) {
        PGresult *r = PQexecParams(c, text, n, NULL, (const char *const *)params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0 &&
                !PQgetisnull(r, 0, 0))
                out.value = parse_value(PQgetvalue(r, 0, 0));
            const char *changed = PQcmdTuples(r);
            out.changed = changed[0] != '\0' ? strtol(changed, NULL, 10) : 0;
            PQclear(r);
            break;
        }
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        int again = state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
        if (!again || attempt >= PG_RETRIES) {
            fprintf(stderr, "harness_db: %s: %s", sql, PQresultErrorMessage(r));
            PQclear(r);
            PQfinish(c);
            fail_msg("harness_db: the statement failed");
        }
        PQclear(r);
        sleep_ms(20);
    }
    PQfinish(c);
    free(text);
    return out;
}

static struct db_result db_run(const char *data_dir, const char *sql, const char *const *params)
{
    char *url = harness__pg_db_url(data_dir);
    if (url == NULL)
        return sqlite_run(data_dir, sql, params);
    struct db_result out = pg_run(url, sql, params);
    free(url);
    return out;
}

long harness_db_int(const char *data_dir, const char *sql, const char *const *params)
{
    return db_run(data_dir, sql, params).value;
}

long harness_db_intf(const char *data_dir, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    char *sql = harness__xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(sql, (size_t)n + 1, fmt, ap);
    va_end(ap);
    long v = db_run(data_dir, sql, NULL).value;
    free(sql);
    return v;
}

long harness_db_exec(const char *data_dir, const char *sql, const char *const *params)
{
    return db_run(data_dir, sql, params).changed;
}

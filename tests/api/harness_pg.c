/* harness_pg.c - the API tests on PostgreSQL (issue 9). A test registered with
 * CITYOS_TEST_BACKEND=postgresql (tests/api/meson.build, suite "pg") runs on the server that
 * CITYOS_TEST_DATABASE_URL names ("postgresql://cityos@127.0.0.1:PORT", as scripts/postgres.sh
 * prints; the test is skipped when it is not set): every data folder a test uses gets a database
 * of its own there, created on first use, so a restarted server (the same data folder) finds its
 * records again and two tests never share a database. A command naming --data-dir runs with
 * that folder's database (harness_command()); CITYOS_DATABASE_URL in the test process also
 * follows the latest folder, so other commands a test runs itself reach the same database.
 * The test's own reads and writes: harness_db.c. */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

int harness_db_is_pg(void)
{
    const char *backend = getenv("CITYOS_TEST_BACKEND");
    return backend != NULL && strcmp(backend, "postgresql") == 0;
}

/* The server's URL (skips the test when there is none) and the folder's database name. */
static const char *pg_base(void)
{
    const char *base = getenv("CITYOS_TEST_DATABASE_URL");
    if (base == NULL || base[0] == '\0') {
        fprintf(stderr, "harness: CITYOS_TEST_DATABASE_URL is not set: skipping the PostgreSQL "
                        "run (scripts/test.sh starts a server)\n");
        exit(77); /* meson: skipped */
    }
    return base;
}

static void pg_db_name(const char *data_dir, char *db, size_t cap)
{
    size_t n = strlen(data_dir);
    while (n > 1 && data_dir[n - 1] == '/')
        n--;
    uint64_t h = 14695981039346656037u; /* FNV-1a of the folder's path */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)data_dir[i];
        h *= 1099511628211u;
    }
    snprintf(db, cap, "t_%016llx", (unsigned long long)h);
}

char *harness__pg_db_url(const char *data_dir)
{
    if (!harness_db_is_pg() || data_dir == NULL)
        return NULL;
    char db[32];
    pg_db_name(data_dir, db, sizeof db);
    return str_printf("%s/%s", pg_base(), db);
}

char *harness__pg_url_for(const char *data_dir)
{
    if (!harness_db_is_pg() || data_dir == NULL)
        return NULL;
    const char *base = pg_base();
    char db[32];
    pg_db_name(data_dir, db, sizeof db);
    char *admin = str_printf("%s/postgres", base);
    PGconn *c = PQconnectdb(admin);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "harness: cannot reach %s: %s", admin, PQerrorMessage(c));
        abort();
    }
    char *sql = str_printf("CREATE DATABASE %s", db);
    PGresult *r = PQexec(c, sql);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && (state == NULL || strcmp(state, "42P04") != 0)) {
        fprintf(stderr, "harness: %s: %s", sql, PQresultErrorMessage(r));
        abort();
    }
    PQclear(r);
    PQfinish(c);
    free(sql);
    free(admin);
    char *url = str_printf("%s/%s", base, db);
    /* the latest folder's database is also the test process's own: the commands a test runs
     * itself through popen() (`cityos client add --data-dir=...` after server_start) use it */
    setenv("CITYOS_DATABASE_URL", url, 1);
    return url;
}

char *harness_command(const char *cmd)
{
    const char *p = strstr(cmd, "--data-dir=");
    if (p == NULL || !harness_db_is_pg())
        return str_printf("%s", cmd);
    p += strlen("--data-dir=");
    size_t n = 0;
    char quote = (*p == '\'' || *p == '"') ? *p++ : 0;
    while (p[n] != '\0' && (quote ? p[n] != quote : (p[n] != ' ' && p[n] != '\t')))
        n++;
    char *dir = str_printf("%.*s", (int)n, p);
    char *url = harness__pg_url_for(dir);
    char *out = str_printf("export CITYOS_DATABASE_URL='%s'; %s", url, cmd);
    free(url);
    free(dir);
    return out;
}

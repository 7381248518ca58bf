/* harness.h - runs the real cityos binary for the API tests (temporary data folder, free port,
 * log lines collected; harness.c) and exchanges HTTP with it through libcurl (harness_http.c). */
#ifndef CITYOS_API_HARNESS_H
#define CITYOS_API_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>

/* The operator token every server started by the harness is given (unless told otherwise). */
#define ADMIN_TOKEN "api-test-operator-token-0123456789abcdef"
#define AUTH_HEADER "Authorization: Bearer " ADMIN_TOKEN
#define JSON_HEADER "Content-Type: application/json"
#define NOTICES     "/api/v1/notices"

/* A NULL-terminated list of strings, written inline: LIST("--port=0", "--threads=2"). */
#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- the server process ---- */

struct server_config {
    const char *const *args; /* extra flags for `cityos serve`, NULL-terminated; may be NULL */
    const char *const *env;  /* extra NAME=value environment entries, NULL-terminated */
    const char *data_dir;    /* NULL: a new temporary folder, removed by server_free() */
    int no_admin_token;      /* 1: start without an operator token */
    int bare; /* 1: pass only args (no --data-dir, --port, --listen, --admin-token) */
};

struct server;

/* Prepares a server (copies cfg; nothing runs yet). The environment the binary gets is this
 * process's minus every CITYOS_* variable, plus cfg->env. Never returns NULL (fails the test). */
struct server *server_new(const struct server_config *cfg);

/* Runs the binary and waits (up to 30 s) for its "listening on" log line. Returns 0 when it
 * listens (server_port() is then known), or -1 when it exited first or never listened (it is
 * killed then); server_exit_status() tells how it ended. */
int server_launch(struct server *s);

/* server_new() plus server_launch(), failing the test when the server does not come up.
 * extra_args may be NULL. */
struct server *server_start(const char *const *extra_args);
struct server *server_start_with(const struct server_config *cfg);

/* Sends a signal and returns at once. */
void server_send_signal(struct server *s, int sig);

/* Waits up to timeout_ms for the process to exit (then kills it with SIGKILL and waits). Returns
 * the exit code, 128 + the signal when a signal ended it, or -1 when it was not running. */
int server_wait_exit(struct server *s, int timeout_ms);

/* SIGTERM and wait (20 s); SIGKILL and wait. Both return what server_wait_exit() returns. */
int server_stop(struct server *s);
int server_kill9(struct server *s);

/* Stops the server if it runs (SIGTERM), then launches it again on the same data folder with
 * the same arguments; fails the test when it does not come up. The port may change. */
void server_restart(struct server *s);

/* Stops the server if it runs, removes its temporary data folder, frees s. Fails the test when
 * any run of this server printed a sanitizer report. NULL is fine. */
void server_free(struct server *s);

int server_port(const struct server *s);
const char *server_data_dir(const struct server *s);
int server_exit_status(const struct server *s); /* as server_wait_exit() returned */

/* ---- the server's output (stderr and stdout), kept line by line for the current run ---- */

/* Does any line (or any JSON line's "msg") of the current run contain needle? */
int server_log_has(struct server *s, const char *needle);

/* Waits up to timeout_ms for a JSON log line whose "msg" starts with msg_prefix (NULL: any)
 * and, when key is not NULL, whose member key is the string value (or the integer it spells).
 * Returns the parsed line (caller decrefs) or NULL. */
json_t *server_wait_log(struct server *s, const char *msg_prefix, const char *key,
                        const char *value, int timeout_ms);

/* The access-log line of one request, by its X-Request-Id (waits up to 5 s). Caller decrefs. */
json_t *server_access_log(struct server *s, const char *request_id);

/* Prints the current run's output to stderr (for diagnosing a failure). */
void server_dump_log(struct server *s);

/* ---- HTTP ---- */

struct resp_header {
    char *name;
    char *value;
};

struct resp {
    long status;                 /* 0: no HTTP response arrived (error says why) */
    char error[CURL_ERROR_SIZE]; /* curl's reason when status is 0 */
    struct resp_header *headers; /* of the final response, in order */
    size_t nheaders;
    char *body; /* NUL-terminated (never NULL after an exchange) */
    size_t len;
    json_t *json;  /* the body parsed, when the response says it is JSON; else NULL */
    long connects; /* connections opened for this exchange: 0 when one was reused */
};

struct request {
    const char *method;         /* "GET", "HEAD", "POST", ... */
    const char *path;           /* with the query: "/api/v1/notices?limit=5" (sent as is) */
    const char *const *headers; /* "Name: value", NULL-terminated; "Name:" drops a default */
    const char *body;           /* a body of len bytes, or NULL */
    size_t len;
    curl_read_callback read; /* or a streamed body (body NULL): read(..., read_ctx) */
    void *read_ctx;
    long long read_len; /* bytes read() will give, or -1: sent chunked */
    long timeout_ms;    /* whole exchange; 0: 20 s */
};

/* A libcurl handle for one thread (curl_easy_cleanup() it). Connections are kept alive between
 * exchanges on the same handle. */
CURL *client_new(void);

/* One exchange on handle c with 127.0.0.1:port. "Expect: 100-continue" is not sent unless
 * rq->headers asks for it. Caller frees the result with resp_free(). */
struct resp http_exchange(CURL *c, int port, const struct request *rq);

/* One exchange on the server's own handle (kept alive across calls). body may be NULL. */
struct resp api(struct server *s, const char *method, const char *path, const char *const *headers,
                const char *body, size_t len);
struct resp api_get(struct server *s, const char *path);

/* POST /api/v1/notices with the operator token and application/json. */
struct resp notice_post(struct server *s, const char *json);

/* The value of the last response header called name (case-insensitive), or NULL. */
const char *resp_header(const struct resp *r, const char *name);
void resp_free(struct resp *r);

/* How many notices the server lists (following every "next" link); -1 on an error. */
long notice_count(struct server *s);

/* Does GET /health answer 200 {"status":"ok"}? */
int health_ok(struct server *s);

/* ---- assertions (fail the test at the caller's line, printing the response) ---- */

#define assert_status(r, st) assert_status_at((r), (st), __FILE__, __LINE__)
/* status, Content-Type application/problem+json, type /problems/<slug>, status and title
 * members, requestId equal to the X-Request-Id header, instance a path */
#define assert_problem(r, st, slug) assert_problem_at((r), (st), (slug), __FILE__, __LINE__)
/* assert_problem(), and the server stored nothing (notice_count() is still before) and still
 * answers GET /health */
#define assert_rejected(s, r, st, slug, before)                                                    \
    assert_rejected_at((s), (r), (st), (slug), (before), __FILE__, __LINE__)
#define assert_header(r, name, value) assert_header_at((r), (name), (value), __FILE__, __LINE__)

void assert_status_at(const struct resp *r, long status, const char *file, int line);
void assert_problem_at(const struct resp *r, long status, const char *slug, const char *file,
                       int line);
void assert_rejected_at(struct server *s, const struct resp *r, long status, const char *slug,
                        long before, const char *file, int line);
void assert_header_at(const struct resp *r, const char *name, const char *value, const char *file,
                      int line);

/* ---- streamed request bodies ---- */

/* A gate threads wait at until the test opens it. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int open;
    int waiting; /* threads that have reached the gate */
};

void gate_init(struct gate *g);
void gate_open(struct gate *g);
/* Waits up to timeout_ms until n threads wait at the gate; returns 1 when they do. */
int gate_await_waiters(struct gate *g, int n, int timeout_ms);
void gate_release(struct gate *g);

/* A body sent in two parts: the first `first` bytes, then a pause (sleep pause_ms, or wait at
 * gate), then the rest. first == 0: no pause. Use body_stream_read as request.read. */
struct body_stream {
    const char *data;
    size_t len;
    size_t first;
    long pause_ms;
    struct gate *gate;
    size_t pos;
    int paused;
};

size_t body_stream_read(char *buf, size_t size, size_t nitems, void *ctx);

/* ---- the data folder's database, beside the server (harness_db.c) ---- */

/* Setup and checks a test makes in the database itself: the SQLite file <data_dir>/cityos.db,
 * or, on a PostgreSQL run (suite pg), the folder's own database there. One statement of portable
 * SQL (it runs on both), with `?` placeholders bound in order to params (text values; a
 * NULL-terminated list such as LIST("a", "b"), or NULL for none). A write waits (up to 10 s)
 * for the server's writer. Any error fails the test, printing the SQL. */

/* Is this a PostgreSQL run (CITYOS_TEST_BACKEND=postgresql)? */
int harness_db_is_pg(void);

/* The first column of the first row as an integer, or -1 when there is no row or it is NULL
 * (INSERT ... RETURNING works too). */
long harness_db_int(const char *data_dir, const char *sql, const char *const *params);

/* The same with printf-style SQL and no parameters. */
long harness_db_intf(const char *data_dir, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Runs a statement; returns how many rows it changed. */
long harness_db_exec(const char *data_dir, const char *sql, const char *const *params);

/* ---- small helpers ---- */

/* Text of the Prometheus sample called series (name with labels, exactly as printed), or -1. */
double metric_value(const char *text, const char *series);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int free_port(void);

/* A new folder under $TMPDIR (or /tmp); caller frees the path and removes it (remove_tree). */
char *temp_dir(void);
void remove_tree(const char *path);
void write_file(const char *path, const char *text);

/* o[k] as a string, or NULL when absent or not a string (borrowed). */
const char *json_str(const json_t *o, const char *k);

/* Runs a shell command and returns its standard output (malloc'ed); a non-zero exit fails the
 * test, printing the output. Runs harness_command(cmd). */
char *run_command(const char *cmd);

/* The shell command to run for cmd (malloc'ed): on a PostgreSQL run, cmd with
 * CITYOS_DATABASE_URL exported for the --data-dir it names (the folder's database, made on first
 * use: `cityos demo --data-dir=X` before the server starts on X seeds the server's database);
 * otherwise a copy of cmd. Tests that popen() `cityos` themselves run this. */
char *harness_command(const char *cmd);

/* The value of "key=value" in text (key at the start of a line or after a space; the value
 * ends at a space or newline), into out; fails the test when absent. */
void text_value(const char *text, const char *key, char *out, size_t cap);

/* The client_id `cityos demo` printed for the client named label ("sample app", "city portal")
 * in its output demo_out, into out; fails the test when there is none. */
void demo_client_id(const char *demo_out, const char *label, char *out, size_t cap);

/* malloc'ed printf; n copies of unit. Never NULL (abort on out of memory). */
char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2), nonnull(1)));
char *str_repeat(const char *unit, size_t n);

/* "Authorization: Basic base64(id:secret)" for an OAuth client (RFC 6749 section 2.3.1; the ids
 * and secrets cityos makes need no form-encoding). Malloc'ed; the caller frees it. */
char *basic_auth_header(const char *id, const char *secret);

void sleep_ms(long ms);
uint64_t now_ms(void); /* monotonic */

/* ---- shared between harness.c and harness_http.c only ---- */

struct timespec;
/* PostgreSQL runs (harness_pg.c): the database URL for a data folder when
 * CITYOS_TEST_DATABASE_URL is set (created on first use, exported as CITYOS_DATABASE_URL;
 * malloc'd), else NULL. */
char *harness__pg_url_for(const char *data_dir);
char *harness__pg_db_url(const char *data_dir);      /* the same, neither made nor exported */
void harness__init(void);                            /* curl's global init, once */
void *harness__xmalloc(size_t n);                    /* aborts when out of memory */
char *harness__xstrdup(const char *s);               /* aborts when out of memory */
void harness__deadline(struct timespec *ts, int ms); /* CLOCK_REALTIME now + ms */
CURL *harness__curl(struct server *s);               /* the server's own client handle */

#endif

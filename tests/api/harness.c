/* harness.c - starts and stops the cityos binary for API tests and drains and keeps its output
 * in a thread; also the small helpers (temporary folders, ports, strings) the tests share. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define LAUNCH_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS   20000
#define MAX_LINES         200000
#define MAX_LINE          (256 * 1024)
#define MAX_SERVERS       64

struct server {
    char **argv; /* the whole command line, NULL-terminated */
    char **envp;
    char *data_dir;
    char *temp_root; /* the temporary folder we made (removed at free), or NULL */
    pid_t pid;       /* 0 when not running */
    int port;
    int status;       /* as server_wait_exit() returns */
    int sanitizer;    /* a run printed a sanitizer report */
    CURL *curl;       /* the tests' own handle: keep-alive across api() calls */
    int out_fd;       /* read end of the output pipe */
    pthread_t reader; /* drains out_fd into lines */
    pid_t reader_pid; /* the pid the reader drains (for CITYOS_API_VERBOSE) */
    int reader_running;
    pthread_mutex_t lock; /* guards lines, nlines, eof */
    pthread_cond_t cond;
    char **lines;
    size_t nlines, cap;
    int eof;
};

/* ---- process-wide state: curl's global init, and a registry so no server outlives us ---- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct server *registry[MAX_SERVERS];

void *harness__xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

char *harness__xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = harness__xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

static void at_exit_cleanup(void)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < MAX_SERVERS; i++) {
        struct server *s = registry[i];
        if (s == NULL)
            continue;
        if (s->pid > 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->pid = 0;
        }
        if (s->temp_root != NULL)
            remove_tree(s->temp_root);
    }
    pthread_mutex_unlock(&registry_lock);
}

static void global_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        abort();
    atexit(at_exit_cleanup);
}

void harness__init(void)
{
    pthread_once(&once, global_init);
}

static void registry_set(struct server *s, struct server *with)
{
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < MAX_SERVERS; i++) {
        if (registry[i] == s) {
            registry[i] = with;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

/* ---- small helpers ---- */

char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    char *p = harness__xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

char *str_repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *p = harness__xmalloc(u * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(p + i * u, unit, u);
    p[u * n] = '\0';
    return p;
}

void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void harness__deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

char *temp_dir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = str_printf("%s/cityos-api-XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(path) == NULL) {
        fprintf(stderr, "mkdtemp %s: %s\n", path, strerror(errno));
        abort();
    }
    return path;
}

void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char *child = str_printf("%s/%s", path, e->d_name);
                remove_tree(child);
                free(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        abort();
    }
}

int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

double metric_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

/* ---- the output reader ---- */

static void add_line(struct server *s, const char *text, size_t len)
{
    char *line = harness__xmalloc(len + 1);
    memcpy(line, text, len);
    line[len] = '\0';
    if (getenv("CITYOS_API_VERBOSE") != NULL)
        fprintf(stderr, "  [cityos %d] %s\n", (int)s->reader_pid, line);
    pthread_mutex_lock(&s->lock);
    if (s->nlines < MAX_LINES) {
        if (s->nlines == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 256;
            char **grown = realloc(s->lines, s->cap * sizeof *grown);
            if (grown == NULL)
                abort();
            s->lines = grown;
        }
        s->lines[s->nlines++] = line;
        line = NULL;
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    free(line);
}

static void *read_output(void *arg)
{
    struct server *s = arg;
    char *buf = harness__xmalloc(MAX_LINE);
    size_t used = 0;
    for (;;) {
        ssize_t n = read(s->out_fd, buf + used, MAX_LINE - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < used; i++) {
            if (buf[i] == '\n') {
                add_line(s, buf + start, i - start);
                start = i + 1;
            }
        }
        if (start == 0 && used == MAX_LINE) { /* an over-long line: keep it in pieces */
            add_line(s, buf, used);
            start = used;
        }
        memmove(buf, buf + start, used - start);
        used -= start;
    }
    if (used > 0)
        add_line(s, buf, used);
    free(buf);
    pthread_mutex_lock(&s->lock);
    s->eof = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void clear_lines(struct server *s)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nlines; i++)
        free(s->lines[i]);
    s->nlines = 0;
    s->eof = 0;
    pthread_mutex_unlock(&s->lock);
}

/* Does the parsed line match: "msg" starting with msg_prefix, member key equal to value? */
static int line_matches(const json_t *o, const char *msg_prefix, const char *key, const char *value)
{
    if (!json_is_object(o))
        return 0;
    if (msg_prefix != NULL) {
        const char *msg = json_string_value(json_object_get(o, "msg"));
        if (msg == NULL || strncmp(msg, msg_prefix, strlen(msg_prefix)) != 0)
            return 0;
    }
    if (key != NULL) {
        const json_t *v = json_object_get(o, key);
        if (json_is_string(v))
            return strcmp(json_string_value(v), value) == 0;
        if (json_is_integer(v)) {
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            return strcmp(num, value) == 0;
        }
        return 0;
    }
    return 1;
}

json_t *server_wait_log(struct server *s, const char *msg_prefix, const char *key,
                        const char *value, int timeout_ms)
{
    struct timespec deadline;
    harness__deadline(&deadline, timeout_ms);
    size_t seen = 0;
    json_t *found = NULL;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        for (; seen < s->nlines && found == NULL; seen++) {
            json_t *o = json_loads(s->lines[seen], 0, NULL);
            if (line_matches(o, msg_prefix, key, value))
                found = o;
            else
                json_decref(o);
        }
        if (found != NULL || s->eof)
            break;
        if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT) {
            for (; seen < s->nlines && found == NULL; seen++) { /* a last look */
                json_t *o = json_loads(s->lines[seen], 0, NULL);
                if (line_matches(o, msg_prefix, key, value))
                    found = o;
                else
                    json_decref(o);
            }
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

json_t *server_access_log(struct server *s, const char *request_id)
{
    return server_wait_log(s, "request", "request_id", request_id, 5000);
}

int server_log_has(struct server *s, const char *needle)
{
    int found = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nlines && !found; i++) {
        if (strstr(s->lines[i], needle) != NULL) {
            found = 1;
            break;
        }
        json_t *o = json_loads(s->lines[i], 0, NULL);
        const char *msg = json_string_value(json_object_get(o, "msg"));
        found = msg != NULL && strstr(msg, needle) != NULL;
        json_decref(o);
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

void server_dump_log(struct server *s)
{
    pthread_mutex_lock(&s->lock);
    fprintf(stderr, "---- cityos output (%zu lines) ----\n", s->nlines);
    for (size_t i = 0; i < s->nlines; i++)
        fprintf(stderr, "%s\n", s->lines[i]);
    fprintf(stderr, "---- end of cityos output ----\n");
    pthread_mutex_unlock(&s->lock);
}

/* Marks s when the finished run printed a sanitizer report, and prints that report. */
static void scan_for_sanitizer_reports(struct server *s)
{
    static const char *const marks[] = {"runtime error:", "ERROR: AddressSanitizer",
                                        "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer", NULL};
    int hit = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nlines && !hit; i++)
        for (const char *const *m = marks; *m != NULL && !hit; m++)
            hit = strstr(s->lines[i], *m) != NULL;
    pthread_mutex_unlock(&s->lock);
    if (hit) {
        s->sanitizer = 1;
        fprintf(stderr, "cityos printed a sanitizer report:\n");
        server_dump_log(s);
    }
}

/* ---- the process ---- */

static void free_list(char **list)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        free(list[i]);
    free(list);
}

/* The value of "NAME=value" (name with its '=') in a NULL-terminated list, or NULL. */
static const char *entry_value(const char *const *list, const char *name)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        if (strncmp(list[i], name, strlen(name)) == 0)
            return list[i] + strlen(name);
    }
    return NULL;
}

/* The data folder a bare server will use: --data-dir, else CITYOS_DATA_DIR, else the data_dir
 * (or data-dir) line of its configuration file (--config or CITYOS_CONFIG), else fallback.
 * Points into cfg or a static buffer. */
static const char *bare_data_dir(const struct server_config *cfg, const char *fallback)
{
    const char *dir = entry_value(cfg->args, "--data-dir=");
    if (dir == NULL)
        dir = entry_value(cfg->env, "CITYOS_DATA_DIR=");
    if (dir != NULL)
        return dir;
    const char *ini = entry_value(cfg->args, "--config=");
    if (ini == NULL)
        ini = entry_value(cfg->env, "CITYOS_CONFIG=");
    FILE *fp = ini != NULL ? fopen(ini, "r") : NULL;
    if (fp == NULL)
        return fallback;
    static char line[1024];
    const char *found = fallback;
    while (fgets(line, sizeof line, fp) != NULL) {
        char *p = line + strspn(line, " \t");
        if (strncmp(p, "data_dir", 8) != 0 && strncmp(p, "data-dir", 8) != 0)
            continue;
        p += 8 + strspn(p + 8, " \t");
        if (*p != '=')
            continue;
        p += 1 + strspn(p + 1, " \t");
        p[strcspn(p, " \t\r\n")] = '\0';
        found = p;
        break;
    }
    fclose(fp);
    return found;
}

/* This process's environment without CITYOS_*, plus extra. */
static char **build_env(const char *const *extra)
{
    size_t n = 0, m = 0;
    while (environ[n] != NULL)
        n++;
    while (extra != NULL && extra[m] != NULL)
        m++;
    char **out = harness__xmalloc((n + m + 1) * sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "CITYOS_", 7) != 0)
            out[k++] = harness__xstrdup(environ[i]);
    for (size_t i = 0; i < m; i++)
        out[k++] = harness__xstrdup(extra[i]);
    out[k] = NULL;
    return out;
}

struct server *server_new(const struct server_config *cfg)
{
    harness__init();
    const char *bin = getenv("CITYOS_BIN");
    if (bin == NULL || bin[0] == '\0') {
        print_error("CITYOS_BIN is not set: run the API tests through `meson test`\n");
        fail();
    }
    struct server *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->out_fd = -1;
    s->status = -1;
    if (cfg->data_dir != NULL) {
        s->data_dir = harness__xstrdup(cfg->data_dir);
    } else {
        s->temp_root = temp_dir();
        s->data_dir = str_printf("%s/data", s->temp_root);
    }

    size_t nextra = 0;
    while (cfg->args != NULL && cfg->args[nextra] != NULL)
        nextra++;
    char **argv = harness__xmalloc((nextra + 8) * sizeof *argv);
    size_t k = 0;
    argv[k++] = harness__xstrdup(bin);
    argv[k++] = harness__xstrdup("serve");
    if (!cfg->bare) {
        argv[k++] = str_printf("--data-dir=%s", s->data_dir);
        argv[k++] = harness__xstrdup("--port=0");
        argv[k++] = harness__xstrdup("--listen=127.0.0.1");
        if (!cfg->no_admin_token)
            argv[k++] = harness__xstrdup("--admin-token=" ADMIN_TOKEN);
    }
    for (size_t i = 0; i < nextra; i++)
        argv[k++] = harness__xstrdup(cfg->args[i]);
    argv[k] = NULL;
    s->argv = argv;
    s->envp = build_env(cfg->env);
    /* issue 9: a PostgreSQL run; the database of the folder the server will use */
    char *pg_url = harness__pg_url_for(cfg->bare ? bare_data_dir(cfg, s->data_dir) : s->data_dir);
    if (pg_url != NULL) {
        size_t n = 0;
        while (s->envp[n] != NULL)
            n++;
        s->envp = realloc(s->envp, (n + 2) * sizeof *s->envp);
        if (s->envp == NULL)
            abort();
        s->envp[n] = str_printf("CITYOS_DATABASE_URL=%s", pg_url);
        s->envp[n + 1] = NULL;
        free(pg_url);
    }
    s->curl = client_new();

    int placed = 0;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < MAX_SERVERS && !placed; i++) {
        if (registry[i] == NULL) {
            registry[i] = s;
            placed = 1;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (!placed)
        abort(); /* a test leaks servers */
    return s;
}

/* Reads the port from a "listening on" line, or returns 0. */
static int listening_port(const char *line)
{
    json_t *o = json_loads(line, 0, NULL);
    int port = 0;
    if (line_matches(o, "listening on ", NULL, NULL)) {
        json_t *p = json_object_get(o, "port");
        if (json_is_integer(p))
            port = (int)json_integer_value(p);
    }
    json_decref(o);
    return port;
}

int server_launch(struct server *s)
{
    if (s->pid > 0)
        return -1;
    clear_lines(s);
    s->port = 0;
    s->status = -1;
    int fds[2];
    if (pipe(fds) != 0)
        abort();
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, s->argv[0], &fa, NULL, s->argv, s->envp);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        print_error("cannot run %s: %s\n", s->argv[0], strerror(rc));
        return -1;
    }
    s->pid = pid;
    s->out_fd = fds[0];
    s->reader_pid = pid;
    if (pthread_create(&s->reader, NULL, read_output, s) != 0)
        abort();
    s->reader_running = 1;

    struct timespec deadline;
    harness__deadline(&deadline, LAUNCH_TIMEOUT_MS);
    size_t seen = 0;
    int port = 0, gone = 0, timed_out = 0;
    pthread_mutex_lock(&s->lock);
    while (port == 0 && !gone && !timed_out) {
        for (; seen < s->nlines && port == 0; seen++)
            port = listening_port(s->lines[seen]);
        if (port != 0)
            break;
        if (s->eof)
            gone = 1;
        else if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT)
            timed_out = 1;
    }
    pthread_mutex_unlock(&s->lock);
    if (port > 0) {
        s->port = port;
        return 0;
    }
    if (timed_out) {
        print_error("cityos did not log \"listening on\" within %d ms\n", LAUNCH_TIMEOUT_MS);
        server_kill9(s);
    } else {
        server_wait_exit(s, STOP_TIMEOUT_MS);
    }
    return -1;
}

struct server *server_start_with(const struct server_config *cfg)
{
    struct server *s = server_new(cfg);
    if (server_launch(s) != 0) {
        server_dump_log(s);
        print_error("cityos did not start (exit status %d)\n", s->status);
        fail();
    }
    return s;
}

struct server *server_start(const char *const *extra_args)
{
    struct server_config cfg = {.args = extra_args};
    return server_start_with(&cfg);
}

void server_send_signal(struct server *s, int sig)
{
    if (s->pid > 0)
        kill(s->pid, sig);
}

int server_wait_exit(struct server *s, int timeout_ms)
{
    if (s->pid <= 0)
        return -1;
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    int wstatus = 0;
    pid_t got = 0;
    for (;;) {
        got = waitpid(s->pid, &wstatus, WNOHANG);
        if (got == s->pid || (got < 0 && errno != EINTR))
            break;
        if (now_ms() >= deadline) {
            print_error("cityos (pid %d) did not exit within %d ms: killing it\n", (int)s->pid,
                        timeout_ms);
            kill(s->pid, SIGKILL);
            got = waitpid(s->pid, &wstatus, 0);
            break;
        }
        sleep_ms(5);
    }
    if (got != s->pid)
        s->status = -1;
    else if (WIFEXITED(wstatus))
        s->status = WEXITSTATUS(wstatus);
    else if (WIFSIGNALED(wstatus))
        s->status = 128 + WTERMSIG(wstatus);
    s->pid = 0;
    if (s->reader_running) {
        pthread_join(s->reader, NULL); /* the pipe reaches EOF: its only writer is gone */
        s->reader_running = 0;
    }
    if (s->out_fd >= 0) {
        close(s->out_fd);
        s->out_fd = -1;
    }
    /* the next run gets new connections */
    curl_easy_cleanup(s->curl);
    s->curl = client_new();
    scan_for_sanitizer_reports(s);
    return s->status;
}

int server_stop(struct server *s)
{
    server_send_signal(s, SIGTERM);
    int rc = server_wait_exit(s, STOP_TIMEOUT_MS);
    if (rc != 0) /* a test asserting a clean stop fails next: show why (a sanitizer's report) */
        server_dump_log(s);
    return rc;
}

int server_kill9(struct server *s)
{
    server_send_signal(s, SIGKILL);
    return server_wait_exit(s, STOP_TIMEOUT_MS);
}

void server_restart(struct server *s)
{
    if (s->pid > 0) {
        int st = server_stop(s);
        if (st != 0) {
            server_dump_log(s);
            print_error("cityos exited with %d when stopped for a restart\n", st);
            fail();
        }
    }
    if (server_launch(s) != 0) {
        server_dump_log(s);
        print_error("cityos did not restart (exit status %d)\n", s->status);
        fail();
    }
}

void server_free(struct server *s)
{
    if (s == NULL)
        return;
    if (s->pid > 0)
        server_stop(s);
    int sanitizer = s->sanitizer;
    registry_set(s, NULL);
    if (s->temp_root != NULL)
        remove_tree(s->temp_root);
    clear_lines(s);
    free(s->lines);
    free_list(s->argv);
    free_list(s->envp);
    free(s->data_dir);
    free(s->temp_root);
    curl_easy_cleanup(s->curl);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
    if (sanitizer) {
        print_error("the server printed a sanitizer report (above)\n");
        fail();
    }
}

int server_port(const struct server *s)
{
    return s->port;
}

const char *server_data_dir(const struct server *s)
{
    return s->data_dir;
}

int server_exit_status(const struct server *s)
{
    return s->status;
}

CURL *harness__curl(struct server *s)
{
    return s->curl;
}

char *run_command(const char *cmd)
{
    char *run = harness_command(cmd); /* issue 9: a PostgreSQL run */
    FILE *p = popen(run, "r");
    free(run);
    assert_non_null(p);
    size_t cap = 8192, len = 0, n;
    char *out = malloc(cap);
    assert_non_null(out);
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 512) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    if (pclose(p) != 0) {
        fprintf(stderr, "%s failed:\n%s\n", cmd, out);
        fail();
    }
    return out;
}

void text_value(const char *text, const char *key, char *out, size_t cap)
{
    char *k = str_printf("%s=", key);
    const char *p = text;
    out[0] = '\0';
    while ((p = strstr(p, k)) != NULL) {
        if (p == text || p[-1] == '\n' || p[-1] == ' ') {
            p += strlen(k);
            snprintf(out, cap, "%.*s", (int)strcspn(p, " \n"), p);
            break;
        }
        p++;
    }
    free(k);
    assert_true(out[0] != '\0');
}

void demo_client_id(const char *demo_out, const char *label, char *out, size_t cap)
{
    const char *line = strstr(demo_out, label);
    assert_non_null(line);
    text_value(line, "client_id", out, cap);
}

const char *json_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

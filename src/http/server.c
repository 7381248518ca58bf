/* server.c - libmicrohttpd glue: turns MHD's callbacks into one http_request per request with
 * its own arena, enforces the header, body and time bounds, dispatches through the router, and
 * logs and counts each request once when it completes. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/ids.h"
#include "base/log.h"
#include "http/form.h"
#include "http/problem.h"
#include "http/unescape.h"

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_router *router;
    struct http_server_options opt;
    int listen_fd;
    int port;
    _Atomic uint64_t inflight;
    _Atomic uint64_t suspended; /* requests whose handler waits for asynchronous work */
    _Atomic int draining;
    _Atomic uint64_t next_request;
    char id_prefix[9];
};

/* The server's state for one request; req.conn points back here. */
struct conn_req {
    struct http_request req;
    struct http_server *srv;
    struct MHD_Connection *mhd;
    struct http_route_stats *stats;
    uint64_t start_ns;
    char *body;
    size_t body_len, body_cap;
    int too_large; /* the body passed the limit: discard the rest, answer 413 */
    int timed_out; /* the body took longer than the request timeout */
    int suspended; /* a handler is waiting for asynchronous work */
    int resumed;   /* ... which has finished: run `then` */
    http_handler then;
    void *then_ctx;
    int answered; /* a response was queued */
};

static int valid_request_id(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (n >= 64 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return n > 0;
}

static const char *make_request_id(struct http_server *srv, struct MHD_Connection *c,
                                   struct arena *a)
{
    const char *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    if (given != NULL && valid_request_id(given))
        return arena_strdup(a, given);
    uint64_t n = atomic_fetch_add_explicit(&srv->next_request, 1, memory_order_relaxed);
    return arena_printf(a, "%s-%llx", srv->id_prefix, (unsigned long long)n);
}

/* ---- what handlers call (declared in request.h) ---- */

const char *http_header(const struct http_request *req, const char *name)
{
    const struct conn_req *cr = req->conn;
    return MHD_lookup_connection_value(cr->mhd, MHD_HEADER_KIND, name);
}

const char *http_query(const struct http_request *req, const char *name)
{
    const struct conn_req *cr = req->conn;
    return MHD_lookup_connection_value(cr->mhd, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_cookie(const struct http_request *req, const char *name)
{
    const struct conn_req *cr = req->conn;
    return MHD_lookup_connection_value(cr->mhd, MHD_COOKIE_KIND, name);
}

struct query_text {
    struct arena *a;
    char *text;
    int failed;
};

static enum MHD_Result append_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    (void)kind;
    struct query_text *q = cls;
    const char *k = http_form_encode(key, q->a);
    const char *v = http_form_encode(value != NULL ? value : "", q->a);
    q->text = k != NULL && v != NULL
                  ? arena_printf(q->a, "%s%s%s=%s", q->text, q->text[0] != '\0' ? "&" : "", k, v)
                  : NULL;
    q->failed |= q->text == NULL;
    return q->text != NULL ? MHD_YES : MHD_NO;
}

const char *http_query_string(const struct http_request *req)
{
    const struct conn_req *cr = req->conn;
    struct query_text q = {req->arena, "", 0};
    MHD_get_connection_values(cr->mhd, MHD_GET_ARGUMENT_KIND, append_query_arg, &q);
    return q.failed ? NULL : q.text;
}

struct query_check {
    const char *const *allowed;
    const char *bad;
    int repeated;
    uint32_t seen;      /* bit i: allowed[i] was given */
    int ignore_unknown; /* names outside allowed pass */
};

static enum MHD_Result check_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    (void)kind;
    (void)value;
    struct query_check *q = cls;
    for (unsigned i = 0; q->allowed[i] != NULL && i < 32; i++) {
        if (strcmp(q->allowed[i], key) != 0)
            continue;
        if (q->seen & (1u << i)) {
            q->bad = key;
            q->repeated = 1;
            return MHD_NO;
        }
        q->seen |= 1u << i;
        return MHD_YES;
    }
    if (q->ignore_unknown)
        return MHD_YES;
    q->bad = key;
    return MHD_NO;
}

int http_query_only(const struct http_request *req, const char *const *allowed, const char **bad,
                    int *repeated)
{
    const struct conn_req *cr = req->conn;
    struct query_check q = {allowed, NULL, 0, 0, 0};
    MHD_get_connection_values(cr->mhd, MHD_GET_ARGUMENT_KIND, check_query_arg, &q);
    *bad = q.bad;
    *repeated = q.repeated;
    return q.bad == NULL;
}

const char *http_query_repeated(const struct http_request *req, const char *const *names)
{
    const struct conn_req *cr = req->conn;
    struct query_check q = {names, NULL, 0, 0, 1};
    MHD_get_connection_values(cr->mhd, MHD_GET_ARGUMENT_KIND, check_query_arg, &q);
    return q.bad;
}

static const char *client_address(struct MHD_Connection *c, char *buf, size_t size);

const char *http_client_addr(const struct http_request *req)
{
    const struct conn_req *cr = req->conn;
    if (cr == NULL || cr->mhd == NULL)
        return NULL;
    char buf[INET6_ADDRSTRLEN];
    client_address(cr->mhd, buf, sizeof buf);
    return buf[0] != '\0' ? arena_strdup(req->arena, buf) : NULL;
}

void http_request_suspend(struct http_request *req, http_handler then, void *ctx)
{
    struct conn_req *cr = req->conn;
    cr->then = then;
    cr->then_ctx = ctx;
    cr->suspended = 1;
    atomic_fetch_add(&cr->srv->suspended, 1);
    MHD_suspend_connection(cr->mhd);
}

void http_request_resume(struct http_request *req)
{
    struct conn_req *cr = req->conn;
    cr->resumed = 1;
    MHD_resume_connection(cr->mhd);
}

/* ---- answering ---- */

static enum MHD_Result queue_response(struct conn_req *cr)
{
    struct http_request *req = &cr->req;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        req->resp_len, (void *)(req->resp_body ? req->resp_body : ""), MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    if (req->content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
    MHD_add_response_header(resp, "X-Request-Id", req->request_id ? req->request_id : "");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    for (struct http_header *h = req->resp_headers; h != NULL; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    if (atomic_load(&cr->srv->draining) || cr->too_large || cr->timed_out)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(cr->mhd, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    cr->answered = rc == MHD_YES;
    return rc;
}

/* Sums the request line and header bytes as they arrived (name, ": ", value, CRLF). */
static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    (void)kind;
    size_t *total = cls;
    *total += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

static size_t header_bytes(struct MHD_Connection *c, const char *url, const char *method)
{
    size_t total = strlen(url) + strlen(method) + 12;
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_header_size, &total);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_header_size, &total);
    return total;
}

/* First call for a request: set up its state, and refuse early what cannot be served. */
static struct conn_req *begin_request(struct http_server *srv, struct MHD_Connection *c,
                                      const char *url, const char *method)
{
    struct arena *a = arena_new(8192);
    if (a == NULL)
        return NULL;
    struct conn_req *cr = arena_zalloc(a, sizeof *cr);
    if (cr == NULL) {
        arena_free(a);
        return NULL;
    }
    cr->srv = srv;
    cr->mhd = c;
    cr->start_ns = clock_mono_ns();
    cr->stats = &srv->router->unmatched;
    cr->req.arena = a;
    cr->req.conn = cr;
    cr->req.method = arena_strdup(a, method);
    cr->req.path = arena_strdup(a, url);
    cr->req.route = "(unmatched)";
    cr->req.request_id = make_request_id(srv, c, a);
    if (cr->req.method == NULL || cr->req.path == NULL || cr->req.request_id == NULL) {
        arena_free(a);
        return NULL;
    }
    atomic_fetch_add(&srv->inflight, 1);
    return cr;
}

static void refuse_early(struct conn_req *cr, const char *url, const char *method)
{
    struct http_server *srv = cr->srv;
    if (header_bytes(cr->mhd, url, method) > srv->opt.header_limit) {
        http_problem(&cr->req, "header-too-large", "request line and headers exceed %zu bytes",
                     srv->opt.header_limit);
        cr->too_large = 1; /* do not read a body we will not use */
        return;
    }
    const char *cl = MHD_lookup_connection_value(cr->mhd, MHD_HEADER_KIND, "Content-Length");
    if (cl != NULL) {
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno == 0 && end != cl && *end == '\0' && n > srv->opt.body_limit) {
            http_problem(&cr->req, "body-too-large", "the body may have at most %zu bytes",
                         srv->opt.body_limit);
            cr->too_large = 1;
        } else if (errno == 0 && end != cl && n > 0) {
            cr->body_cap = (size_t)n + 1;
            cr->body = malloc(cr->body_cap);
            if (cr->body == NULL || arena_defer(cr->req.arena, free, cr->body) != 0) {
                free(cr->body);
                cr->body = NULL;
                cr->body_cap = 0;
            }
        }
    }
}

/* Appends an upload chunk, enforcing the body limit while reading. */
static void take_body(struct conn_req *cr, const char *data, size_t size)
{
    size_t limit = cr->srv->opt.body_limit;
    if (cr->too_large || cr->req.status != 0)
        return;
    if (size > limit - cr->body_len || cr->body_len + size > limit) {
        cr->too_large = 1;
        return;
    }
    if (cr->body_len + size + 1 > cr->body_cap) {
        size_t cap = cr->body_cap ? cr->body_cap : 4096;
        while (cap < cr->body_len + size + 1)
            cap *= 2;
        if (cap > limit + 1)
            cap = limit + 1;
        char *nb = malloc(cap);
        if (nb == NULL || arena_defer(cr->req.arena, free, nb) != 0) {
            free(nb);
            cr->too_large = 1; /* out of memory: refuse rather than fail silently */
            return;
        }
        if (cr->body_len > 0)
            memcpy(nb, cr->body, cr->body_len);
        cr->body = nb; /* the old buffer is freed with the arena */
        cr->body_cap = cap;
    }
    memcpy(cr->body + cr->body_len, data, size);
    cr->body_len += size;
}

static void dispatch(struct conn_req *cr)
{
    struct http_request *req = &cr->req;
    if (cr->timed_out) {
        http_problem(req, "request-timeout", "the request was not received within %d s",
                     cr->srv->opt.request_timeout);
        return;
    }
    if (cr->too_large) {
        http_problem(req, "body-too-large", "the body may have at most %zu bytes",
                     cr->srv->opt.body_limit);
        return;
    }
    if (cr->body != NULL)
        cr->body[cr->body_len] = '\0';
    req->body = cr->body ? cr->body : "";
    req->body_len = cr->body_len;

    struct http_route_match m;
    enum http_match how =
        http_router_match(cr->srv->router, req->method, req->path, req->arena, &m);
    if (how == HTTP_NO_PATH) {
        http_problem(req, "not-found", "no resource at this path");
        return;
    }
    if (how == HTTP_NO_METHOD) {
        http_set_header(req, "Allow", m.allow);
        http_problem(req, "method-not-allowed", "%s is not allowed here; use %s", req->method,
                     m.allow);
        return;
    }
    req->route = m.route->pattern;
    cr->stats = &m.route->stats;
    memcpy(req->params, m.params, sizeof req->params);
    req->nparams = m.nparams;
    if (m.route->handler(req, m.route->ctx) != 0 && req->status == 0)
        http_problem(req, "internal-error", "the handler failed");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state)
{
    (void)version;
    struct http_server *srv = cls;
    struct conn_req *cr = *state;
    if (cr == NULL) {
        cr = begin_request(srv, c, url, method);
        if (cr == NULL)
            return MHD_NO; /* out of memory: close the connection */
        *state = cr;
        refuse_early(cr, url, method);
        if (cr->req.status != 0)
            return queue_response(cr);
        return MHD_YES;
    }
    if (*upload_size > 0) {
        uint64_t limit_ns = (uint64_t)srv->opt.request_timeout * 1000000000u;
        if (!cr->timed_out && clock_mono_ns() - cr->start_ns > limit_ns)
            cr->timed_out = 1;
        if (!cr->timed_out)
            take_body(cr, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (cr->answered)
        return MHD_YES;
    if (cr->suspended) {
        if (!cr->resumed)
            return MHD_YES;
        cr->suspended = 0;
        atomic_fetch_sub(&srv->suspended, 1);
        if (cr->then(&cr->req, cr->then_ctx) != 0 && cr->req.status == 0)
            http_problem(&cr->req, "internal-error", "the handler failed");
    } else if (cr->req.status == 0) {
        dispatch(cr);
        if (cr->suspended)
            return MHD_YES;
    }
    if (cr->req.status == 0)
        http_problem(&cr->req, "internal-error", "no response was produced");
    return queue_response(cr);
}

static const char *client_address(struct MHD_Connection *c, char *buf, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    buf[0] = '\0';
    if (ci == NULL || ci->client_addr == NULL)
        return buf;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)size);
    return buf;
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "ok";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client-abort";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    default:
        return "error";
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct conn_req *cr = *state;
    if (cr == NULL)
        return;
    *state = NULL;
    if (cr->suspended) {
        /* resumed, but the client had gone: the connection ends without the handler running
         * again, and the request no longer waits for anything */
        cr->suspended = 0;
        atomic_fetch_sub(&srv->suspended, 1);
    }
    uint64_t ns = clock_mono_ns() - cr->start_ns;
    double seconds = (double)ns / 1e9;
    int status = cr->answered ? cr->req.status : 0;
    if (status > 0 && status < HTTP_MAX_STATUS)
        atomic_fetch_add_explicit(&cr->stats->by_status[status], 1, memory_order_relaxed);
    histogram_observe(&cr->stats->latency, seconds);
    if (log_enabled(LOGL_INFO)) {
        char addr[INET6_ADDRSTRLEN];
        json_t *f = json_pack(
            "{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s}", "request_id", cr->req.request_id,
            "method", cr->req.method, "path", cr->req.path, "route", cr->req.route, "status",
            status, "bytes", (json_int_t)cr->req.resp_len, "duration_us", (json_int_t)(ns / 1000),
            "remote", client_address(c, addr, sizeof addr), "end", termination_name(toe));
        log_write(LOGL_INFO, __FILE__, __LINE__, f, "request");
    }
    arena_free(cr->req.arena);
    atomic_fetch_sub(&srv->inflight, 1);
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("libmicrohttpd: %s", msg);
}

/* Binds and listens on o->listen:o->port; returns the socket or -1 with e set. */
static int open_listener(const struct http_server_options *o, int *port, struct err *e)
{
    struct addrinfo hints = {0}, *res = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", o->port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    int rc = getaddrinfo(o->listen, service, &hints, &res);
    if (rc != 0) {
        err_set(e, ERR_INVALID, "cannot listen on %s: not a numeric address (%s)", o->listen,
                gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        err_set(e, ERR_IO, "cannot listen on %s:%d: %s", o->listen, o->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* Paths and query arguments are decoded by http_unescape (no %00 becomes a NUL). */
static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return http_unescape(s);
}

int http_server_start(struct http_server **out, const struct http_server_options *o,
                      struct http_router *r, struct err *e)
{
    *out = NULL;
    struct http_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    srv->router = r;
    srv->opt = *o;
    atomic_init(&srv->inflight, 0);
    atomic_init(&srv->suspended, 0);
    atomic_init(&srv->draining, 0);
    atomic_init(&srv->next_request, 1);
    char prefix[IDS_LEN + 1];
    ids_new(prefix);
    memcpy(srv->id_prefix, prefix, 8);
    srv->id_prefix[8] = '\0';
    srv->listen_fd = open_listener(o, &srv->port, e);
    if (srv->listen_fd < 0) {
        free(srv);
        return e ? e->code : ERR_IO;
    }
    /* the connection's memory pool holds the headers and the read buffer: leave room for
     * headers up to the limit so that our own check answers them with problem+json */
    size_t pool = o->header_limit * 2 + 32 * 1024;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
        MHD_OPTION_LISTEN_SOCKET, srv->listen_fd, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool, MHD_OPTION_CONNECTION_LIMIT, 4096u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK, on_unescape,
        NULL, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        close(srv->listen_fd);
        free(srv);
        return err_set(e, ERR_IO, "cannot start the HTTP server on %s:%d", o->listen, o->port);
    }
    *out = srv;
    return 0;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

uint64_t http_server_inflight(const struct http_server *s)
{
    return atomic_load(&s->inflight);
}

int http_server_draining(const struct http_server *s)
{
    return atomic_load(&s->draining);
}

uint64_t http_server_drain(struct http_server *s, int grace_seconds)
{
    atomic_store(&s->draining, 1);
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) {
        close(fd);
        s->listen_fd = -1;
    }
    uint64_t deadline = clock_mono_ns() + (uint64_t)grace_seconds * 1000000000u;
    while (atomic_load(&s->inflight) > 0 && clock_mono_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&s->inflight);
}

void http_server_stop(struct http_server *s)
{
    if (s == NULL)
        return;
    /* libmicrohttpd aborts when stopped with a suspended connection: let the asynchronous work
     * still running (store writes, hashing) finish and its requests be answered, up to 5 s */
    for (int i = 0; i < 500 && atomic_load(&s->suspended) > 0; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    uint64_t stuck = atomic_load(&s->suspended);
    if (stuck > 0) {
        log_error("%llu requests still wait for asynchronous work; the HTTP daemon is left "
                  "running as the process exits",
                  (unsigned long long)stuck);
        return;
    }
    MHD_stop_daemon(s->daemon);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    free(s);
}

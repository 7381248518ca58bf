/* harness_http.c - HTTP exchanges with the server under test through libcurl, the response
 * assertions the tests share, and streamed request bodies that pause where a test says. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_BODY (16 * 1024 * 1024)

CURL *client_new(void)
{
    harness__init();
    CURL *c = curl_easy_init();
    if (c == NULL)
        abort();
    return c;
}

struct sink {
    struct resp *r;
    size_t cap;
    int overflow;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct sink *k = ctx;
    size_t n = size * nmemb;
    struct resp *r = k->r;
    if (r->len + n > MAX_BODY) {
        k->overflow = 1;
        return 0;
    }
    if (r->len + n + 1 > k->cap) {
        size_t cap = k->cap ? k->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *nb = realloc(r->body, cap);
        if (nb == NULL)
            return 0;
        r->body = nb;
        k->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static void drop_headers(struct resp *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct resp *r = ctx;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        drop_headers(r); /* a new (final or interim) response begins */
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (colon == NULL)
        return n;
    size_t nlen = (size_t)(colon - data);
    const char *v = colon + 1, *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    struct resp_header *grown = realloc(r->headers, (r->nheaders + 1) * sizeof *grown);
    if (grown == NULL)
        return 0;
    r->headers = grown;
    struct resp_header *h = &r->headers[r->nheaders++];
    h->name = harness__xmalloc(nlen + 1);
    memcpy(h->name, data, nlen);
    h->name[nlen] = '\0';
    h->value = harness__xmalloc((size_t)(end - v) + 1);
    memcpy(h->value, v, (size_t)(end - v));
    h->value[end - v] = '\0';
    return n;
}

static int has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
            return 1;
    return 0;
}

struct resp http_exchange(CURL *c, int port, const struct request *rq)
{
    struct resp r;
    memset(&r, 0, sizeof r);
    struct sink sink = {&r, 0, 0};
    r.body = harness__xmalloc(1);
    r.body[0] = '\0';
    char *url = str_printf("http://127.0.0.1:%d%s", port, rq->path);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++)
        hl = curl_slist_append(hl, rq->headers[i]);
    if (!has_header(rq->headers, "Expect"))
        hl = curl_slist_append(hl, "Expect:");
    if (rq->read != NULL && rq->read_len < 0 && !has_header(rq->headers, "Transfer-Encoding"))
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");

    curl_easy_reset(c); /* keeps the connection cache */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms : 20000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r.error);
    if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (rq->read != NULL) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, rq->read);
        curl_easy_setopt(c, CURLOPT_READDATA, rq->read_ctx);
        if (rq->read_len >= 0)
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->read_len);
        if (strcmp(rq->method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (rq->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
        if (strcmp(rq->method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (strcmp(rq->method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    }

    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r.connects);
        const char *ct = resp_header(&r, "Content-Type");
        if (ct != NULL && strstr(ct, "json") != NULL)
            r.json = json_loadb(r.body, r.len, 0, NULL);
    } else {
        r.status = 0;
        if (r.error[0] == '\0')
            snprintf(r.error, sizeof r.error, "%s", curl_easy_strerror(cc));
        if (sink.overflow)
            snprintf(r.error, sizeof r.error, "response body over %d bytes", MAX_BODY);
    }
    curl_slist_free_all(hl);
    free(url);
    return r;
}

struct resp api(struct server *s, const char *method, const char *path, const char *const *headers,
                const char *body, size_t len)
{
    struct request rq = {
        .method = method, .path = path, .headers = headers, .body = body, .len = len};
    return http_exchange(harness__curl(s), server_port(s), &rq);
}

struct resp api_get(struct server *s, const char *path)
{
    return api(s, "GET", path, NULL, NULL, 0);
}

struct resp notice_post(struct server *s, const char *json)
{
    return api(s, "POST", NOTICES, LIST(AUTH_HEADER, JSON_HEADER), json, strlen(json));
}

const char *resp_header(const struct resp *r, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            found = r->headers[i].value;
    return found;
}

void resp_free(struct resp *r)
{
    drop_headers(r);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

long notice_count(struct server *s)
{
    long count = 0;
    char *path = str_printf("%s?limit=100", NOTICES);
    for (int page = 0; path != NULL && page < 10000; page++) {
        struct resp r = api_get(s, path);
        free(path);
        path = NULL;
        json_t *items = json_object_get(r.json, "items");
        if (r.status != 200 || !json_is_array(items)) {
            print_error("GET %s?limit=100 answered %ld: %s\n", NOTICES, r.status, r.body);
            resp_free(&r);
            return -1;
        }
        count += (long)json_array_size(items);
        const char *next = json_string_value(json_object_get(r.json, "next"));
        if (next != NULL)
            path = harness__xstrdup(next);
        resp_free(&r);
    }
    free(path);
    return count;
}

int health_ok(struct server *s)
{
    struct resp r = api_get(s, "/health");
    const char *st = json_string_value(json_object_get(r.json, "status"));
    int ok = r.status == 200 && st != NULL && strcmp(st, "ok") == 0;
    if (!ok)
        print_error("GET /health answered %ld: %s%s\n", r.status, r.body, r.error);
    resp_free(&r);
    return ok;
}

/* ---- assertions ---- */

static void fail_with(const struct resp *r, const char *file, int line, const char *what)
{
    print_error("%s:%d: %s\n  got HTTP %ld%s%s\n  body: %.3000s\n", file, line, what, r->status,
                r->status ? "" : ": ", r->status ? "" : r->error, r->body ? r->body : "");
    _fail(file, line);
}

void assert_status_at(const struct resp *r, long status, const char *file, int line)
{
    if (r->status != status) {
        char what[64];
        snprintf(what, sizeof what, "expected HTTP %ld", status);
        fail_with(r, file, line, what);
    }
}

void assert_header_at(const struct resp *r, const char *name, const char *value, const char *file,
                      int line)
{
    const char *got = resp_header(r, name);
    if (got == NULL || strcmp(got, value) != 0) {
        char *what =
            str_printf("expected header %s: %s, got %s", name, value, got ? got : "(none)");
        print_error("%s\n", what);
        free(what);
        fail_with(r, file, line, "header mismatch");
    }
}

void assert_problem_at(const struct resp *r, long status, const char *slug, const char *file,
                       int line)
{
    assert_status_at(r, status, file, line);
    const char *ct = resp_header(r, "Content-Type");
    if (ct == NULL || strncmp(ct, "application/problem+json", 24) != 0)
        fail_with(r, file, line, "expected Content-Type application/problem+json");
    if (!json_is_object(r->json))
        fail_with(r, file, line, "expected a JSON object body");
    char *type = str_printf("/problems/%s", slug);
    const char *got_type = json_string_value(json_object_get(r->json, "type"));
    int type_ok = got_type != NULL && strcmp(got_type, type) == 0;
    free(type);
    if (!type_ok) {
        print_error("expected type /problems/%s\n", slug);
        fail_with(r, file, line, "wrong problem type");
    }
    if (json_integer_value(json_object_get(r->json, "status")) != status)
        fail_with(r, file, line, "the problem's status member differs from the HTTP status");
    const char *title = json_string_value(json_object_get(r->json, "title"));
    if (title == NULL || title[0] == '\0')
        fail_with(r, file, line, "the problem has no title");
    const char *instance = json_string_value(json_object_get(r->json, "instance"));
    if (instance == NULL || instance[0] != '/')
        fail_with(r, file, line, "the problem's instance is not a path");
    const char *rid = json_string_value(json_object_get(r->json, "requestId"));
    const char *hid = resp_header(r, "X-Request-Id");
    if (rid == NULL || hid == NULL || strcmp(rid, hid) != 0)
        fail_with(r, file, line, "requestId differs from the X-Request-Id header");
}

void assert_rejected_at(struct server *s, const struct resp *r, long status, const char *slug,
                        long before, const char *file, int line)
{
    assert_problem_at(r, status, slug, file, line);
    long after = notice_count(s);
    if (after != before) {
        print_error("%s:%d: %ld notices before the rejected request, %ld after\n", file, line,
                    before, after);
        _fail(file, line);
    }
    if (!health_ok(s)) {
        print_error("%s:%d: the server no longer answers GET /health\n", file, line);
        _fail(file, line);
    }
}

/* ---- streamed bodies ---- */

void gate_init(struct gate *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->open = 0;
    g->waiting = 0;
}

void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = 1;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

int gate_await_waiters(struct gate *g, int n, int timeout_ms)
{
    struct timespec deadline;
    harness__deadline(&deadline, timeout_ms);
    pthread_mutex_lock(&g->lock);
    while (g->waiting < n)
        if (pthread_cond_timedwait(&g->cond, &g->lock, &deadline) == ETIMEDOUT)
            break;
    int ok = g->waiting >= n;
    pthread_mutex_unlock(&g->lock);
    return ok;
}

void gate_release(struct gate *g)
{
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->cond);
}

static void gate_pass(struct gate *g)
{
    struct timespec deadline;
    harness__deadline(&deadline, 30000); /* bounded even when a test forgets to open it */
    pthread_mutex_lock(&g->lock);
    g->waiting++;
    pthread_cond_broadcast(&g->cond);
    while (!g->open)
        if (pthread_cond_timedwait(&g->cond, &g->lock, &deadline) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&g->lock);
}

size_t body_stream_read(char *buf, size_t size, size_t nitems, void *ctx)
{
    struct body_stream *b = ctx;
    size_t room = size * nitems;
    if (b->first > 0 && b->pos == b->first && !b->paused) {
        b->paused = 1;
        if (b->gate != NULL)
            gate_pass(b->gate);
        else
            sleep_ms(b->pause_ms);
    }
    size_t end = b->first > 0 && b->pos < b->first ? b->first : b->len;
    size_t n = end - b->pos;
    if (n > room)
        n = room;
    memcpy(buf, b->data + b->pos, n);
    b->pos += n;
    return n;
}

char *basic_auth_header(const char *id, const char *secret)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *plain = str_printf("%s:%s", id, secret);
    size_t n = strlen(plain);
    char *out = calloc(1, 4 * (n / 3 + 1) + 32);
    size_t o = (size_t)snprintf(out, 32, "Authorization: Basic ");
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)plain[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)plain[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)plain[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    free(plain);
    return out;
}

/* fuzz_request_path.c - what arrives in a request line: the path through the router, and query
 * values that are parsed (paging cursors, RFC 3339 dates). Input: method NUL path NUL value; the
 * path is percent-decoded first, as the server does (http_unescape). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "http/router.h"
#include "http/unescape.h"
#include "services/notices/notice_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int handler(struct http_request *req, void *ctx)
{
    (void)req;
    (void)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_router router;
    static int ready;
    if (!ready) {
        http_router_init(&router);
        http_router_add(&router, "GET", "/health", handler, NULL);
        http_router_add(&router, "GET", "/api/v1/notices", handler, NULL);
        http_router_add(&router, "POST", "/api/v1/notices", handler, NULL);
        http_router_add(&router, "GET", "/api/v1/notices/{id}", handler, NULL);
        http_router_add(&router, "GET", "/a/{b}/c/{d}", handler, NULL);
        ready = 1;
    }
    if (size > 64 * 1024)
        return 0;
    char *buf = malloc(size + 3);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    /* three NUL-terminated fields; the padding guarantees each ends inside buf */
    const char *method = buf;
    char *path = buf + strlen(method) + 1;
    const char *value = path + strlen(path) + 1;
    /* decoded as the server decodes it: never longer, and no NUL inside */
    size_t before = strlen(path), n = http_unescape(path);
    if (n > before || strlen(path) != n)
        abort();

    struct arena *a = arena_new(0);
    struct http_route_match m;
    enum http_match how = http_router_match(&router, method, path, a, &m);
    if (how == HTTP_MATCHED) {
        for (size_t i = 0; i < m.nparams; i++)
            if (m.params[i] == NULL || m.params[i][0] == '\0' || strchr(m.params[i], '/'))
                abort();
    } else if (how == HTTP_NO_METHOD && m.allow[0] == '\0') {
        abort();
    }
    arena_free(a);

    int64_t ms;
    char id[IDS_LEN + 1];
    if (notice_cursor_parse(value, &ms, id) == 0) {
        char again[NOTICE_CURSOR_MAX];
        notice_cursor_format(ms, id, again);
        int64_t ms2;
        char id2[IDS_LEN + 1];
        if (notice_cursor_parse(again, &ms2, id2) != 0 || ms2 != ms || strcmp(id, id2) != 0)
            abort();
    }
    (void)clock_parse_rfc3339(value, &ms);
    free(buf);
    return 0;
}

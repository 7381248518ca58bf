/* held.c - answers held until their read is on the citizen's trail. */
#include "audit/held.h"

#include <stdlib.h>

#include "base/jsonx.h"
#include "base/log.h"
#include "fhir/outcome.h"
#include "http/problem.h"

#define NOT_RECORDED "the access could not be recorded; nothing was handed out"

int audit_held_json(struct http_request *req, struct audit_held *h, json_t *v, const char *type)
{
    size_t len = 0;
    char *text = v != NULL ? jsonx_dumps(v, &len) : NULL;
    h->body = text != NULL ? arena_strndup(req->arena, text, len) : NULL;
    free(text);
    if (h->body == NULL)
        return -1;
    h->len = len;
    h->type = type;
    return 0;
}

static void recorded(int status, const struct err *e, void *ctx)
{
    struct audit_held *h = ctx;
    h->status = status;
    if (status != 0)
        log_warn("%s could not be recorded: %s", h->what != NULL ? h->what : "a read",
                 e != NULL ? e->msg : "");
    http_request_resume(h->req);
}

static int answer(struct http_request *req, void *ctx)
{
    struct audit_held *h = ctx;
    if (h->status != 0) {
        if (h->retry_after)
            http_set_header(req, "Retry-After", "1");
        if (h->fhir)
            fhir_outcome(req, 503, "transient", NOT_RECORDED);
        else
            http_problem(req, "unavailable", NOT_RECORDED);
        return 0;
    }
    if (h->deny != NULL) {
        if (h->deny_challenge != NULL)
            http_set_header(req, "WWW-Authenticate", h->deny_challenge);
        if (h->fhir)
            fhir_outcome(req, 403, "forbidden", "%s", h->deny);
        else
            http_problem(req, "forbidden", "%s", h->deny);
        return 0;
    }
    http_set_header(req, "Cache-Control", "no-store");
    http_respond(req, h->http_status != 0 ? h->http_status : 200, h->type, h->body, h->len);
    return 0;
}

int audit_answer_when_recorded(struct http_request *req, struct store *s,
                               const struct audit_event *ev, struct audit_held *h)
{
    h->req = req;
    struct err e = {0};
    http_request_suspend(req, answer, h);
    int rc = audit_record_async(s, ev, recorded, h, &e);
    if (rc != 0) {
        log_warn("%s could not be queued for the audit trail: %s",
                 h->what != NULL ? h->what : "a read", e.msg);
        h->status = rc;
        http_request_resume(req);
    }
    return 0;
}

int audit_answer_when_written(struct http_request *req, struct store *s, store_write_fn fn,
                              void *ctx, struct audit_held *h)
{
    h->req = req;
    http_request_suspend(req, answer, h);
    if (store_write_async(s, fn, ctx, recorded, h) != 0) {
        log_warn("%s could not be queued for the audit trail",
                 h->what != NULL ? h->what : "a read");
        h->status = ERR_UNAVAILABLE;
        http_request_resume(req);
    }
    return 0;
}

/* access.c - scopes and consent for one FHIR access, and its audit event (access.h). */
#include "fhir/access.h"

#include <string.h>

#include "audit/actor.h"
#include "base/arena.h"
#include "base/clock.h"
#include "consent/category.h"
#include "fhir/request_parse.h"
#include "identity/scope.h"

/* Where the resource lies for the token's scopes (scope.h): in the compartment of the token's
 * own patient (a person's own record, or the one a delegate acts for), elsewhere with a user
 * signed in, or a back-end client's world. */
static enum id_scope_context scope_context(const struct id_principal *p, const char *subject)
{
    if (p->kind == ID_PRINCIPAL_CLIENT)
        return ID_SCOPE_SYSTEM;
    int citizen = p->kind == ID_PRINCIPAL_PERSON || p->kind == ID_PRINCIPAL_DELEGATE;
    if (subject == NULL && citizen)
        return ID_SCOPE_PATIENT; /* shared data a citizen's app reads beside their record */
    const char *own = p->kind == ID_PRINCIPAL_PERSON     ? p->subject_id
                      : p->kind == ID_PRINCIPAL_DELEGATE ? p->acting_for
                                                         : NULL;
    return subject != NULL && own != NULL && strcmp(own, subject) == 0 ? ID_SCOPE_PATIENT
                                                                       : ID_SCOPE_USER;
}

static int refuse(struct fhir_verdict *v, const char *by, const char *reason)
{
    v->permit = 0;
    v->decided_by = by;
    v->reason = reason;
    return 0;
}

int fhir_access_decide(const struct id_principal *p, const struct fhir_target *t, unsigned perm,
                       const char *purpose, const char *break_glass, struct arena *a,
                       struct fhir_verdict *v)
{
    memset(v, 0, sizeof *v);
    int write = (perm & (ID_PERM_C | ID_PERM_U | ID_PERM_D)) != 0;
    if (p->kind == ID_PRINCIPAL_OPERATOR) {
        /* the bootstrap operator keeps the shared directories; it never sees personal data */
        if (t->subject != NULL)
            return refuse(v, CONSENT_RULE_OPERATOR, "the operator has no access to personal data");
        v->permit = 1;
        v->decided_by = "rule:operator-directory";
        v->reason = "the operator keeps the city's shared directories";
        return 0;
    }
    if (p->scope == NULL ||
        id_scope_allows(p->scope, scope_context(p, t->subject), t->rtype, perm, NULL, 0) == NULL) {
        v->scope_refused = 1;
        return refuse(v, "rule:scope", "the token's scopes do not cover this");
    }
    if (t->subject == NULL) {
        /* shared data (directories, forms, schedules): readable by anyone signed in through
         * the ID; written by a practitioner or a back-end client its scopes allow */
        if (write && p->kind != ID_PRINCIPAL_PRACTITIONER && p->kind != ID_PRINCIPAL_CLIENT)
            return refuse(v, "rule:directory-writers",
                          "the city's shared directories are kept by practitioners and services");
        v->permit = 1;
        v->decided_by = write ? "rule:directory-writers" : "rule:shared-data";
        v->reason = write ? "practitioners and services keep the shared directories"
                          : "shared data is open to everyone signed in";
        return 0;
    }
    struct consent_query q = {0};
    consent_query_from_principal(&q, p);
    q.subject = t->subject;
    q.category = t->category != NULL ? consent_category_parse(t->category) : CONSENT_CAT_NONE;
    q.action = write ? CONSENT_WRITE : CONSENT_READ;
    q.purpose = purpose;
    q.now_ms = clock_now_ms();
    q.break_glass = write ? NULL : break_glass;
    if (q.category == CONSENT_CAT_NONE) {
        /* data no category names is its citizen's alone (category.h) */
        if (p->kind == ID_PRINCIPAL_PERSON && p->subject_id != NULL &&
            strcmp(p->subject_id, t->subject) == 0) {
            v->permit = 1;
            v->decided_by = CONSENT_RULE_SELF;
            v->reason = "citizens see their own record";
            return 0;
        }
        return refuse(v, CONSENT_RULE_DEFAULT,
                      "this kind of record is in no consent category: only its citizen sees it");
    }
    struct consent_decision d;
    consent_decide(consent_index_global(), &q, &d);
    v->permit = d.effect == CONSENT_PERMIT;
    v->decided_by = d.decided_by;
    v->reason = d.reason;
    v->break_glass = v->permit && strcmp(d.decided_by, CONSENT_RULE_BREAK_GLASS) == 0;
    if (d.purpose != NULL) {
        v->purpose = arena_printf(a, "%s@%lld", d.purpose, (long long)d.purpose_version);
        if (v->purpose == NULL)
            return -1;
    }
    return 0;
}

int fhir_access_event(struct http_request *req, const struct id_principal *p,
                      const struct fhir_target *t, const char *action, const struct fhir_verdict *v,
                      struct audit_event *ev)
{
    struct err e = {0};
    memset(ev, 0, sizeof *ev);
    if (audit_event_from_principal(p, ev, &e) != 0)
        return -1;
    audit_event_from_request(req, ev);
    ev->subject = t->subject;
    ev->action = action;
    ev->resource_type = t->rtype;
    ev->resource_id = t->id;
    ev->category = t->category;
    ev->purpose = v->purpose;
    ev->decision = v->permit ? AUDIT_PERMIT : AUDIT_DENY;
    ev->decided_by = v->decided_by;
    ev->reason = v->permit && !v->break_glass ? NULL : v->reason;
    return 0;
}

int fhir_access_headers(struct http_request *req, const char **purpose, const char **break_glass,
                        const char **bad)
{
    *purpose = http_header(req, FHIR_HDR_PURPOSE);
    *break_glass = NULL;
    if (*purpose != NULL) {
        size_t n = strlen(*purpose);
        int ok = n > 0 && n <= 64;
        for (const char *c = *purpose; ok && *c != '\0'; c++)
            ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' ||
                 *c == '-';
        if (!ok) {
            *bad = FHIR_HDR_PURPOSE;
            return 0;
        }
    }
    const char *bg = http_header(req, FHIR_HDR_BREAK_GLASS);
    if (bg != NULL && (*break_glass = fhir_decode_reason(req->arena, bg)) == NULL) {
        *bad = FHIR_HDR_BREAK_GLASS;
        return 0;
    }
    return 1;
}

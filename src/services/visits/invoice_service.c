/* invoice_service.c - the visits service as it runs (visits.h): its OAuth client (the actor of
 * what it writes on its own: a paid invoice, a reminder), the "invoice.paid" consumer and the
 * reminder thread. */
#include <string.h>

#include <sodium.h>

#include "base/log.h"
#include "events/event.h"
#include "identity/client.h"
#include "identity/scope.h"
#include "services/visits/internal.h"

/* What the service's client may do (SMART v2 system scopes): it updates Invoices it issued.
 * Nobody is ever issued a token for it: the service acts as it in-process. */
#define SERVICE_SCOPE "system/Invoice.cu"

static struct {
    char client_id[IDS_LEN + 1];
    struct id_scope_set scope;
} svc;

const char *visits_service_client_id(void)
{
    return svc.client_id;
}

void visits__service_principal(struct id_principal *p)
{
    memset(p, 0, sizeof *p);
    p->kind = ID_PRINCIPAL_CLIENT;
    memcpy(p->client_id, svc.client_id, sizeof p->client_id);
    p->scope_text = SERVICE_SCOPE;
    p->scope = &svc.scope;
}

static int found_client(const struct store_row *row, void *ctx)
{
    const char *id = store_row_text(row, 0, NULL);
    if (id != NULL && ids_valid(id))
        memcpy(ctx, id, IDS_LEN + 1);
    return 1;
}

static int ensure_client(struct store *s, struct err *e)
{
    char id[IDS_LEN + 1] = "";
    struct store_value v[] = {STORE_TEXT_V(VISITS_CLIENT_NAME)};
    int rc = store_query(s, "SELECT id FROM oauth_client WHERE name = ? ORDER BY created_ms, id", v,
                         1, found_client, id, e);
    if (rc != 0)
        return rc;
    if (id[0] == '\0') {
        char secret[ID_CLIENT_SECRET_LEN + 1];
        struct id_client_new in = {.name = VISITS_CLIENT_NAME,
                                   .kind = ID_CLIENT_CONFIDENTIAL,
                                   .scopes = SERVICE_SCOPE,
                                   .grant_types = ID_GRANT_CLIENT_CREDENTIALS};
        rc = id_client_create(s, &in, id, secret, e);
        sodium_memzero(secret, sizeof secret);
        if (rc != 0)
            return rc;
    }
    memcpy(svc.client_id, id, sizeof id);
    return 0;
}

int visits_register(struct store *s, const struct config *cfg, struct err *e)
{
    (void)cfg;
    int rc = id_scope_parse(SERVICE_SCOPE, &svc.scope, e);
    if (rc == 0)
        rc = ensure_client(s, e);
    if (rc == 0 && (rc = event_handler_register(VISITS_EV_PAID, VISITS_CONSUMER,
                                                visits_on_invoice_paid, s)) != 0)
        rc = err_set(e, rc, "visits: cannot register the invoice.paid consumer");
    if (rc == 0)
        rc = visits__reminder_start(s, e);
    if (rc != 0)
        return rc;
    LOG_AT(LOGL_INFO, json_pack("{s:s}", "client_id", svc.client_id), "visits: service ready");
    return 0;
}

/* fuzz_consent_json.c - the consent API's bodies: strict JSON parsing, then every body reader
 * (grant, narrowing, withdrawal, re-consent, purpose) on the same value; what validates must
 * satisfy the readers' promises, a refusal must name a member, and the served forms of what
 * was read must serialise. Also the FHIR category mapping on the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/jsonx.h"
#include "consent/consent_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(const struct err *e)
{
    if (e->code != ERR_INVALID || e->msg[0] == '\0')
        abort();
    if (e->msg[0] != '/' && e->msg[0] != ':')
        abort();
}

static void check_evidence(const struct consent_evidence *ev)
{
    if (ev->explanation_hash == NULL || strlen(ev->explanation_hash) != CONSENT_HEX_LEN ||
        ev->shown_ms <= 0 || ev->agreed_ms <= 0 || consent_channel_name(ev->channel) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    json_t *in = jsonx_parse((const char *)data, size, &e);
    if (in == NULL)
        return 0;
    struct consent_write w;

    memset(&w, 0, sizeof w);
    if (consent_json_grant(in, &w, &e) == 0) {
        check_evidence(&w.evidence);
        if (w.purpose_code == NULL || w.purpose_version < 1 || w.cats == 0 ||
            (w.cats & ~CONSENT_CATS_ALL) || w.actions == 0 || w.actions > 3 ||
            consent_recipient_kind_name(w.recipient_kind) == NULL ||
            (w.recipient_kind == CONSENT_TO_PURPOSE) != (w.recipient_id == NULL))
            abort();
    } else {
        check_refusal(&e);
    }

    memset(&w, 0, sizeof w);
    if (consent_json_narrow(in, &w, &e) == 0) {
        check_evidence(&w.evidence);
        if ((w.cats & ~CONSENT_CATS_ALL) || w.actions > 3 ||
            (w.cats == 0 && w.actions == 0 && w.valid_from_ms == 0 && w.valid_until_ms == 0))
            abort();
    } else {
        check_refusal(&e);
    }

    memset(&w, 0, sizeof w);
    if (consent_json_withdraw(in, &w, &e) == 0)
        check_evidence(&w.evidence);
    else
        check_refusal(&e);

    memset(&w, 0, sizeof w);
    if (consent_json_accept(in, &w, &e) == 0)
        check_evidence(&w.evidence);
    else
        check_refusal(&e);

    struct arena *a = arena_new(0);
    struct consent_purpose_new p;
    if (a != NULL && consent_json_purpose(in, &p, a, &e) == 0) {
        if (p.code == NULL || p.title_ja == NULL || p.explanation_en == NULL || p.cats == 0 ||
            p.retention_days < 1 || p.nrecipients > CONSENT_RECIPIENTS_MAX ||
            consent_legal_basis_name(p.legal_basis) == NULL)
            abort();
        for (size_t i = 0; i < p.nrecipients; i++)
            if (!ids_valid(p.recipients[i]))
                abort();
        /* the hash of what a citizen would be shown is always 64 hex characters */
        char hash[CONSENT_HEX_LEN + 1];
        consent_explanation_hash(&p, 1, "", hash);
        if (strlen(hash) != CONSENT_HEX_LEN)
            abort();
    } else if (a != NULL && e.code != ERR_NOMEM) {
        check_refusal(&e);
    }
    arena_free(a);

    enum consent_category c = consent_category_of_resource(in);
    if (c != CONSENT_CAT_NONE && consent_category_name(c) == NULL)
        abort();
    json_decref(in);
    return 0;
}

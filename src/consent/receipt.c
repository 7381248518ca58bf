/* receipt.c - consent receipts: the Kantara v1.1 payload of a consent change (grant, narrowing,
 * re-consent, withdrawal), checked and built in one place, signed as a compact JWS with the
 * server's Ed25519 key. */
#include "consent/receipt.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/utf8.h"
#include "identity/jose.h"

void consent_receipt_new_id(char out[CONSENT_RECEIPT_ID_LEN + 1])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
    snprintf(out, CONSENT_RECEIPT_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

const char *consent_receipt_action_name(enum consent_receipt_action a)
{
    switch (a) {
    case CONSENT_RECEIPT_GRANT:
        return "grant";
    case CONSENT_RECEIPT_WITHDRAW:
        return "withdraw";
    case CONSENT_RECEIPT_NARROW:
        return "narrow";
    case CONSENT_RECEIPT_RECONSENT:
        return "reconsent";
    }
    return NULL;
}

/* A checked text as a JSON string into o[key]; required says whether NULL/"" is an error. */
static int put_text(json_t *o, const char *key, const char *text, int required, const char *where,
                    struct err *e)
{
    if (text == NULL || text[0] == '\0') {
        if (required)
            return err_set(e, ERR_INVALID, "receipt: %s%s is required", where, key);
        return 0;
    }
    size_t n = strlen(text);
    if (n > CONSENT_RECEIPT_TEXT_MAX || !utf8_valid(text, n))
        return err_set(e, ERR_INVALID, "receipt: %s%s must be 1..%d bytes of UTF-8", where, key,
                       CONSENT_RECEIPT_TEXT_MAX);
    json_t *s = json_string(text);
    if (s == NULL || json_object_set_new(o, key, s) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    return 0;
}

static int put_list(json_t *o, const char *key, const char *const *items, size_t n,
                    const char *where, struct err *e)
{
    if (n < 1 || n > CONSENT_RECEIPT_LIST_MAX || items == NULL)
        return err_set(e, ERR_INVALID, "receipt: %s%s needs 1..%d items", where, key,
                       CONSENT_RECEIPT_LIST_MAX);
    json_t *a = json_array();
    if (a == NULL || json_object_set_new(o, key, a) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *tmp = json_object();
        if (tmp == NULL)
            return err_set(e, ERR_NOMEM, "out of memory");
        int rc = put_text(tmp, key, items[i], 1, where, e);
        if (rc == 0 && json_array_append(a, json_object_get(tmp, key)) != 0)
            rc = err_set(e, ERR_NOMEM, "out of memory");
        json_decref(tmp);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int put_new(json_t *o, const char *key, json_t *v, struct err *e)
{
    if (v == NULL || json_object_set_new(o, key, v) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    return 0;
}

static json_t *controller_json(const struct consent_receipt_controller *c, struct err *e)
{
    json_t *o = json_object(), *addr = json_object();
    int rc = o != NULL && addr != NULL ? 0 : err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0)
        rc = put_text(o, "piiController", c->name, 1, "piiControllers[].", e);
    if (rc == 0)
        rc = put_new(o, "onBehalf", json_boolean(c->on_behalf), e);
    if (rc == 0)
        rc = put_text(o, "contact", c->contact, 1, "piiControllers[].", e);
    if (rc == 0)
        rc = put_text(addr, "streetAddress", c->address, 1, "piiControllers[].address.", e);
    if (rc == 0)
        rc = put_text(addr, "addressCountry", CONSENT_RECEIPT_JURISDICTION, 1, "", e);
    if (rc == 0) {
        rc = put_new(o, "address", addr, e);
        addr = NULL;
    }
    if (rc == 0)
        rc = put_text(o, "email", c->email, 1, "piiControllers[].", e);
    if (rc == 0)
        rc = put_text(o, "phone", c->phone, 1, "piiControllers[].", e);
    if (rc == 0)
        rc = put_text(o, "piiControllerUrl", c->url, 0, "piiControllers[].", e);
    json_decref(addr);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *purpose_json(const struct consent_receipt_purpose *p, struct err *e)
{
    static const char where[] = "services[].purposes[].";
    json_t *o = json_object();
    int rc = o != NULL ? 0 : err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0)
        rc = put_text(o, "purpose", p->purpose, 1, where, e);
    if (rc == 0)
        rc = put_list(o, "purposeCategory", p->purpose_category, p->n_purpose_category, where, e);
    if (rc == 0)
        rc = put_text(o, "consentType", p->consent_type, 1, where, e);
    if (rc == 0)
        rc = put_list(o, "piiCategory", p->pii_category, p->n_pii_category, where, e);
    if (rc == 0)
        rc = put_new(o, "primaryPurpose", json_boolean(p->primary_purpose), e);
    if (rc == 0)
        rc = put_text(o, "termination", p->termination, 1, where, e);
    if (rc == 0)
        rc = put_new(o, "thirdPartyDisclosure", json_boolean(p->third_party_disclosure), e);
    if (rc == 0 && p->third_party_disclosure)
        rc = put_text(o, "thirdPartyName", p->third_party_name, 1, where, e);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *service_json(const struct consent_receipt_service *s, struct err *e)
{
    json_t *o = json_object(), *purposes = json_array();
    int rc = o != NULL && purposes != NULL ? 0 : err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0)
        rc = put_text(o, "service", s->service, 1, "services[].", e);
    if (rc == 0 &&
        (s->n_purposes < 1 || s->n_purposes > CONSENT_RECEIPT_LIST_MAX || s->purposes == NULL))
        rc = err_set(e, ERR_INVALID, "receipt: services[].purposes needs 1..%d items",
                     CONSENT_RECEIPT_LIST_MAX);
    for (size_t i = 0; rc == 0 && i < s->n_purposes; i++) {
        json_t *p = purpose_json(&s->purposes[i], e);
        if (p == NULL)
            rc = e != NULL && e->code != 0 ? e->code : ERR_NOMEM;
        else if (json_array_append_new(purposes, p) != 0)
            rc = err_set(e, ERR_NOMEM, "out of memory");
    }
    if (rc == 0) {
        rc = put_new(o, "purposes", purposes, e);
        purposes = NULL;
    }
    json_decref(purposes);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A list of objects made by fn from items[0..n). */
static int put_objects(json_t *o, const char *key, const void *items, size_t n, size_t size,
                       json_t *(*fn)(const void *, struct err *), struct err *e)
{
    if (n < 1 || n > CONSENT_RECEIPT_LIST_MAX || items == NULL)
        return err_set(e, ERR_INVALID, "receipt: %s needs 1..%d items", key,
                       CONSENT_RECEIPT_LIST_MAX);
    json_t *a = json_array();
    if (a == NULL || json_object_set_new(o, key, a) != 0)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *x = fn((const char *)items + i * size, e);
        if (x == NULL)
            return e != NULL && e->code != 0 ? e->code : ERR_NOMEM;
        if (json_array_append_new(a, x) != 0)
            return err_set(e, ERR_NOMEM, "out of memory");
    }
    return 0;
}

static json_t *controller_fn(const void *p, struct err *e)
{
    return controller_json(p, e);
}

static json_t *service_fn(const void *p, struct err *e)
{
    return service_json(p, e);
}

json_t *consent_receipt_payload(const struct consent_receipt_in *in, const char *kid, struct err *e)
{
    static const char *const health[] = {"health"};
    if (in->consent_ms <= 0 || in->issued_ms < 0) {
        err_set(e, ERR_INVALID, "receipt: consentTimestamp is required");
        return NULL;
    }
    if (consent_receipt_action_name(in->action) == NULL) {
        err_set(e, ERR_INVALID, "receipt: action must be grant, withdraw, narrow or reconsent");
        return NULL;
    }
    int64_t iat_ms = in->issued_ms > 0 ? in->issued_ms : in->consent_ms;
    json_t *o = json_object(), *expl = json_object();
    int rc = o != NULL && expl != NULL ? 0 : err_set(e, ERR_NOMEM, "out of memory");
    /* Kantara Consent Receipt v1.1, in the specification's order */
    if (rc == 0)
        rc = put_text(o, "version", CONSENT_RECEIPT_VERSION, 1, "", e);
    if (rc == 0)
        rc = put_text(o, "jurisdiction", CONSENT_RECEIPT_JURISDICTION, 1, "", e);
    if (rc == 0) /* v1.1: seconds since the epoch, UTC */
        rc = put_new(o, "consentTimestamp", json_integer(in->consent_ms / 1000), e);
    if (rc == 0)
        rc = put_text(o, "collectionMethod", in->collection_method, 1, "", e);
    if (rc == 0)
        rc = put_text(o, "consentReceiptID", in->receipt_id, 1, "", e);
    if (rc == 0 && (in->jwks_url == NULL || in->jwks_url[0] == '\0' ||
                    strlen(in->jwks_url) > CONSENT_RECEIPT_TEXT_MAX))
        rc = err_set(e, ERR_INVALID, "receipt: jwks_url is required (at most %d bytes)",
                     CONSENT_RECEIPT_TEXT_MAX);
    if (rc == 0 && (kid == NULL || kid[0] == '\0' || strlen(kid) > ID_JOSE_KID_LEN))
        rc = err_set(e, ERR_INVALID, "receipt: the signing key has no kid");
    if (rc == 0) { /* the key that verifies: the JWKS and the kid in it (also the JWS header's) */
        char ref[CONSENT_RECEIPT_TEXT_MAX + ID_JOSE_KID_LEN + 2];
        snprintf(ref, sizeof ref, "%s#%s", in->jwks_url, kid);
        rc = put_text(o, "publicKey", ref, 1, "", e);
    }
    if (rc == 0 && (in->issuer == NULL || in->issuer[0] == '\0'))
        rc = err_set(e, ERR_INVALID, "receipt: issuer is required");
    if (rc == 0)
        rc = put_text(o, "language", in->language, 1, "", e);
    if (rc == 0)
        rc = put_text(o, "piiPrincipalId", in->pii_principal_id, 1, "", e);
    if (rc == 0)
        rc = put_objects(o, "piiControllers", in->controllers, in->n_controllers,
                         sizeof *in->controllers, controller_fn, e);
    if (rc == 0)
        rc = put_text(o, "policyUrl", in->policy_url, 1, "", e);
    if (rc == 0)
        rc = put_objects(o, "services", in->services, in->n_services, sizeof *in->services,
                         service_fn, e);
    if (rc == 0)
        rc = put_new(o, "sensitive", json_true(), e);
    if (rc == 0)
        rc = in->n_spi_cat == 0 ? put_list(o, "spiCat", health, 1, "", e)
                                : put_list(o, "spiCat", in->spi_cat, in->n_spi_cat, "", e);
    /* cityos: what happened, and the explanation the citizen saw */
    if (rc == 0)
        rc = put_text(o, "action", consent_receipt_action_name(in->action), 1, "", e);
    if (rc == 0)
        rc = put_text(o, "consentId", in->consent_id, 1, "", e);
    if (rc == 0)
        rc = put_text(expl, "version", in->explanation_version, 1, "explanation.", e);
    if (rc == 0)
        rc = put_text(expl, "hash", in->explanation_hash, 1, "explanation.", e);
    if (rc == 0) {
        rc = put_new(o, "explanation", expl, e);
        expl = NULL;
    }
    /* JWT claims (RFC 7519): who signed, when, which receipt, about whom */
    if (rc == 0)
        rc = put_text(o, "iss", in->issuer, 1, "", e);
    if (rc == 0)
        rc = put_text(o, "sub", in->pii_principal_id, 1, "", e);
    if (rc == 0)
        rc = put_new(o, "iat", json_integer(iat_ms / 1000), e);
    if (rc == 0)
        rc = put_text(o, "jti", in->receipt_id, 1, "", e);
    json_decref(expl);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *consent_receipt_make(const struct consent_receipt_in *in, const struct id_jose_key *key,
                           struct err *e)
{
    json_t *payload = consent_receipt_payload(in, key->kid, e);
    if (payload == NULL)
        return NULL;
    char *jws = id_jose_sign(key, payload, e);
    json_decref(payload);
    return jws;
}

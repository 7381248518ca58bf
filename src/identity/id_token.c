/* id_token.c - ID token claims and signing, and the person claims shared with userinfo. */
#include "identity/id_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "identity/jose.h"
#include "identity/keys.h"
#include "identity/scope.h"

int id_claims_scope_of(const char *scope_text, struct id_claims_scope *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct id_scope_set *set = malloc(sizeof *set);
    if (set == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    int rc = id_scope_parse(scope_text, set, e);
    if (rc == 0) {
        out->openid = id_scope_find(set, ID_SCOPE_OPENID, NULL) != NULL;
        out->profile = id_scope_find(set, ID_SCOPE_PROFILE, NULL) != NULL;
        out->fhiruser = id_scope_find(set, ID_SCOPE_FHIRUSER, NULL) != NULL;
    }
    free(set);
    return rc;
}

static int set_str(json_t *o, const char *key, const char *value)
{
    return value == NULL ? 0 : json_object_set_new(o, key, json_string(value));
}

int id_claims_person(json_t *o, const struct id_person *p, const struct id_claims_scope *cs,
                     const char *issuer, int practitioner)
{
    int bad = 0;
    if (cs->profile && p != NULL) {
        /* Japanese order, family name first, as a Japanese ID card writes it */
        size_t n = strlen(p->family_name_kanji) + strlen(p->given_name_kanji) + 2;
        size_t k = strlen(p->family_name_kana) + strlen(p->given_name_kana) + 2;
        char *name = malloc(n), *kana = malloc(k);
        if (name == NULL || kana == NULL) {
            free(name);
            free(kana);
            return -1;
        }
        snprintf(name, n, "%s %s", p->family_name_kanji, p->given_name_kanji);
        snprintf(kana, k, "%s %s", p->family_name_kana, p->given_name_kana);
        bad |= set_str(o, "name", name);
        bad |= set_str(o, "family_name", p->family_name_kanji);
        bad |= set_str(o, "given_name", p->given_name_kanji);
        bad |= set_str(o, "name#ja-Kana-JP", kana);
        bad |= set_str(o, "family_name#ja-Kana-JP", p->family_name_kana);
        bad |= set_str(o, "given_name#ja-Kana-JP", p->given_name_kana);
        bad |= set_str(o, "birthdate", p->birth_date);
        bad |= set_str(o, "gender", id_sex_name(p->sex));
        free(name);
        free(kana);
    }
    if (cs->fhiruser && p != NULL) {
        size_t n = strlen(issuer) + IDS_LEN + 32;
        char *url = malloc(n);
        if (url == NULL)
            return -1;
        snprintf(url, n, "%s/fhir/%s/%s", issuer, practitioner ? "Practitioner" : "Patient", p->id);
        bad |= set_str(o, "fhirUser", url);
        free(url);
    }
    return bad ? -1 : 0;
}

/* "pwd otp" -> ["pwd","otp"] */
static json_t *amr_array(const char *amr)
{
    json_t *a = json_array();
    for (const char *s = amr; a != NULL && s != NULL && *s != '\0';) {
        const char *end = strchr(s, ' ');
        size_t n = end != NULL ? (size_t)(end - s) : strlen(s);
        if (n > 0 && json_array_append_new(a, json_stringn(s, n)) != 0) {
            json_decref(a);
            return NULL;
        }
        s = end != NULL ? end + 1 : s + n;
    }
    return a;
}

char *id_token_make_id_token(const struct id_grant *g, const struct id_person *p,
                             const struct id_claims_scope *cs, const char *issuer, int with_nonce,
                             int64_t now_ms, int64_t ttl_s, struct err *e)
{
    const struct id_jose_key *key = id_keys_signing(id_keys_get());
    if (key == NULL) {
        err_set(e, ERR_INTERNAL, "no signing key is loaded");
        return NULL;
    }
    int64_t now_s = now_ms / 1000;
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "iss", issuer, "sub", g->person_id,
                          "aud", g->client_id, "exp", (json_int_t)(now_s + ttl_s), "iat",
                          (json_int_t)now_s, "auth_time", (json_int_t)(g->auth_time_ms / 1000));
    if (o == NULL) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    int bad = json_object_set_new(o, "amr", amr_array(g->amr)) != 0;
    if (with_nonce && g->nonce != NULL)
        bad |= set_str(o, "nonce", g->nonce) != 0;
    bad |= id_claims_person(o, p, cs, issuer, g->org_id != NULL) != 0;
    char *jws = NULL;
    if (bad)
        err_set(e, ERR_NOMEM, "out of memory");
    else
        jws = id_jose_sign(key, o, e);
    json_decref(o);
    return jws;
}

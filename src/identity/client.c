/* client.c - OAuth client registration in the store: redirect URI, scope and grant-type rules,
 * random secrets kept only as a BLAKE2b hash, and their constant-time check. */
#include "identity/client.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "identity/person.h"
#include "identity/scope.h"

#define SECRET_BYTES 32
#define HASH_BYTES   32 /* BLAKE2b-256 */

static const char *const grant_names[] = {"authorization_code", "client_credentials",
                                          "refresh_token"};
static const char *const kind_names[] = {"public", "confidential"};
#define NGRANTS (sizeof grant_names / sizeof grant_names[0])

const char *id_client_kind_name(enum id_client_kind v)
{
    return (unsigned)v < 2 ? kind_names[v] : "?";
}

int id_client_kind_parse(const char *text, enum id_client_kind *out)
{
    for (int i = 0; text != NULL && i < 2; i++) {
        if (strcmp(text, kind_names[i]) == 0) {
            *out = (enum id_client_kind)i;
            return 0;
        }
    }
    return ERR_INVALID;
}

int id_grant_types_parse(const char *text, unsigned *out, struct err *e)
{
    unsigned bits = 0;
    const char *p = text != NULL ? text : "";
    if (*p == '\0')
        return err_set(e, ERR_INVALID,
                       "grant_types: name at least one of authorization_code, "
                       "client_credentials, refresh_token");
    for (size_t guard = 0; guard <= NGRANTS; guard++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p), i = 0;
        while (i < NGRANTS && (strlen(grant_names[i]) != len || strncmp(grant_names[i], p, len)))
            i++;
        if (i == NGRANTS)
            return err_set(e, ERR_INVALID, "grant_types: unknown grant type \"%.*s\"",
                           (int)(len > 40 ? 40 : len), p);
        if (bits & (1u << i))
            return err_set(e, ERR_INVALID, "grant_types: \"%s\" is named twice", grant_names[i]);
        bits |= 1u << i;
        if (comma == NULL) {
            *out = bits;
            return 0;
        }
        p = comma + 1;
    }
    return err_set(e, ERR_INVALID, "grant_types: too many names");
}

const char *id_grant_types_format(unsigned grants, char buf[ID_GRANT_TYPES_TEXT_MAX])
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NGRANTS; i++)
        if (grants & (1u << i))
            used += (size_t)snprintf(buf + used, ID_GRANT_TYPES_TEXT_MAX - used, "%s%s",
                                     used ? "," : "", grant_names[i]);
    return buf;
}

/* ---- redirect URIs and scopes ---- */

/* RFC 3986 characters of a URI without fragment: unreserved, sub-delims, ':', '@', '/', '?',
 * '%' (checked for two hex digits by the caller), and '[' ']' (only around an IPv6 host). */
static int uri_char(char c)
{
    return isalnum((unsigned char)c) || strchr("-._~!$&'()*+,;=:@/?%[]", c) != NULL;
}

static int host_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.';
}

int id_client_check_uri(const char *uri, struct err *e)
{
    size_t n = strnlen(uri, ID_CLIENT_REDIRECT_MAX + 1);
    if (n == 0 || n > ID_CLIENT_REDIRECT_MAX)
        return err_set(e, ERR_INVALID, "redirect_uri: must have 1 to %d characters",
                       ID_CLIENT_REDIRECT_MAX);
    for (size_t i = 0; i < n; i++) {
        if (uri[i] == '#')
            return err_set(e, ERR_INVALID, "redirect_uri: must not have a fragment (#)");
        if (!uri_char(uri[i]))
            return err_set(e, ERR_INVALID,
                           "redirect_uri: character %zu is not allowed in a "
                           "URI",
                           i + 1);
        if (uri[i] == '%' && (i + 2 >= n || !isxdigit((unsigned char)uri[i + 1]) ||
                              !isxdigit((unsigned char)uri[i + 2])))
            return err_set(e, ERR_INVALID, "redirect_uri: '%%' must start a %%XX escape");
    }
    int secure = strncmp(uri, "https://", 8) == 0;
    if (!secure && strncmp(uri, "http://", 7) != 0)
        return err_set(e, ERR_INVALID,
                       "redirect_uri: must be an absolute https:// URI (or "
                       "http:// on a loopback address for a native app)");
    const char *auth = uri + (secure ? 8 : 7);
    size_t alen = strcspn(auth, "/?");
    if (memchr(auth, '@', alen) != NULL)
        return err_set(e, ERR_INVALID, "redirect_uri: must not carry user information (@)");
    size_t hlen;
    if (auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (close == NULL || close == auth + 1)
            return err_set(e, ERR_INVALID, "redirect_uri: malformed IPv6 host");
        for (const char *p = auth + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return err_set(e, ERR_INVALID, "redirect_uri: malformed IPv6 host");
        hlen = (size_t)(close - auth) + 1;
    } else {
        hlen = strcspn(auth, ":/?");
        if (hlen > alen)
            hlen = alen;
        for (size_t i = 0; i < hlen; i++)
            if (!host_char(auth[i]))
                return err_set(e, ERR_INVALID, "redirect_uri: malformed host");
        for (size_t i = 0; i + 1 < hlen; i++)
            if (auth[i] == '.' && auth[i + 1] == '.')
                return err_set(e, ERR_INVALID, "redirect_uri: malformed host");
        if (hlen == 0 || auth[0] == '.' || auth[hlen - 1] == '.')
            return err_set(e, ERR_INVALID, "redirect_uri: malformed host");
    }
    if (hlen < alen) {
        size_t plen = alen - hlen - 1;
        long port = plen >= 1 && plen <= 5 ? strtol(auth + hlen + 1, NULL, 10) : 0;
        if (auth[hlen] != ':' || port < 1 || port > 65535 ||
            strspn(auth + hlen + 1, "0123456789") != plen)
            return err_set(e, ERR_INVALID, "redirect_uri: malformed port");
    }
    if (strpbrk(auth + alen, "[]") != NULL)
        return err_set(e, ERR_INVALID, "redirect_uri: '[' and ']' only around an IPv6 host");
    if (!secure) {
        static const char *const loopback[] = {"127.0.0.1", "[::1]", "localhost"};
        int ok = 0;
        for (size_t i = 0; i < 3; i++)
            ok |= strlen(loopback[i]) == hlen && memcmp(auth, loopback[i], hlen) == 0;
        if (!ok)
            return err_set(e, ERR_INVALID,
                           "redirect_uri: http:// only on 127.0.0.1, [::1] or "
                           "localhost (RFC 8252); use https://");
    }
    return 0;
}

/* Parses the scopes a client may ask for with the SMART grammar (scope.h) and writes them in
 * canonical form into a malloc'ed *out (the caller frees it). */
static int canonical_scopes(const char *s, char **out, struct err *e)
{
    *out = NULL;
    size_t n = s != NULL ? strnlen(s, ID_CLIENT_SCOPES_MAX + 1) : 0;
    if (n == 0 || n > ID_CLIENT_SCOPES_MAX)
        return err_set(e, ERR_INVALID, "scopes: must have 1 to %d characters",
                       ID_CLIENT_SCOPES_MAX);
    struct id_scope_set *set = malloc(sizeof *set); /* about 96 KiB: not on the stack */
    char *text = malloc(ID_SCOPE_FORMAT_MAX);
    struct err pe = {0};
    int rc = ERR_NOMEM;
    if (set == NULL || text == NULL)
        goto out;
    if ((rc = id_scope_parse(s, set, &pe)) != 0) {
        err_set(e, rc, "scopes: %s", pe.msg);
        goto out;
    }
    if ((rc = id_scope_format(set, ID_SCOPE_FORM_KEEP_V1, text, ID_SCOPE_FORMAT_MAX)) != 0) {
        err_set(e, rc, "scopes: cannot be written back");
        goto out;
    }
    *out = text;
    text = NULL;
out:
    if (rc == ERR_NOMEM)
        err_set(e, rc, "out of memory");
    free(set);
    free(text);
    return rc;
}

static int check_client(const struct id_client_new *in, struct err *e)
{
    int rc = id__check_text("name", in->name, 1, ID_CLIENT_NAME_MAX, e);
    if (rc != 0)
        return rc;
    if ((unsigned)in->kind > ID_CLIENT_CONFIDENTIAL)
        return err_set(e, ERR_INVALID, "kind: must be public or confidential");
    unsigned g = in->grant_types;
    if (g == 0 || g >= (1u << NGRANTS))
        return err_set(e, ERR_INVALID,
                       "grant_types: name at least one of authorization_code, "
                       "client_credentials, refresh_token");
    if ((g & ID_GRANT_CLIENT_CREDENTIALS) && in->kind != ID_CLIENT_CONFIDENTIAL)
        return err_set(e, ERR_INVALID,
                       "grant_types: client_credentials needs a confidential "
                       "client");
    if ((g & ID_GRANT_REFRESH_TOKEN) && !(g & ID_GRANT_AUTHORIZATION_CODE))
        return err_set(e, ERR_INVALID,
                       "grant_types: refresh_token only with "
                       "authorization_code");
    if ((g & ID_GRANT_AUTHORIZATION_CODE) && in->n_redirect_uris == 0)
        return err_set(e, ERR_INVALID, "redirect_uris: authorization_code needs at least one");
    if (!(g & ID_GRANT_AUTHORIZATION_CODE) && in->n_redirect_uris > 0)
        return err_set(e, ERR_INVALID, "redirect_uris: only for authorization_code clients");
    if (in->n_redirect_uris > ID_CLIENT_REDIRECTS_MAX)
        return err_set(e, ERR_INVALID, "redirect_uris: at most %d", ID_CLIENT_REDIRECTS_MAX);
    for (size_t i = 0; i < in->n_redirect_uris; i++) {
        if (in->redirect_uris[i] == NULL || (rc = id_client_check_uri(in->redirect_uris[i], e)))
            return rc != 0 ? rc : err_set(e, ERR_INVALID, "redirect_uri: missing");
        for (size_t k = 0; k < i; k++)
            if (strcmp(in->redirect_uris[k], in->redirect_uris[i]) == 0)
                return err_set(e, ERR_INVALID, "redirect_uris: URI %zu is given twice", i + 1);
    }
    if (in->org_id != NULL && in->org_id[0] != '\0' && !ids_valid(in->org_id))
        return err_set(e, ERR_INVALID, "org_id: not a well-formed organisation id");
    return 0;
}

/* ---- the write ---- */

static const char SQL_CLIENT_INSERT[] =
    "INSERT INTO oauth_client (id, name, kind, secret_hash, redirect_uris, allowed_scopes, "
    "grant_types, org_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

struct client_write {
    const struct id_client_new *in;
    char id[IDS_LEN + 1];
    char hash_hex[HASH_BYTES * 2 + 1]; /* "" for a public client */
    char grants[ID_GRANT_TYPES_TEXT_MAX];
    char *uris_json; /* malloc'ed */
    char *scopes;    /* canonical, malloc'ed */
    int64_t now;
};

static int found_row(const struct store_row *row, void *ctx)
{
    (void)row;
    *(int *)ctx = 1;
    return 1;
}

static int write_client(struct store_tx *tx, void *ctx, struct err *e)
{
    struct client_write *w = ctx;
    const struct id_client_new *in = w->in;
    int has_org = in->org_id != NULL && in->org_id[0] != '\0';
    if (has_org) {
        int found = 0;
        struct store_value q[] = {STORE_TEXT_V(in->org_id)};
        int rc = store_tx_query(tx, "SELECT 1 FROM organisation WHERE id = ?", q, 1, found_row,
                                &found, e);
        if (rc != 0)
            return rc;
        if (!found)
            return err_set(e, ERR_NOTFOUND, "org_id: no such organisation");
    }
    struct store_value v[] = {
        STORE_TEXT_V(w->id),
        STORE_TEXT_V(in->name),
        STORE_TEXT_V(kind_names[in->kind]),
        w->hash_hex[0] ? STORE_TEXT_V(w->hash_hex) : STORE_NULL_V,
        STORE_TEXT_V(w->uris_json),
        STORE_TEXT_V(w->scopes),
        STORE_TEXT_V(w->grants),
        has_org ? STORE_TEXT_V(in->org_id) : STORE_NULL_V,
        STORE_INT_V(w->now),
    };
    int rc = store_tx_exec(tx, SQL_CLIENT_INSERT, v, sizeof v / sizeof v[0], e);
    return rc < 0 ? rc : 0;
}

static void secret_hash(const char *secret, size_t len, unsigned char out[HASH_BYTES])
{
    crypto_generichash(out, HASH_BYTES, (const unsigned char *)secret, len, NULL, 0);
}

int id_client_create(struct store *s, const struct id_client_new *in, char id_out[IDS_LEN + 1],
                     char secret_out[ID_CLIENT_SECRET_LEN + 1], struct err *e)
{
    secret_out[0] = '\0';
    int rc = check_client(in, e);
    if (rc != 0)
        return rc;
    struct client_write w = {.in = in, .now = clock_now_ms()};
    if ((rc = canonical_scopes(in->scopes, &w.scopes, e)) != 0)
        return rc;
    json_t *uris = json_array();
    for (size_t i = 0; uris != NULL && i < in->n_redirect_uris; i++)
        if (json_array_append_new(uris, json_string(in->redirect_uris[i])) != 0)
            json_decref(uris), uris = NULL;
    w.uris_json = uris != NULL ? jsonx_dumps(uris, NULL) : NULL;
    json_decref(uris);
    if (w.uris_json == NULL) {
        free(w.scopes);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    id_grant_types_format(in->grant_types, w.grants);
    char secret[ID_CLIENT_SECRET_LEN + 1] = "";
    if (in->kind == ID_CLIENT_CONFIDENTIAL) {
        unsigned char raw[SECRET_BYTES], hash[HASH_BYTES];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(secret, sizeof secret, raw, sizeof raw,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(raw, sizeof raw);
        secret_hash(secret, strlen(secret), hash);
        sodium_bin2hex(w.hash_hex, sizeof w.hash_hex, hash, sizeof hash);
    }
    ids_new(w.id);
    rc = store_write(s, write_client, &w, e);
    free(w.uris_json);
    free(w.scopes);
    if (rc == 0) {
        memcpy(id_out, w.id, IDS_LEN + 1);
        memcpy(secret_out, secret, sizeof secret);
    }
    sodium_memzero(secret, sizeof secret);
    return rc;
}

/* ---- reads ---- */

static const char SQL_CLIENT_GET[] =
    "SELECT id, name, kind, CASE WHEN secret_hash IS NULL THEN 0 ELSE 1 END, redirect_uris, "
    "allowed_scopes, grant_types, org_id, created_ms FROM oauth_client WHERE id = ?";

struct client_read {
    struct id_client *out;
    struct arena *a;
    int found, nomem, bad;
};

/* Copies the JSON array of redirect URIs into the arena. */
static int read_uris(struct client_read *r, const char *text, size_t len)
{
    struct id_client *c = r->out;
    json_t *arr = jsonx_parse(text, len, NULL);
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    int rc = json_is_array(arr) && n <= ID_CLIENT_REDIRECTS_MAX ? 0 : -1;
    c->redirect_uris = n > 0 ? arena_alloc(r->a, n * sizeof *c->redirect_uris) : NULL;
    if (n > 0 && c->redirect_uris == NULL)
        r->nomem = 1, rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *u = json_string_value(json_array_get(arr, i));
        if (u == NULL)
            rc = -1;
        else if ((c->redirect_uris[i] = arena_strdup(r->a, u)) == NULL)
            r->nomem = 1, rc = -1;
    }
    c->n_redirect_uris = rc == 0 ? n : 0;
    json_decref(arr);
    return rc;
}

static int read_client(const struct store_row *row, void *ctx)
{
    struct client_read *r = ctx;
    struct id_client *c = r->out;
    size_t len = 0, ulen = 0;
    const char *id = store_row_text(row, 0, &len);
    const char *uris = store_row_text(row, 4, &ulen);
    if (id == NULL || len != IDS_LEN || uris == NULL ||
        id_client_kind_parse(store_row_text(row, 2, NULL), &c->kind) != 0 ||
        id_grant_types_parse(store_row_text(row, 6, NULL), &c->grant_types, NULL) != 0) {
        r->bad = 1;
        return 1;
    }
    memcpy(c->id, id, IDS_LEN + 1);
    c->name = id__row_text(row, 1, r->a, &r->nomem);
    c->has_secret = store_row_int(row, 3) != 0;
    c->scopes = id__row_text(row, 5, r->a, &r->nomem);
    c->org_id = id__row_text(row, 7, r->a, &r->nomem);
    c->created_ms = store_row_int(row, 8);
    if (read_uris(r, uris, ulen) != 0 && !r->nomem)
        r->bad = 1;
    r->found = 1;
    return 1;
}

int id_client_get(struct store *s, const char *id, struct id_client *out, struct arena *a,
                  struct err *e)
{
    if (id == NULL || !ids_valid(id))
        return err_set(e, ERR_INVALID, "client_id: not a well-formed client id");
    struct client_read r = {.out = out, .a = a};
    struct store_value v[] = {STORE_TEXT_V(id)};
    memset(out, 0, sizeof *out);
    int rc = store_query(s, SQL_CLIENT_GET, v, 1, read_client, &r, e);
    if (rc != 0)
        return rc;
    if (r.bad)
        return err_set(e, ERR_INTERNAL, "oauth_client: a stored row is malformed");
    if (r.nomem)
        return err_set(e, ERR_NOMEM, "oauth_client: out of memory");
    if (!r.found)
        return err_set(e, ERR_NOTFOUND, "client_id: no such client");
    return 0;
}

struct secret_read {
    char hex[HASH_BYTES * 2 + 1];
    int found, has_secret;
};

static int read_secret(const struct store_row *row, void *ctx)
{
    struct secret_read *r = ctx;
    const char *h = store_row_text(row, 0, NULL);
    r->found = 1;
    r->has_secret = h != NULL && strlen(h) == HASH_BYTES * 2;
    if (r->has_secret)
        memcpy(r->hex, h, sizeof r->hex);
    return 1;
}

int id_client_check_secret(struct store *s, const char *id, const char *secret, struct err *e)
{
    if (id == NULL || !ids_valid(id))
        return err_set(e, ERR_INVALID, "client_id: not a well-formed client id");
    struct secret_read r = {0};
    struct store_value v[] = {STORE_TEXT_V(id)};
    int rc = store_query(s, "SELECT secret_hash FROM oauth_client WHERE id = ?", v, 1, read_secret,
                         &r, e);
    if (rc != 0)
        return rc;
    if (!r.found)
        return err_set(e, ERR_NOTFOUND, "client_id: no such client");
    if (!r.has_secret)
        return err_set(e, ERR_INVALID, "client_secret: this client has no secret");
    unsigned char stored[HASH_BYTES], given[HASH_BYTES];
    if (sodium_hex2bin(stored, sizeof stored, r.hex, HASH_BYTES * 2, NULL, NULL, NULL) != 0)
        return err_set(e, ERR_INTERNAL, "oauth_client: a stored secret hash is malformed");
    size_t n = secret != NULL ? strnlen(secret, ID_CLIENT_SECRET_MAX_IN + 1) : 0;
    secret_hash(secret != NULL ? secret : "", n, given);
    if (n > ID_CLIENT_SECRET_MAX_IN || sodium_memcmp(stored, given, HASH_BYTES) != 0)
        return err_set(e, ERR_INVALID, "client_secret: does not match");
    return 0;
}

int id_client_redirect_registered(const struct id_client *c, const char *uri)
{
    for (size_t i = 0; uri != NULL && i < c->n_redirect_uris; i++)
        if (strcmp(c->redirect_uris[i], uri) == 0)
            return 1;
    return 0;
}

/* oidc_flow.c - a browser with a cookie jar for the sign-in and approval pages, and the parsers
 * a client of the authorization-code flow needs (redirect query, hidden fields, JWT payload). */
#include "oidc_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the cookie jar ---- */

struct browser *browser_new(struct server *s)
{
    struct browser *b = harness__xmalloc(sizeof *b);
    memset(b, 0, sizeof *b);
    b->s = s;
    b->c = client_new();
    return b;
}

void browser_free(struct browser *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < BROWSER_COOKIES_MAX; i++)
        free(b->cookies[i]);
    curl_easy_cleanup(b->c);
    free(b);
}

static size_t name_len(const char *pair)
{
    const char *eq = strchr(pair, '=');
    return eq != NULL ? (size_t)(eq - pair) : strlen(pair);
}

const char *browser_cookie(const struct browser *b, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < BROWSER_COOKIES_MAX; i++)
        if (b->cookies[i] != NULL && name_len(b->cookies[i]) == n &&
            strncmp(b->cookies[i], name, n) == 0)
            return b->cookies[i] + n + 1;
    return NULL;
}

/* Applies one Set-Cookie value: "name=value; Path=/; ...; Max-Age=0" deletes. */
static void keep_cookie(struct browser *b, const char *set_cookie)
{
    size_t pair = strcspn(set_cookie, ";");
    char *kv = str_printf("%.*s", (int)pair, set_cookie);
    size_t n = name_len(kv);
    int remove = strstr(set_cookie, "Max-Age=0") != NULL || kv[n] != '=' || kv[n + 1] == '\0';
    for (size_t i = 0; i < BROWSER_COOKIES_MAX; i++)
        if (b->cookies[i] != NULL && name_len(b->cookies[i]) == n &&
            strncmp(b->cookies[i], kv, n) == 0) {
            free(b->cookies[i]);
            b->cookies[i] = NULL;
        }
    if (remove) {
        free(kv);
        return;
    }
    for (size_t i = 0; i < BROWSER_COOKIES_MAX; i++)
        if (b->cookies[i] == NULL) {
            b->cookies[i] = kv;
            return;
        }
    fail_msg("the browser's cookie jar is full");
}

static struct resp browser_exchange(struct browser *b, const char *method, const char *path,
                                    const char *body)
{
    char *cookie = str_printf("Cookie:");
    int first = 1;
    for (size_t i = 0; i < BROWSER_COOKIES_MAX; i++) {
        if (b->cookies[i] == NULL)
            continue;
        char *next = str_printf("%s%s%s", cookie, first ? " " : "; ", b->cookies[i]);
        free(cookie);
        cookie = next;
        first = 0;
    }
    char *lang = b->lang != NULL ? str_printf("Accept-Language: %s", b->lang) : NULL;
    const char *headers[4];
    size_t k = 0;
    if (!first)
        headers[k++] = cookie;
    if (lang != NULL)
        headers[k++] = lang;
    if (body != NULL)
        headers[k++] = FORM_HEADER;
    headers[k] = NULL;
    struct request rq = {.method = method,
                         .path = path,
                         .headers = headers,
                         .body = body,
                         .len = body != NULL ? strlen(body) : 0};
    struct resp r = http_exchange(b->c, server_port(b->s), &rq);
    for (size_t i = 0; i < r.nheaders; i++)
        if (strcasecmp(r.headers[i].name, "Set-Cookie") == 0)
            keep_cookie(b, r.headers[i].value);
    free(cookie);
    free(lang);
    return r;
}

struct resp browser_get(struct browser *b, const char *path)
{
    return browser_exchange(b, "GET", path, NULL);
}

struct resp browser_post(struct browser *b, const char *path, const char *form_body)
{
    return browser_exchange(b, "POST", path, form_body);
}

char *browser_sign_in(struct browser *b, const char *email, const char *password,
                      const char *return_to)
{
    char *enc = return_to != NULL ? form_encode(return_to) : NULL;
    char *path = enc != NULL ? str_printf("/signin?return_to=%s", enc) : str_printf("/signin");
    struct resp r = browser_get(b, path);
    assert_status(&r, 200);
    char *csrf = html_input(r.body, "login_csrf", NULL);
    char *back = html_input(r.body, "return_to", NULL);
    assert_non_null(csrf);
    assert_non_null(back);
    assert_non_null(browser_cookie(b, "cityos_login_csrf"));
    assert_string_equal(browser_cookie(b, "cityos_login_csrf"), csrf);
    resp_free(&r);
    char *body =
        form_of(LIST("login_csrf", csrf, "return_to", back, "email", email, "password", password));
    r = browser_post(b, "/signin", body);
    if (r.status != 303 || browser_cookie(b, "cityos_session") == NULL) {
        fprintf(stderr, "sign-in of %s: %ld %s\n", email, r.status, r.body);
        fail();
    }
    char *loc = harness__xstrdup(resp_header(&r, "Location"));
    resp_free(&r);
    free(body);
    free(back);
    free(csrf);
    free(path);
    free(enc);
    return loc;
}

/* ---- building requests ---- */

char *form_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = harness__xmalloc(3 * strlen(s) + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *form_of(const char *const *pairs)
{
    char *out = harness__xstrdup("");
    for (size_t i = 0; pairs[i] != NULL; i += 2) {
        if (pairs[i + 1] == NULL)
            continue;
        char *v = form_encode(pairs[i + 1]);
        char *next = str_printf("%s%s%s=%s", out, out[0] != '\0' ? "&" : "", pairs[i], v);
        free(v);
        free(out);
        out = next;
    }
    return out;
}

/* ---- reading answers ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes n bytes of form-urlencoded text ('+' is a space). Malloc'ed. */
static char *form_decode(const char *s, size_t n)
{
    char *out = harness__xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i] == '+' ? ' ' : s[i];
        }
    }
    *o = '\0';
    return out;
}

char *url_param(const char *url, const char *name)
{
    const char *q = url != NULL ? strchr(url, '?') : NULL;
    size_t n = strlen(name);
    for (const char *p = q != NULL ? q + 1 : NULL; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, "&#");
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=')
            return form_decode(p + n + 1, len - n - 1);
        if (len == n && strncmp(p, name, n) == 0)
            return harness__xstrdup("");
        p += len;
        if (*p != '&')
            break;
        p++;
    }
    return NULL;
}

/* Decodes the entities html_text() writes. Malloc'ed. */
static char *html_unescape(const char *s, size_t n)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
    char *out = harness__xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < sizeof ents / sizeof ents[0]; k++) {
            size_t el = strlen(ents[k].ent);
            if (i + el <= n && strncmp(s + i, ents[k].ent, el) == 0) {
                *o++ = ents[k].c;
                i += el;
                break;
            }
        }
        if (k == sizeof ents / sizeof ents[0])
            *o++ = s[i++];
    }
    *o = '\0';
    return out;
}

/* The attribute attr="..." inside the tag [tag, end), decoded, or NULL. */
static char *tag_attr(const char *tag, const char *end, const char *attr)
{
    char *needle = str_printf(" %s=\"", attr);
    const char *p = strstr(tag, needle);
    size_t nl = strlen(needle);
    free(needle);
    if (p == NULL || p >= end)
        return NULL;
    p += nl;
    const char *q = memchr(p, '"', (size_t)(end - p));
    return q != NULL ? html_unescape(p, (size_t)(q - p)) : NULL;
}

char *html_input(const char *html, const char *name, const char *value_prefix)
{
    for (const char *p = html != NULL ? strstr(html, "<input") : NULL; p != NULL;
         p = strstr(p + 1, "<input")) {
        const char *end = strchr(p, '>');
        if (end == NULL)
            break;
        char *n = tag_attr(p, end, "name");
        char *v = tag_attr(p, end, "value");
        int hit = n != NULL && v != NULL && strcmp(n, name) == 0 &&
                  (value_prefix == NULL || strncmp(v, value_prefix, strlen(value_prefix)) == 0);
        free(n);
        if (hit)
            return v;
        free(v);
    }
    return NULL;
}

char *html_hidden_form(const char *html, const char *const *skip)
{
    char *out = harness__xstrdup("");
    for (const char *p = html != NULL ? strstr(html, "<input") : NULL; p != NULL;
         p = strstr(p + 1, "<input")) {
        const char *end = strchr(p, '>');
        if (end == NULL)
            break;
        char *type = tag_attr(p, end, "type");
        char *n = tag_attr(p, end, "name");
        char *v = tag_attr(p, end, "value");
        int keep = type != NULL && strcmp(type, "hidden") == 0 && n != NULL && v != NULL;
        for (size_t i = 0; keep && skip != NULL && skip[i] != NULL; i++)
            keep = strcmp(skip[i], n) != 0;
        if (keep) {
            char *part = form_of(LIST(n, v));
            char *next = str_printf("%s%s%s", out, out[0] != '\0' ? "&" : "", part);
            free(part);
            free(out);
            out = next;
        }
        free(type);
        free(n);
        free(v);
    }
    return out;
}

json_t *jwt_part(const char *jws, int part)
{
    const char *dot = jws != NULL ? strchr(jws, '.') : NULL;
    const char *dot2 = dot != NULL ? strchr(dot + 1, '.') : NULL;
    if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL || (part != 0 && part != 1))
        return NULL;
    const char *from = part == 0 ? jws : dot + 1, *to = part == 0 ? dot : dot2;
    unsigned char *out = harness__xmalloc((size_t)(to - from) + 1);
    size_t len = 0;
    unsigned buf = 0;
    int bits = 0;
    for (const char *p = from; p < to; p++) {
        int v;
        if (*p >= 'A' && *p <= 'Z')
            v = *p - 'A';
        else if (*p >= 'a' && *p <= 'z')
            v = *p - 'a' + 26;
        else if (*p >= '0' && *p <= '9')
            v = *p - '0' + 52;
        else if (*p == '-')
            v = 62;
        else if (*p == '_')
            v = 63;
        else {
            free(out);
            return NULL;
        }
        buf = (buf << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (unsigned char)((buf >> bits) & 0xff);
        }
    }
    json_t *j = json_loadb((const char *)out, len, 0, NULL);
    free(out);
    return j;
}

char *oidc_token(struct server *s, const char *client_id, const char *redirect_uri,
                 const char *email, const char *password, const char *act_as, const char *scope)
{
    struct browser *b = browser_new(s);
    free(browser_sign_in(b, email, password, NULL));
    char *q = form_of(LIST("client_id", client_id, "redirect_uri", redirect_uri, "response_type",
                           "code", "scope", scope, "state", "st", "code_challenge", PKCE_CHALLENGE,
                           "code_challenge_method", "S256", "nonce", "n"));
    char *path = str_printf("/oauth/authorize?%s", q);
    struct resp page = browser_get(b, path);
    assert_status(&page, 200);
    char *act = html_input(page.body, "act_as", act_as);
    assert_non_null(act);
    char *form = html_hidden_form(page.body, LIST("act_as"));
    char *enc = form_encode(act);
    char *body = str_printf("%s&act_as=%s&decision=approve", form, enc);
    resp_free(&page);
    struct resp r = browser_post(b, "/oauth/authorize", body);
    assert_int_equal(r.status, 303);
    char *code = url_param(resp_header(&r, "Location"), "code");
    assert_non_null(code);
    resp_free(&r);
    char *tb = form_of(LIST("grant_type", "authorization_code", "client_id", client_id, "code",
                            code, "redirect_uri", redirect_uri, "code_verifier", PKCE_VERIFIER));
    r = api(s, "POST", "/oauth/token", LIST(FORM_HEADER), tb, strlen(tb));
    assert_status(&r, 200);
    char *access = strdup(json_string_value(json_object_get(r.json, "access_token")));
    assert_non_null(access);
    resp_free(&r);
    free(tb);
    free(code);
    free(body);
    free(enc);
    free(form);
    free(act);
    free(path);
    free(q);
    browser_free(b);
    return access;
}

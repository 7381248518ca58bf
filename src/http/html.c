/* html.c - escaping page builder, language choice and the headers of server-rendered pages. */
#include "http/html.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int grow(struct html_buf *b, size_t more)
{
    if (b->nomem)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap > 0 ? b->cap : 2048;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = arena_alloc(b->a, cap);
    if (p == NULL) {
        b->nomem = 1;
        return -1;
    }
    if (b->len > 0)
        memcpy(p, b->p, b->len);
    b->p = p;
    b->cap = cap;
    return 0;
}

static void append(struct html_buf *b, const char *s, size_t n)
{
    if (grow(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void html_init(struct html_buf *b, struct arena *a)
{
    memset(b, 0, sizeof *b);
    b->a = a;
}

void html_raw(struct html_buf *b, const char *markup)
{
    append(b, markup, strlen(markup));
}

void html_text(struct html_buf *b, const char *text)
{
    if (text == NULL)
        return;
    const char *run = text;
    for (const char *s = text; *s != '\0'; s++) {
        const char *ent = NULL;
        switch (*s) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&#39;";
            break;
        default:
            continue;
        }
        append(b, run, (size_t)(s - run));
        html_raw(b, ent);
        run = s + 1;
    }
    html_raw(b, run);
}

void html_begin(struct html_buf *b, enum html_lang lang, const char *title)
{
    html_raw(b, "<!DOCTYPE html>\n<html lang=\"");
    html_raw(b, html_lang_code(lang));
    html_raw(b, "\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<title>");
    html_text(b, title);
    html_raw(b, "</title><style>"
                "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;"
                "padding:0 1rem;line-height:1.6;color:#1b1b1b}"
                "label{display:block;margin-top:1rem}"
                "input[type=text],input[type=email],input[type=password]{width:100%;"
                "font-size:1.1rem;padding:.5rem;box-sizing:border-box}"
                "button{font-size:1.1rem;padding:.5rem 1.2rem;margin:1rem .5rem 0 0}"
                ".error{color:#a40000;font-weight:bold}ul.scopes li{margin:.3rem 0}"
                "</style></head><body><main>");
}

void html_end(struct html_buf *b)
{
    html_raw(b, "</main></body></html>\n");
}

int html_respond(struct http_request *req, int status, struct html_buf *b)
{
    if (b->nomem || b->p == NULL)
        return -1;
    http_set_header(req, "Cache-Control", "no-store");
    http_set_header(req, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                    "frame-ancestors 'none'; base-uri 'none'");
    http_set_header(req, "X-Frame-Options", "DENY");
    http_set_header(req, "X-Content-Type-Options", "nosniff");
    http_set_header(req, "Referrer-Policy", "no-referrer");
    http_respond(req, status, "text/html; charset=utf-8", b->p, b->len);
    return 0;
}

const char *html_lang_code(enum html_lang lang)
{
    return lang == HTML_LANG_EN ? "en" : "ja";
}

static int lang_named(const char *v, enum html_lang *out)
{
    if (v == NULL)
        return 0;
    if (strcmp(v, "ja") == 0)
        *out = HTML_LANG_JA;
    else if (strcmp(v, "en") == 0)
        *out = HTML_LANG_EN;
    else
        return 0;
    return 1;
}

/* q-value of one Accept-Language element's parameters ("; q=0.5"), 0..1000: 1000 without
 * parameters; RFC 9110 12.4.2 weight syntax ("0", "0.xyz", "1", "1.000"), anything else 0. */
static int qvalue(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == ';'))
        p++;
    if (p == end)
        return 1000;
    if (end - p < 3 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
        return 0;
    p += 2;
    if (*p != '0' && *p != '1')
        return 0;
    int q = *p == '1' ? 1000 : 0, scale = 100;
    p++;
    if (p < end && *p == '.')
        for (p++; p < end && *p >= '0' && *p <= '9' && scale > 0; p++) {
            q += q < 1000 ? (*p - '0') * scale : 0;
            scale /= 10;
        }
    while (p < end && *p == ' ')
        p++;
    return p == end ? q : 0;
}

enum html_lang html_lang_of(const struct http_request *req)
{
    enum html_lang lang = HTML_LANG_JA;
    if (lang_named(http_query(req, "lang"), &lang) || lang_named(http_cookie(req, "lang"), &lang))
        return lang;
    return html_lang_accept(http_header(req, "Accept-Language"));
}

enum html_lang html_lang_accept(const char *al)
{
    int best_ja = -1, best_en = -1;
    for (const char *p = al; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        while (p < end && *p == ' ')
            p++;
        size_t tag = 0;
        while (p + tag < end && p[tag] != ';' && p[tag] != ' ')
            tag++;
        int q = qvalue(p + tag, end);
        /* "ja", "ja-JP"; "en", "en-GB"; "*" counts for both */
        int star = tag == 1 && p[0] == '*';
        if (star || (tag >= 2 && strncasecmp(p, "ja", 2) == 0 && (tag == 2 || p[2] == '-')))
            best_ja = q > best_ja ? q : best_ja;
        if (star || (tag >= 2 && strncasecmp(p, "en", 2) == 0 && (tag == 2 || p[2] == '-')))
            best_en = q > best_en ? q : best_en;
        p = *end == ',' ? end + 1 : end;
    }
    return best_en > best_ja && best_en > 0 ? HTML_LANG_EN : HTML_LANG_JA;
}

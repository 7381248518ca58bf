/* form.c - the strict application/x-www-form-urlencoded parser: percent-decoding with bounds,
 * UTF-8 and control-character checks, and refusal of repeated names (RFC 6749 section 3.2). */
#include "http/form.h"

#include <string.h>

#include "base/utf8.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) into a new string of at most max bytes. what names the part in errors. */
static char *decode(const char *s, size_t len, size_t max, const char *what, struct arena *a,
                    struct err *e)
{
    if (len > 3 * max) { /* even fully percent-encoded it cannot fit */
        err_set(e, ERR_TOOBIG, "%s is longer than %zu bytes", what, max);
        return NULL;
    }
    char *out = arena_alloc(a, len + 1);
    if (out == NULL) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                err_set(e, ERR_INVALID, "%s has a '%%' not followed by two hex digits", what);
                return NULL;
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        } else if (c <= 0x20 || c == 0x7f) {
            err_set(e, ERR_INVALID, "%s has a character that must be percent-encoded", what);
            return NULL;
        }
        if (c < 0x20 || c == 0x7f) {
            err_set(e, ERR_INVALID, "%s holds a control character", what);
            return NULL;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    if (n > max) {
        err_set(e, ERR_TOOBIG, "%s is longer than %zu bytes", what, max);
        return NULL;
    }
    if (!utf8_valid(out, n)) {
        err_set(e, ERR_INVALID, "%s is not valid UTF-8", what);
        return NULL;
    }
    return out;
}

char *http_form_decode(const char *s, size_t len, size_t max, struct arena *a, struct err *e)
{
    return decode(s, len, max, "the value", a, e);
}

int http_form_parse(const char *body, size_t len, struct arena *a, struct http_form *out,
                    struct err *e)
{
    struct err local;
    if (e == NULL)
        e = &local;
    out->n = 0;
    if (len == 0)
        return 0;
    size_t pos = 0;
    while (pos <= len) { /* each turn consumes at least one byte or ends */
        const char *pair = body + pos;
        const char *amp = memchr(pair, '&', len - pos);
        size_t plen = amp ? (size_t)(amp - pair) : len - pos;
        if (plen == 0)
            return err_set(e, ERR_INVALID, "the form has an empty field (\"&&\" or a stray '&')");
        const char *eq = memchr(pair, '=', plen);
        if (eq == NULL || eq == pair)
            return err_set(e, ERR_INVALID, "every form field needs a name and '='");
        if (out->n == HTTP_FORM_FIELDS_MAX)
            return err_set(e, ERR_TOOBIG, "the form has more than %d fields", HTTP_FORM_FIELDS_MAX);
        char *name = decode(pair, (size_t)(eq - pair), HTTP_FORM_NAME_MAX, "a field name", a, e);
        if (name == NULL)
            return e->code;
        for (size_t i = 0; i < out->n; i++)
            if (strcmp(out->fields[i].name, name) == 0) {
                int printable = strlen(name) <= 40 && strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                   "0123456789_-.") == strlen(name);
                return err_set(e, ERR_INVALID, "parameter %s%s%s is repeated",
                               printable ? "\"" : "", printable ? name : "(a name)",
                               printable ? "\"" : "");
            }
        size_t vlen = plen - (size_t)(eq + 1 - pair);
        char *value = decode(eq + 1, vlen, HTTP_FORM_VALUE_MAX, "a field value", a, e);
        if (value == NULL)
            return e->code;
        out->fields[out->n].name = name;
        out->fields[out->n].value = value;
        out->n++;
        if (amp == NULL)
            return 0;
        pos += plen + 1;
        if (pos == len)
            return err_set(e, ERR_INVALID, "the form has an empty field (\"&&\" or a stray '&')");
    }
    return 0;
}

const char *http_form_get(const struct http_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->fields[i].name, name) == 0)
            return f->fields[i].value[0] != '\0' ? f->fields[i].value : NULL;
    return NULL;
}

char *http_form_encode(const char *s, struct arena *a)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = arena_alloc(a, 3 * n + 1);
    if (out == NULL)
        return NULL;
    char *o = out;
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

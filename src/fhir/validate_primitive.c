/* validate_primitive.c - the lexical forms of FHIR R4's string-valued primitive types, as the
 * regular expressions of profiles-types.json state them (http://hl7.org/fhir/R4/datatypes.html),
 * written out as small matchers; dates are also checked for real calendar days. */
#include <string.h>

#include "fhir/validate.h"
#include "fhir/validate_primitive.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* \s in the spec's regular expressions */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* n digits at s[*i], value in *v */
static int digits(const char *s, size_t len, size_t *i, int n, int *v)
{
    int x = 0;
    for (int k = 0; k < n; k++, (*i)++) {
        if (*i >= len || !is_digit(s[*i]))
            return 0;
        x = x * 10 + (s[*i] - '0');
    }
    *v = x;
    return 1;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/* YYYY(-MM(-DD)?)? at s[*i]; *parts set to 1, 2 or 3. Year 0000 is not allowed (R4 regex). */
static int date_part(const char *s, size_t len, size_t *i, int *parts)
{
    int y, m, d;
    if (!digits(s, len, i, 4, &y) || y == 0)
        return 0;
    *parts = 1;
    if (*i == len || s[*i] != '-')
        return 1;
    (*i)++;
    if (!digits(s, len, i, 2, &m) || m < 1 || m > 12)
        return 0;
    *parts = 2;
    if (*i == len || s[*i] != '-')
        return 1;
    (*i)++;
    if (!digits(s, len, i, 2, &d) || d < 1 || d > days_in_month(y, m))
        return 0;
    *parts = 3;
    return 1;
}

/* hh:mm:ss(.f+)? at s[*i] ([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)? */
static int time_part(const char *s, size_t len, size_t *i)
{
    int h, m, sec;
    if (!digits(s, len, i, 2, &h) || h > 23 || *i >= len || s[(*i)++] != ':' ||
        !digits(s, len, i, 2, &m) || m > 59 || *i >= len || s[(*i)++] != ':' ||
        !digits(s, len, i, 2, &sec) || sec > 60)
        return 0;
    if (*i < len && s[*i] == '.') {
        (*i)++;
        size_t start = *i;
        while (*i < len && is_digit(s[*i]))
            (*i)++;
        if (*i == start)
            return 0;
    }
    return 1;
}

/* Z|(+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00) at s[*i] */
static int zone_part(const char *s, size_t len, size_t *i)
{
    if (*i >= len)
        return 0;
    if (s[*i] == 'Z') {
        (*i)++;
        return 1;
    }
    if (s[*i] != '+' && s[*i] != '-')
        return 0;
    (*i)++;
    int h, m;
    if (!digits(s, len, i, 2, &h) || *i >= len || s[(*i)++] != ':' || !digits(s, len, i, 2, &m))
        return 0;
    return (h <= 13 && m <= 59) || (h == 14 && m == 0);
}

static int date_time_ok(const char *s, size_t len, int need_instant)
{
    size_t i = 0;
    int parts;
    if (!date_part(s, len, &i, &parts))
        return 0;
    if (i == len)
        return !need_instant;
    if (parts != 3 || s[i++] != 'T')
        return 0;
    return time_part(s, len, &i) && zone_part(s, len, &i) && i == len;
}

static int id_ok(const char *s, size_t len)
{
    if (len < 1 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' ||
              c == '.'))
            return 0;
    }
    return 1;
}

/* [^\s]+(\s[^\s]+)* : no leading or trailing whitespace, never two in a row */
static int code_ok(const char *s, size_t len)
{
    if (len == 0 || is_space(s[0]) || is_space(s[len - 1]))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (is_space(s[i]) && is_space(s[i - 1]))
            return 0;
    return 1;
}

/* \S* (and, being a JSON string of FHIR, not empty) */
static int uri_ok(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (is_space(s[i]))
            return 0;
    return 1;
}

/* urn:oid:[0-2](\.(0|[1-9][0-9]*))+ */
static int oid_ok(const char *s, size_t len)
{
    if (len < 10 || memcmp(s, "urn:oid:", 8) != 0 || s[8] < '0' || s[8] > '2')
        return 0;
    size_t i = 9;
    int arcs = 0;
    while (i < len) {
        if (s[i++] != '.' || i >= len || !is_digit(s[i]))
            return 0;
        if (s[i] == '0') {
            i++;
        } else {
            while (i < len && is_digit(s[i]))
                i++;
        }
        arcs++;
    }
    return arcs >= 1;
}

/* urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} */
static int uuid_ok(const char *s, size_t len)
{
    if (len != 45 || memcmp(s, "urn:uuid:", 9) != 0)
        return 0;
    for (size_t i = 9; i < len; i++) {
        size_t k = i - 9;
        if (k == 8 || k == 13 || k == 18 || k == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f')) {
            return 0;
        }
    }
    return 1;
}

/* (\s*([0-9a-zA-Z\+/=]){4}\s*)+ with '=' only as the padding of the last quad */
static int base64_ok(const char *s, size_t len)
{
    size_t n = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (is_space(c))
            continue;
        if (c == '=') {
            pad++;
        } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '+' ||
                   c == '/') {
            if (pad > 0)
                return 0;
        } else {
            return 0;
        }
        n++;
    }
    return n > 0 && n % 4 == 0 && pad <= 2;
}

/* [1-9][0-9]* and [0]|([1-9][0-9]*) as strings (the JSON form is a number; these are for
 * search values), both within 32 bits */
static int uint_ok(const char *s, size_t len, int positive)
{
    if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
        return 0;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v <= 2147483647LL && (!positive || v > 0);
}

static int date_ok(const char *s, size_t len)
{
    size_t i = 0;
    int parts;
    return date_part(s, len, &i, &parts) && i == len;
}

static int datetime_ok(const char *s, size_t len)
{
    return date_time_ok(s, len, 0);
}

static int instant_ok(const char *s, size_t len)
{
    return date_time_ok(s, len, 1);
}

static int time_ok(const char *s, size_t len)
{
    size_t i = 0;
    return time_part(s, len, &i) && i == len;
}

static int text_ok(const char *s, size_t len)
{
    (void)s;
    return len > 0; /* [ \r\n\t\S]+ */
}

static int positive_ok(const char *s, size_t len)
{
    return uint_ok(s, len, 1);
}

static int unsigned_ok(const char *s, size_t len)
{
    return uint_ok(s, len, 0);
}

enum fhir_prim fhir_validate__prim(const char *t)
{
    switch (t[0]) {
    case 'b':
        return strcmp(t, "boolean") == 0        ? FHIR_PRIM_BOOLEAN
               : strcmp(t, "base64Binary") == 0 ? FHIR_PRIM_BASE64BINARY
                                                : FHIR_PRIM_NONE;
    case 'c':
        return strcmp(t, "code") == 0        ? FHIR_PRIM_CODE
               : strcmp(t, "canonical") == 0 ? FHIR_PRIM_CANONICAL
                                             : FHIR_PRIM_NONE;
    case 'd':
        return strcmp(t, "dateTime") == 0  ? FHIR_PRIM_DATETIME
               : strcmp(t, "date") == 0    ? FHIR_PRIM_DATE
               : strcmp(t, "decimal") == 0 ? FHIR_PRIM_DECIMAL
                                           : FHIR_PRIM_NONE;
    case 'i':
        return strcmp(t, "id") == 0        ? FHIR_PRIM_ID
               : strcmp(t, "integer") == 0 ? FHIR_PRIM_INTEGER
               : strcmp(t, "instant") == 0 ? FHIR_PRIM_INSTANT
                                           : FHIR_PRIM_NONE;
    case 'm':
        return strcmp(t, "markdown") == 0 ? FHIR_PRIM_MARKDOWN : FHIR_PRIM_NONE;
    case 'o':
        return strcmp(t, "oid") == 0 ? FHIR_PRIM_OID : FHIR_PRIM_NONE;
    case 'p':
        return strcmp(t, "positiveInt") == 0 ? FHIR_PRIM_POSITIVEINT : FHIR_PRIM_NONE;
    case 's':
        return strcmp(t, "string") == 0 ? FHIR_PRIM_STRING : FHIR_PRIM_NONE;
    case 't':
        return strcmp(t, "time") == 0 ? FHIR_PRIM_TIME : FHIR_PRIM_NONE;
    case 'u':
        return strcmp(t, "uri") == 0           ? FHIR_PRIM_URI
               : strcmp(t, "url") == 0         ? FHIR_PRIM_URL
               : strcmp(t, "uuid") == 0        ? FHIR_PRIM_UUID
               : strcmp(t, "unsignedInt") == 0 ? FHIR_PRIM_UNSIGNEDINT
                                               : FHIR_PRIM_NONE;
    case 'x':
        return strcmp(t, "xhtml") == 0 ? FHIR_PRIM_XHTML : FHIR_PRIM_NONE;
    default:
        return FHIR_PRIM_NONE;
    }
}

int fhir_validate__string_ok(enum fhir_prim k, const char *s, size_t len)
{
    switch (k) {
    case FHIR_PRIM_BASE64BINARY:
        return base64_ok(s, len);
    case FHIR_PRIM_CANONICAL:
    case FHIR_PRIM_URI:
    case FHIR_PRIM_URL:
        return uri_ok(s, len);
    case FHIR_PRIM_CODE:
        return code_ok(s, len);
    case FHIR_PRIM_DATE:
        return date_ok(s, len);
    case FHIR_PRIM_DATETIME:
        return datetime_ok(s, len);
    case FHIR_PRIM_ID:
        return id_ok(s, len);
    case FHIR_PRIM_INSTANT:
        return instant_ok(s, len);
    case FHIR_PRIM_MARKDOWN:
    case FHIR_PRIM_STRING:
    case FHIR_PRIM_XHTML:
        return text_ok(s, len);
    case FHIR_PRIM_OID:
        return oid_ok(s, len);
    case FHIR_PRIM_POSITIVEINT:
        return positive_ok(s, len);
    case FHIR_PRIM_TIME:
        return time_ok(s, len);
    case FHIR_PRIM_UNSIGNEDINT:
        return unsigned_ok(s, len);
    case FHIR_PRIM_UUID:
        return uuid_ok(s, len);
    case FHIR_PRIM_NONE:
    case FHIR_PRIM_BOOLEAN:
    case FHIR_PRIM_DECIMAL:
    case FHIR_PRIM_INTEGER:
        break;
    }
    return 0;
}

int fhir_primitive_string_ok(const char *type_code, const char *s, size_t len)
{
    if (type_code == NULL || s == NULL)
        return 0;
    return fhir_validate__string_ok(fhir_validate__prim(type_code), s, len);
}

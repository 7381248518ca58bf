/* tsv.c - the strict reader of the triage tables (internal.h): one header row, TAB-separated
 * fields, comments and blank lines, every error with the file's name and line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/utf8.h"
#include "services/triage/internal.h"

static int fail(struct err *e, const struct triage_file *f, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct err *e, const struct triage_file *f, size_t line, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(e, ERR_INVALID, "%s:%zu: %s", f->name, line, what);
}

/* Is c in set? 'a', 'A' and '0' in set stand for a-z, A-Z and 0-9. */
static int char_in(char c, const char *set)
{
    for (; *set != '\0'; set++) {
        int hit = *set == 'a'   ? c >= 'a' && c <= 'z'
                  : *set == 'A' ? c >= 'A' && c <= 'Z'
                  : *set == '0' ? c >= '0' && c <= '9'
                                : c == *set;
        if (hit)
            return 1;
    }
    return 0;
}

int triage__token_ok(const char *s, size_t max, const char *first, const char *rest)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!char_in(s[i], i == 0 ? first : rest))
            return 0;
    return 1;
}

/* Splits line (len bytes, no LF) into row->col; checks each field. */
static int split(const struct triage_file *f, size_t lineno, const char *line, size_t len,
                 size_t ncols, struct arena *a, struct triage__row *row, struct err *e)
{
    row->line = lineno;
    row->ncols = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != '\t')
            continue;
        if (row->ncols >= ncols)
            return fail(e, f, lineno, "more than %zu columns", ncols);
        size_t flen = i - start;
        if (flen == 0)
            return fail(e, f, lineno, "column %zu is empty (write '-' for none)", row->ncols + 1);
        if (line[start] == ' ' || line[i - 1] == ' ')
            return fail(e, f, lineno, "column %zu has a leading or trailing space", row->ncols + 1);
        char *c = arena_strndup(a, line + start, flen);
        if (c == NULL)
            return err_set(e, ERR_NOMEM, "out of memory");
        row->col[row->ncols++] = c;
        start = i + 1;
    }
    if (row->ncols != ncols)
        return fail(e, f, lineno, "%zu columns, want %zu", row->ncols, ncols);
    return 0;
}

int triage__tsv_read(const struct triage_file *f, const char *const *header, size_t ncols,
                     struct arena *a, triage__row_fn fn, void *ctx, struct err *e)
{
    if (ncols == 0 || ncols > TRIAGE__COLS_MAX)
        return err_set(e, ERR_INTERNAL, "triage: bad column count");
    if (f->text == NULL)
        return err_set(e, ERR_INVALID, "%s: missing", f->name);
    if (f->len > TRIAGE_FILE_MAX)
        return err_set(e, ERR_TOOBIG, "%s: larger than %d bytes", f->name, TRIAGE_FILE_MAX);
    const char *p = f->text, *end = f->text + f->len;
    size_t lineno = 0, rows = 0;
    int seen_header = 0;
    while (p < end) {
        lineno++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        const char *line = p;
        p = nl != NULL ? nl + 1 : end;
        if (len > TRIAGE_LINE_MAX)
            return fail(e, f, lineno, "line longer than %d bytes", TRIAGE_LINE_MAX);
        if (!utf8_valid(line, len))
            return fail(e, f, lineno, "not valid UTF-8");
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)line[i];
            if (c == '\r')
                return fail(e, f, lineno, "carriage return (save with LF line ends)");
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return fail(e, f, lineno, "control character 0x%02x", c);
        }
        if (len == 0 || line[0] == '#')
            continue;
        struct triage__row row;
        int rc = split(f, lineno, line, len, ncols, a, &row, e);
        if (rc != 0)
            return rc;
        if (!seen_header) {
            for (size_t i = 0; i < ncols; i++)
                if (strcmp(row.col[i], header[i]) != 0)
                    return fail(e, f, lineno, "header column %zu is \"%.40s\", want \"%s\"", i + 1,
                                row.col[i], header[i]);
            seen_header = 1;
            continue;
        }
        if (++rows > TRIAGE_ROWS_MAX)
            return fail(e, f, lineno, "more than %d rows", TRIAGE_ROWS_MAX);
        if ((rc = fn(&row, ctx, e)) != 0)
            return rc;
    }
    if (!seen_header)
        return fail(e, f, lineno, "no header row");
    return 0;
}

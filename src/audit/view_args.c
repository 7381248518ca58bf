/* view_args.c - the query parameters of the citizen's view of the trail, checked and read into
 * a filter, and the opaque paging cursor. Input from outside: fuzzed (fuzz/fuzz_audit_view.c). */
#include <stdio.h>
#include <string.h>

#include "audit/view.h"
#include "base/clock.h"
#include "base/ids.h"

void audit_cursor_format(int64_t before_seq, char out[AUDIT_CURSOR_MAX])
{
    snprintf(out, AUDIT_CURSOR_MAX, "s%lld", (long long)before_seq);
}

int audit_cursor_parse(const char *s, int64_t *before_seq)
{
    if (s == NULL || s[0] != 's' || s[1] < '1' || s[1] > '9')
        return ERR_INVALID;
    int64_t v = 0;
    size_t i = 1;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (i > 18)
            return ERR_INVALID;
        v = v * 10 + (s[i] - '0');
    }
    if (s[i] != '\0')
        return ERR_INVALID;
    *before_seq = v;
    return 0;
}

static int token_of(const char *s, size_t max, const char *extra)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (n >= max)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (extra != NULL && strchr(extra, c) != NULL)))
            return 0;
    }
    return n > 0;
}

static int parse_limit(const char *s, size_t *out)
{
    if (s[0] < '1' || s[0] > '9')
        return ERR_INVALID;
    size_t v = 0, i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (i >= 3)
            return ERR_INVALID;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    if (s[i] != '\0' || v < 1 || v > AUDIT_VIEW_LIMIT_MAX)
        return ERR_INVALID;
    *out = v;
    return 0;
}

int audit_view_args_parse(const struct audit_view_args *args, struct audit_filter *f, size_t *limit,
                          struct err *e)
{
    static const char upper_and_id[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ._:-";
    memset(f, 0, sizeof *f);
    *limit = AUDIT_VIEW_LIMIT_DEFAULT;
    if (args->from != NULL && clock_parse_rfc3339(args->from, &f->from_ms) != 0)
        return err_set(e, ERR_INVALID, "from must be an RFC 3339 date-time with a zone");
    if (args->until != NULL && clock_parse_rfc3339(args->until, &f->until_ms) != 0)
        return err_set(e, ERR_INVALID, "until must be an RFC 3339 date-time with a zone");
    if (f->from_ms < 0 || f->until_ms < 0)
        return err_set(e, ERR_INVALID, "from and until must not be before 1970");
    if (args->until != NULL && f->until_ms == 0)
        return err_set(e, ERR_INVALID, "until must be after 1970-01-01T00:00:00Z");
    if (args->from != NULL && args->until != NULL && f->from_ms >= f->until_ms)
        return err_set(e, ERR_INVALID, "from must be before until");
    if (args->actor != NULL) {
        if (!token_of(args->actor, AUDIT_TEXT_MAX, upper_and_id))
            return err_set(e, ERR_INVALID, "actor must be an id of letters, digits and ._:-");
        f->actor_id = args->actor;
    }
    if (args->org != NULL) {
        if (!ids_valid(args->org))
            return err_set(e, ERR_INVALID, "org must be an organisation id");
        f->actor_org = args->org;
    }
    if (args->category != NULL) {
        if (!token_of(args->category, AUDIT_CATEGORY_MAX, "_-"))
            return err_set(e, ERR_INVALID, "category must be 1..%d characters of a-z, 0-9, _ and -",
                           AUDIT_CATEGORY_MAX);
        f->category = args->category;
    }
    if (args->decision != NULL) {
        f->decision = audit_decision_parse(args->decision);
        if (f->decision == AUDIT_DECISION_ANY)
            return err_set(e, ERR_INVALID, "decision must be permit or deny");
    }
    if (args->limit != NULL && parse_limit(args->limit, limit) != 0)
        return err_set(e, ERR_INVALID, "limit must be 1..%d", AUDIT_VIEW_LIMIT_MAX);
    if (args->cursor != NULL && audit_cursor_parse(args->cursor, &f->before_seq) != 0)
        return err_set(e, ERR_INVALID, "cursor is not one this server made");
    return 0;
}

/* fuzz_visits_request.c - the visits API's request parsers (services/visits/visits_api_parse.c):
 * the first byte picks the parser (open slots, book, reschedule, cancel, finish, the search
 * query, a date and a time), the rest is its input. What a parser accepts must hold together: an
 * accepted day of slots yields 1..VISITS_SLOTS_MAX slots ending by "to"; an accepted date
 * formats back to itself; a search range is never empty nor longer than the bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "services/visits/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QMAX 16

struct query {
    const char *names[QMAX], *values[QMAX];
    size_t n;
};

static const char *q_get(void *ctx, const char *name)
{
    struct query *q = ctx;
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->names[i], name) == 0)
            return q->values[i];
    return NULL;
}

static void search(char *text)
{
    struct query q = {{0}, {0}, 0};
    for (char *p = text; p != NULL && *p != '\0' && q.n < QMAX;) {
        char *amp = strchr(p, '&');
        if (amp != NULL)
            *amp = '\0';
        char *eq = strchr(p, '=');
        if (eq != NULL) {
            *eq = '\0';
            q.names[q.n] = p;
            q.values[q.n++] = eq + 1;
        }
        p = amp != NULL ? amp + 1 : NULL;
    }
    struct visits_search_req r;
    struct err e;
    int64_t now = 1796050800000LL;
    if (visits_parse_search(q_get, &q, now, &r, &e) == 0) {
        if (r.to_ms <= r.from_ms || r.from_ms < now ||
            r.to_ms - r.from_ms > (int64_t)VISITS_RANGE_DAYS * VISITS_DAY_MS)
            abort();
    }
}

static void date_and_time(const char *text)
{
    int64_t day;
    if (visits_date_parse(text, &day) == 0) {
        char back[VISITS_DATE_LEN];
        if (strcmp(visits_date_format(day, back), text) != 0 || visits_day_start(day) != day)
            abort();
    }
    int m;
    if (visits_hm_parse(text, &m) == 0 && (m < 0 || m > 1440))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;
    int which = data[0] % 7;
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (which == 5) {
        search(text);
        free(text);
        return 0;
    }
    if (which == 6) {
        date_and_time(text);
        free(text);
        return 0;
    }
    struct err e;
    json_t *in = jsonx_parse((const char *)data + 1, size - 1, &e);
    free(text);
    if (in == NULL)
        return 0;
    if (which == 0) {
        struct visits_open_req r;
        if (visits_parse_open(in, &r, &e) == 0) {
            int64_t starts[VISITS_SLOTS_MAX];
            int n = visits_slot_starts(r.day_ms, r.from_min, r.to_min, r.step_min, starts,
                                       VISITS_SLOTS_MAX);
            if (n < 1 || n > VISITS_SLOTS_MAX ||
                starts[n - 1] + r.step_min * VISITS_MIN_MS > r.day_ms + r.to_min * VISITS_MIN_MS ||
                !visits_specialty_valid(r.specialty) || visits_mode_name(r.modes) == NULL)
                abort();
        }
    } else if (which == 1 || which == 2) {
        struct visits_book_req r;
        if (visits_parse_book(in, which == 2, &r, &e) == 0 &&
            (r.slot == NULL ||
             (r.mode != 0 && r.mode != VISITS_ONLINE && r.mode != VISITS_IN_PERSON)))
            abort();
    } else if (which == 3) {
        const char *reason;
        if (visits_parse_cancel(in, &reason, &e) == 0 && reason != NULL &&
            strlen(reason) > VISITS_REASON_MAX)
            abort();
    } else {
        struct visits_finish_req r;
        if (visits_parse_finish(in, &r, &e) == 0 && (r.fee < 0 || r.fee > VISITS_AMOUNT_MAX))
            abort();
    }
    json_decref(in);
    return 0;
}

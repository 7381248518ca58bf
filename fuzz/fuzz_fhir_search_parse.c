/* fuzz_fhir_search_parse.c - FHIR search query strings: the splitter and the parser either
 * refuse with a reason that names no long value, or yield a bounded search whose SQL builds and
 * whose next-page link parses again to the same search (with a cursor that validates). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/defs.h"
#include "fhir/search_parse.h"
#include "fhir/search_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {"Observation", "Patient", "Condition", "MedicationRequest"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *rtype = types[data[0] % 4];
    int strict = (data[0] >> 2) & 1;
    const char *qs = (const char *)data + 1;
    size_t len = size - 1;
    struct arena *a = arena_new(0);
    if (a == NULL)
        return 0;
    static const unsigned char key[FHIR_SEARCH_CURSOR_KEY_LEN] = {42};
    struct fhir_search_defs defs = {fhir_defs_search_params, fhir_defs_search_param, NULL};
    struct fhir_search_opts o = {
        .defs = &defs, .strict = strict, .now_ms = 1735689600000LL, .cursor_key = key};
    struct fhir_search_pair *pairs;
    size_t n;
    struct err e = {0};
    int rc = fhir_search_pairs_parse(qs, len, a, &pairs, &n, &e);
    if (rc != 0) {
        if ((rc != ERR_INVALID && rc != ERR_TOOBIG && rc != ERR_NOMEM) || e.msg[0] == '\0')
            abort();
        goto out;
    }
    if (n > FHIR_SEARCH_PAIRS_MAX)
        abort();
    struct fhir_search s;
    rc = fhir_search_parse(rtype, pairs, n, &o, a, &s, &e);
    for (size_t i = 0; i < s.nissues; i++)
        if (s.issues[i].diagnostics == NULL || strlen(s.issues[i].diagnostics) > 400 ||
            (s.issues[i].error && rc == 0) ||
            (!strict && s.issues[i].error && strcmp(s.issues[i].code, "invalid") != 0))
            abort();
    if (rc != 0) {
        if ((rc != ERR_INVALID && rc != ERR_TOOBIG && rc != ERR_NOMEM) || e.msg[0] == '\0')
            abort();
        goto out;
    }
    if (s.count < 0 || s.count > FHIR_SEARCH_COUNT_MAX || s.nclauses > FHIR_SEARCH_CLAUSES_MAX ||
        s.nsorts > FHIR_SEARCH_SORT_MAX)
        abort();
    struct fhir_sql q;
    if (fhir_search_sql_page(&s, a, &q, &e) != 0 && e.code != ERR_NOMEM)
        abort();
    if (fhir_search_sql_count(&s, a, &q, &e) != 0 && e.code != ERR_NOMEM)
        abort();
    struct fhir_sql_key page[2] = {{rtype, "a"}, {rtype, "b"}};
    rc = fhir_search_sql_include(&s, page, 2, a, &q, &e);
    if (rc != 0 && rc != ERR_NOTFOUND && rc != ERR_NOMEM)
        abort();
    rc = fhir_search_sql_revinclude(&s, page, 2, a, &q, &e);
    if (rc != 0 && rc != ERR_NOTFOUND && rc != ERR_NOMEM)
        abort();
    /* the next page's link parses back to a search with the cursor we made */
    if (s.summary != FHIR_SUMMARY_COUNT) {
        struct fhir_search_cursor c = {.nkeys = s.nsorts, .id = "last-id"};
        for (size_t i = 0; i < s.nsorts; i++)
            c.keys[i].null = 1;
        char *cur = fhir_search_cursor_encode(&s, &c, a);
        char *link = cur != NULL ? fhir_search_link_query(&s, cur, a) : NULL;
        if (link != NULL) {
            struct fhir_search s2;
            o.strict = 1;
            if (fhir_search_pairs_parse(link, strlen(link), a, &pairs, &n, &e) != 0 ||
                fhir_search_parse(rtype, pairs, n, &o, a, &s2, &e) != 0 || s2.cursor == NULL ||
                strcmp(s2.cursor->id, "last-id") != 0 || s2.nclauses != s.nclauses)
                abort();
        }
    }
out:
    arena_free(a);
    return 0;
}

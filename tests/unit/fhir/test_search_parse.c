/* test_search_parse.c - search request parsing: query splitting, typed values per parameter type
 * (prefixes, partial dates, tokens, quantities, references), modifiers, result parameters,
 * strict and lenient handling, and the paging cursor's validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fhir/search_parse.h"
#include "search_test_defs.h"

#define NOW_MS 1735689600000LL /* 2025-01-01T00:00:00Z */

static int64_t lo_of(const char *s)
{
    int64_t lo, hi;
    assert_int_equal(fhir_date_range(s, strlen(s), &lo, &hi), 0);
    return lo;
}

static int64_t hi_of(const char *s)
{
    int64_t lo, hi;
    assert_int_equal(fhir_date_range(s, strlen(s), &lo, &hi), 0);
    return hi;
}

/* Parses query qs as a search on rtype; returns the status. */
static int run(struct arena *a, const char *rtype, const char *qs, int strict,
               struct fhir_search *s)
{
    struct fhir_search_pair *pairs;
    size_t n;
    struct err e = {0};
    assert_int_equal(fhir_search_pairs_parse(qs, strlen(qs), a, &pairs, &n, &e), 0);
    struct fhir_search_opts o = {.defs = &td_defs, .strict = strict, .now_ms = NOW_MS};
    int rc = fhir_search_parse(rtype, pairs, n, &o, a, s, &e);
    if (rc != 0)
        assert_true(e.msg[0] != '\0');
    return rc;
}

static void pairs(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_search_pair *p;
    size_t n;
    struct err e = {0};
    const char *qs = "code=a%7Cb&&code=c&_summary&name=%E5%B1%B1+x";
    assert_int_equal(fhir_search_pairs_parse(qs, strlen(qs), a, &p, &n, &e), 0);
    assert_int_equal(n, 4);
    assert_string_equal(p[0].value, "a|b");
    assert_string_equal(p[1].name, "code");
    assert_string_equal(p[2].name, "_summary");
    assert_string_equal(p[2].value, "");
    assert_string_equal(p[3].value, "\xe5\xb1\xb1 x");
    assert_int_equal(fhir_search_pairs_parse("a=%zz", 5, a, &p, &n, &e), ERR_INVALID);
    assert_int_equal(fhir_search_pairs_parse("=1", 2, a, &p, &n, &e), ERR_INVALID);
    assert_int_equal(fhir_search_pairs_parse("a=%00", 5, a, &p, &n, &e), ERR_INVALID);
    char big[1024] = "";
    for (int i = 0; i <= FHIR_SEARCH_PAIRS_MAX; i++)
        memcpy(big + 4 * i, "a=1&", 4);
    assert_int_equal(fhir_search_pairs_parse(big, strlen(big), a, &p, &n, &e), ERR_TOOBIG);
    char *longv = calloc(1, FHIR_SEARCH_VALUE_MAX + 16);
    memcpy(longv, "code=", 5);
    memset(longv + 5, 'x', FHIR_SEARCH_VALUE_MAX + 1);
    assert_int_equal(fhir_search_pairs_parse(longv, strlen(longv), a, &p, &n, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "code"));
    assert_null(strstr(e.msg, "xxxx"));
    free(longv);
    arena_free(a);
}

static void tokens_and_strings(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_search s;
    assert_int_equal(run(a, "Observation",
                         "code=http://loinc.org|85354-9,|x,8480-6,urn:s|,a\\|b\\,c&status:not=final"
                         "&category:missing=true",
                         1, &s),
                     0);
    assert_int_equal(s.nclauses, 3);
    const struct fhir_search_clause *c = &s.clauses[0];
    assert_int_equal(c->type, FHIR_PARAM_TOKEN);
    assert_int_equal(c->nvalues, 5);
    assert_int_equal(c->values[0].sys, FHIR_SYS_GIVEN);
    assert_string_equal(c->values[0].system, "http://loinc.org");
    assert_string_equal(c->values[0].code, "85354-9");
    assert_int_equal(c->values[1].sys, FHIR_SYS_NONE);
    assert_string_equal(c->values[1].code, "x");
    assert_int_equal(c->values[2].sys, FHIR_SYS_ANY);
    assert_int_equal(c->values[3].sys, FHIR_SYS_GIVEN);
    assert_null(c->values[3].code);
    assert_string_equal(c->values[4].code, "a|b,c");
    assert_int_equal(s.clauses[1].modifier, FHIR_MOD_NOT);
    assert_int_equal(s.clauses[2].modifier, FHIR_MOD_MISSING);
    assert_int_equal(s.clauses[2].missing, 1);
    assert_int_equal(s.nissues, 0);

    assert_int_equal(run(a, "Patient",
                         "name=%EF%BC%B9ama&family:exact=%E5%B1%B1%E7%94%B0&given:contains=AN", 1,
                         &s),
                     0);
    assert_string_equal(s.clauses[0].values[0].text, "yama");
    assert_int_equal(s.clauses[1].modifier, FHIR_MOD_EXACT);
    assert_string_equal(s.clauses[1].values[0].text, "\xe5\xb1\xb1\xe7\x94\xb0");
    assert_string_equal(s.clauses[2].values[0].text, "an");
    assert_int_equal(run(a, "Patient", "_id=p1,p2&_lastUpdated=gt2024", 1, &s), 0);
    assert_int_equal(s.clauses[0].special, FHIR_SP_ID);
    assert_int_equal(s.clauses[0].nvalues, 2);
    assert_int_equal(s.clauses[1].special, FHIR_SP_LASTUPDATED);
    assert_int_equal(run(a, "Patient", "_id=bad%20id", 1, &s), ERR_INVALID);
    assert_int_equal(run(a, "Observation", "code=|", 1, &s), ERR_INVALID);
    assert_int_equal(run(a, "Observation", "code=x\\", 1, &s), ERR_INVALID);
    arena_free(a);
}

static void dates_numbers_quantities(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_search s;
    static const struct {
        const char *v;
        enum fhir_prefix p;
        const char *range;
    } d[] = {
        {"2024", FHIR_PFX_EQ, "2024"},
        {"eq2024-03", FHIR_PFX_EQ, "2024-03"},
        {"ne2024-03-05", FHIR_PFX_NE, "2024-03-05"},
        {"lt2024-03-05T10:00", FHIR_PFX_LT, "2024-03-05T10:00"},
        {"gt2024-03-05T10:00:00Z", FHIR_PFX_GT, "2024-03-05T10:00:00Z"},
        {"le2024-03-05T10:00:00%2B09:00", FHIR_PFX_LE, "2024-03-05T01:00:00Z"},
        {"ge2024", FHIR_PFX_GE, "2024"},
        {"sa2024", FHIR_PFX_SA, "2024"},
        {"eb2024", FHIR_PFX_EB, "2024"},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        char q[128];
        snprintf(q, sizeof q, "date=%s", d[i].v);
        assert_int_equal(run(a, "Observation", q, 1, &s), 0);
        assert_int_equal(s.clauses[0].values[0].prefix, d[i].p);
        assert_int_equal(s.clauses[0].values[0].lo_ms, lo_of(d[i].range));
        assert_int_equal(s.clauses[0].values[0].hi_ms, hi_of(d[i].range));
    }
    /* ap: widened by 10% of the distance to now, at least a day */
    assert_int_equal(run(a, "Observation", "date=ap2025-01-01", 1, &s), 0);
    assert_int_equal(s.clauses[0].values[0].lo_ms, lo_of("2024-12-31"));
    assert_int_equal(s.clauses[0].values[0].hi_ms, hi_of("2025-01-02"));
    assert_int_equal(run(a, "Observation", "date=xx2024", 1, &s), ERR_INVALID);
    assert_int_equal(run(a, "Observation", "date=2024-02-30", 1, &s), ERR_INVALID);

    assert_int_equal(run(a, "RiskAssessment", "probability=100,gt0.25,1e2,ap-3", 1, &s), 0);
    const struct fhir_search_value *v = s.clauses[0].values;
    assert_true(v[0].lo == 99.5 && v[0].hi == 100.5 && v[0].num == 100);
    assert_true(v[1].prefix == FHIR_PFX_GT && v[1].num == 0.25);
    assert_true(v[1].lo == 0.245 && v[1].hi == 0.255);
    assert_true(v[2].lo == 50 && v[2].hi == 150);
    assert_true(v[3].prefix == FHIR_PFX_AP && v[3].num == -3);
    assert_int_equal(run(a, "RiskAssessment", "probability=1.", 1, &s), ERR_INVALID);
    assert_int_equal(run(a, "RiskAssessment", "probability=abc", 1, &s), ERR_INVALID);
    assert_int_equal(run(a, "RiskAssessment", "probability=1e999", 1, &s), ERR_INVALID);

    assert_int_equal(run(a, "Observation",
                         "value-quantity=5.4|http://unitsofmeasure.org|mg,le130||mm[Hg],7", 1, &s),
                     0);
    v = s.clauses[0].values;
    assert_true(v[0].num == 5.4 && v[0].sys == FHIR_SYS_GIVEN);
    assert_string_equal(v[0].system, "http://unitsofmeasure.org");
    assert_string_equal(v[0].code, "mg");
    assert_true(v[1].prefix == FHIR_PFX_LE && v[1].sys == FHIR_SYS_ANY);
    assert_string_equal(v[1].code, "mm[Hg]");
    assert_null(v[2].code);
    assert_int_equal(run(a, "Observation", "value-quantity=5|mg", 1, &s), ERR_INVALID);
    arena_free(a);
}

static void references(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_search s;
    assert_int_equal(run(a, "Observation",
                         "patient=p1&subject=Patient/p2,p3&subject:Patient=p4"
                         "&performer=https://x.example/fhir/Practitioner/1"
                         "&subject=Patient/p5/_history/3",
                         1, &s),
                     0);
    assert_string_equal(s.clauses[0].values[0].target_type, "Patient"); /* one target */
    assert_string_equal(s.clauses[0].values[0].target_id, "p1");
    assert_string_equal(s.clauses[1].values[0].target_type, "Patient");
    assert_null(s.clauses[1].values[1].target_type); /* subject: several targets */
    assert_int_equal(s.clauses[2].modifier, FHIR_MOD_TYPE);
    assert_string_equal(s.clauses[2].values[0].target_type, "Patient");
    assert_string_equal(s.clauses[3].values[0].url, "https://x.example/fhir/Practitioner/1");
    assert_string_equal(s.clauses[4].values[0].target_id, "p5");
    assert_int_equal(run(a, "Observation", "patient=Practitioner/1", 1, &s), ERR_INVALID);
    assert_int_equal(run(a, "Observation", "subject=Spaceship/1", 1, &s), ERR_INVALID);
    assert_int_equal(run(a, "Observation", "subject=Patient/a%20b", 1, &s), ERR_INVALID);
    assert_int_equal(run(a, "Observation", "subject:Practitioner=1", 1, &s), ERR_INVALID);
    assert_int_equal(run(a, "Observation", "subject:Patient=Group/1", 1, &s), ERR_INVALID);
    arena_free(a);
}

static void strict_and_lenient(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_search s;
    static const char *const bad[] = {
        "foo=1",
        "subject.name=x",
        "_has:Observation:patient:code=1",
        "code:text=bp",
        "name:below=x",
        "code:missing=maybe",
        "_id:missing=true",
        "_count=abc",
        "_sort=foo",
        "_sort=status,status",
        "_include=Patient:general-practitioner",
        "_include=Observation:code",
        "_revinclude=Observation:foo",
        "_summary=bogus",
        "_total=all",
        "_elements=Code",
        "_contained=true",
        "combo-code-value-quantity=1",
        "date=2024-13",
        "_count=5&_count=6",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char q[160];
        snprintf(q, sizeof q, "status=final&%s", bad[i]);
        if (run(a, "Observation", q, 1, &s) != ERR_INVALID)
            fail_msg("strict accepted %s", bad[i]);
        assert_true(s.nissues >= 1);
        assert_true(s.issues[0].error);
        assert_non_null(s.issues[0].param);
        assert_non_null(strstr(s.issues[0].diagnostics, s.issues[0].param));
        if (run(a, "Observation", q, 0, &s) != 0)
            fail_msg("lenient refused %s", bad[i]);
        assert_true(s.nissues >= 1);
        assert_false(s.issues[0].error);
        assert_int_equal(s.nclauses, 1); /* status alone */
        assert_int_equal(s.nused, strncmp(bad[i], "_count=5", 8) == 0 ? 2 : 1);
    }
    /* a long value is never echoed */
    char q[1200] = "date=";
    memset(q + 5, '9', 1000);
    assert_int_equal(run(a, "Observation", q, 1, &s), ERR_INVALID);
    assert_null(strstr(s.issues[0].diagnostics, "9999"));
    assert_true(strlen(s.issues[0].diagnostics) < 200);
    /* a long unknown name is not echoed either */
    memset(q, 'n', 100);
    memcpy(q + 100, "=1", 3);
    assert_int_equal(run(a, "Observation", q, 1, &s), ERR_INVALID);
    assert_null(strstr(s.issues[0].diagnostics,
                       "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"));
    /* empty values are ignored; _format is the handler's */
    assert_int_equal(run(a, "Observation", "code=&_format=json", 1, &s), 0);
    assert_int_equal(s.nclauses, 0);
    assert_int_equal(run(a, "Spaceship", "", 0, &s), ERR_INVALID);
    arena_free(a);
}

static void result_parameters(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_search s;
    assert_int_equal(run(a, "Observation", "", 1, &s), 0);
    assert_int_equal(s.count, FHIR_SEARCH_COUNT_DEFAULT);
    assert_int_equal(s.summary, FHIR_SUMMARY_FALSE);
    assert_int_equal(run(a, "Observation", "_count=5000", 1, &s), 0);
    assert_int_equal(s.count, FHIR_SEARCH_COUNT_MAX);
    assert_int_equal(run(a, "Observation", "_count=0", 1, &s), 0);
    assert_int_equal(s.summary, FHIR_SUMMARY_COUNT);
    assert_int_equal(run(a, "Observation", "_summary=count&_total=accurate", 1, &s), 0);
    assert_int_equal(s.summary, FHIR_SUMMARY_COUNT);
    assert_int_equal(s.count, 0);
    assert_int_equal(s.total, FHIR_TOTAL_ACCURATE);
    assert_int_equal(run(a, "Observation", "_summary=data", 1, &s), 0);
    assert_int_equal(s.summary, FHIR_SUMMARY_DATA);
    assert_int_equal(run(a, "Observation", "_sort=-date,_id,status,-_lastUpdated", 1, &s), 0);
    assert_int_equal(s.nsorts, 4);
    assert_true(s.sorts[0].desc && s.sorts[0].type == FHIR_PARAM_DATE);
    assert_true(!s.sorts[1].desc && s.sorts[1].special == FHIR_SP_ID);
    assert_true(s.sorts[3].desc && s.sorts[3].special == FHIR_SP_LASTUPDATED);
    assert_int_equal(run(a, "Observation", "_sort=a,b,c,d,e", 1, &s), ERR_INVALID);
    assert_int_equal(run(a, "Observation", "_sort=patient", 1, &s), ERR_INVALID);
    assert_int_equal(run(a, "Observation",
                         "_include=Observation:patient&_include=Observation:subject:Patient"
                         "&_include=Observation:performer",
                         1, &s),
                     0);
    assert_int_equal(s.nincludes, 3);
    assert_null(s.includes[0].target_type);
    assert_string_equal(s.includes[1].target_type, "Patient");
    assert_int_equal(run(a, "Observation", "_include=Observation:subject:Practitioner", 1, &s),
                     ERR_INVALID);
    assert_int_equal(run(a, "Patient",
                         "_revinclude=Observation:subject&_revinclude=Condition:"
                         "patient:Patient",
                         1, &s),
                     0);
    assert_int_equal(s.nrevincludes, 2);
    assert_string_equal(s.revincludes[0].target_type, "Patient");
    assert_int_equal(run(a, "Practitioner", "_revinclude=Observation:patient", 1, &s),
                     ERR_INVALID); /* never refers to a Practitioner */
    assert_int_equal(run(a, "Observation", "_elements=code,status,valueQuantity", 1, &s), 0);
    assert_int_equal(s.nelements, 3);
    assert_string_equal(s.elements[2], "valueQuantity");
    arena_free(a);
}

static void cursor(void **state)
{
    (void)state;
    struct arena *a = arena_new(0);
    struct fhir_search s, s2;
    static const unsigned char key[FHIR_SEARCH_CURSOR_KEY_LEN] = {1, 2, 3};
    struct fhir_search_pair *p;
    size_t n;
    struct err e = {0};
    const char *qs = "status=final&_sort=-date,value-quantity,code&_count=2&foo=1";
    assert_int_equal(fhir_search_pairs_parse(qs, strlen(qs), a, &p, &n, &e), 0);
    struct fhir_search_opts o = {.defs = &td_defs, .now_ms = NOW_MS, .cursor_key = key};
    assert_int_equal(fhir_search_parse("Observation", p, n, &o, a, &s, &e), 0);
    assert_int_equal(s.nused, 3); /* foo ignored (lenient) */
    struct fhir_search_cursor c = {.nkeys = 3, .id = "obs-7"};
    c.keys[0].type = FHIR_CK_INT, c.keys[0].i = -5;
    c.keys[1].type = FHIR_CK_REAL, c.keys[1].d = 0.1;
    c.keys[2].type = FHIR_CK_TEXT, c.keys[2].null = 1;
    char *cur = fhir_search_cursor_encode(&s, &c, a);
    assert_non_null(cur);
    char *link = fhir_search_link_query(&s, cur, a);
    assert_non_null(strstr(link, "status=final&_sort=-date%2Cvalue-quantity%2Ccode&_count=2&"
                                 "_cursor="));
    assert_null(strstr(link, "foo"));
    /* the next page: the same parameters (in another order) and the cursor */
    assert_int_equal(fhir_search_pairs_parse(link, strlen(link), a, &p, &n, &e), 0);
    struct fhir_search_pair swapped[8];
    memcpy(swapped, p, n * sizeof *p);
    swapped[0] = p[2], swapped[2] = p[0];
    assert_int_equal(fhir_search_parse("Observation", swapped, n, &o, a, &s2, &e), 0);
    assert_non_null(s2.cursor);
    assert_int_equal(s2.cursor->nkeys, 3);
    assert_int_equal(s2.cursor->keys[0].i, -5);
    assert_true(s2.cursor->keys[1].d == 0.1);
    assert_true(s2.cursor->keys[2].null);
    assert_string_equal(s2.cursor->id, "obs-7");
    /* text keys with separators in them */
    c.keys[2].null = 0, c.keys[2].s = "a;b:c\x1f"
                                      "d";
    cur = fhir_search_cursor_encode(&s, &c, a);
    link = fhir_search_link_query(&s, cur, a);
    assert_int_equal(fhir_search_pairs_parse(link, strlen(link), a, &p, &n, &e), 0);
    assert_int_equal(fhir_search_parse("Observation", p, n, &o, a, &s2, &e), 0);
    assert_string_equal(s2.cursor->keys[2].s, "a;b:c\x1f"
                                              "d");

    /* another search, another key, a flipped character, garbage: refused even leniently */
    char q[4200];
    snprintf(q, sizeof q, "status=amended&_sort=-date,value-quantity,code&_count=2&_cursor=%s",
             cur);
    assert_int_equal(run(a, "Observation", q, 0, &s2), ERR_INVALID);
    assert_string_equal(s2.issues[s2.nissues - 1].param, "_cursor");
    assert_true(s2.issues[s2.nissues - 1].error);
    snprintf(q, sizeof q, "%s", link);
    assert_int_equal(run(a, "Observation", q, 0, &s2), ERR_INVALID); /* no key */
    char *flip = strstr(q, "_cursor=") + 10;
    *flip = *flip == 'A' ? 'B' : 'A';
    assert_int_equal(fhir_search_pairs_parse(q, strlen(q), a, &p, &n, &e), 0);
    assert_int_equal(fhir_search_parse("Observation", p, n, &o, a, &s2, &e), ERR_INVALID);
    assert_int_equal(run(a, "Observation", "_cursor=%21%21", 0, &s2), ERR_INVALID);
    assert_int_equal(run(a, "Observation", "_cursor=abc&_cursor=abc", 0, &s2), ERR_INVALID);
    /* without a key: integrity and binding to the search only */
    struct fhir_search_opts o2 = {.defs = &td_defs, .now_ms = NOW_MS};
    assert_int_equal(fhir_search_parse("Observation", NULL, 0, &o2, a, &s, &e), 0);
    struct fhir_search_cursor c0 = {.nkeys = 0, .id = "x"};
    cur = fhir_search_cursor_encode(&s, &c0, a);
    snprintf(q, sizeof q, "_cursor=%s", cur);
    assert_int_equal(run(a, "Observation", q, 1, &s2), 0);
    assert_string_equal(s2.cursor->id, "x");
    assert_int_equal(run(a, "Condition", q, 1, &s2), ERR_INVALID); /* another type */
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pairs),
        cmocka_unit_test(tokens_and_strings),
        cmocka_unit_test(dates_numbers_quantities),
        cmocka_unit_test(references),
        cmocka_unit_test(strict_and_lenient),
        cmocka_unit_test(result_parameters),
        cmocka_unit_test(cursor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_search_sql.c - FHIR search end to end on a real SQLite store: resources indexed with
 * fhir_index_rows, searched with the SQL of fhir_search_sql_*: dates per prefix and boundary,
 * tokens, quantities, references, strings, sorting with ties, cursor paging (every result once),
 * counts, _include and _revinclude. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonx.h"
#include "fhir/defs.h"
#include "fhir/index_rows.h"
#include "fhir/search_parse.h"
#include "fhir/search_sql.h"
#include "search_test_defs.h"
#include "support/fixture.h"

#define NOW_MS 1735689600000LL /* 2025-01-01T00:00:00Z */

struct put {
    const char *rtype, *id, *subject, *body;
    int64_t updated_ms;
    int deleted;
    struct fhir_ix_rows rows;
};

static int put_tx(struct store_tx *tx, void *ctx, struct err *e)
{
    struct put *p = ctx;
    struct store_value v[8] = {
        STORE_TEXT_V(p->rtype),
        STORE_TEXT_V(p->id),
        STORE_INT_V(1),
        STORE_INT_V(p->updated_ms),
        p->subject != NULL ? STORE_TEXT_V(p->subject) : STORE_NULL_V,
        STORE_TEXT_V("clinical"),
        STORE_INT_V(p->deleted),
        STORE_TEXT_V(p->body),
    };
    int rc = store_tx_exec(tx, "DELETE FROM fhir_resource WHERE rtype = ? AND id = ?", v, 2, e);
    if (rc >= 0)
        rc = store_tx_exec(tx,
                           "INSERT INTO fhir_resource(rtype, id, version, updated_ms, subject, "
                           "category, deleted, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           v, 8, e);
    if (rc >= 0)
        rc = fhir_index_rows_delete(tx, p->rtype, p->id, e);
    if (rc >= 0)
        rc = fhir_index_rows_insert(tx, p->rtype, p->id, p->subject, &p->rows, e);
    return rc < 0 ? rc : 0;
}

static int64_t updated_seq;

static void put(struct fx *f, const char *json, int deleted)
{
    struct err e = {0};
    json_t *v = jsonx_parse(json, strlen(json), &e);
    if (v == NULL)
        fail_msg("bad JSON: %s", e.msg);
    struct put p = {.rtype = json_string_value(json_object_get(v, "resourceType")),
                    .id = json_string_value(json_object_get(v, "id")),
                    .body = json,
                    .deleted = deleted,
                    .updated_ms = 1700000000000LL + 1000 * ++updated_seq};
    const char *ref =
        json_string_value(json_object_get(json_object_get(v, "subject"), "reference"));
    p.subject = strcmp(p.rtype, "Patient") == 0 ? p.id : ref != NULL ? strchr(ref, '/') + 1 : NULL;
    assert_int_equal(fhir_index_rows(v, td_params, f->a, &p.rows, &e), 0);
    if (store_write(f->s, put_tx, &p, &e) != 0)
        fail_msg("put %s: %s", p.id, e.msg);
    json_decref(v);
}

static char *bp(struct arena *a, const char *id, const char *patient, const char *when,
                const char *status, int sys, int dia)
{
    return arena_printf(
        a,
        "{\"resourceType\":\"Observation\",\"id\":\"%s\",\"status\":\"%s\","
        "\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
        "observation-category\",\"code\":\"vital-signs\"}]}],"
        "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\"}]},"
        "\"subject\":{\"reference\":\"Patient/%s\"},\"effectiveDateTime\":\"%s\","
        "\"identifier\":[{\"system\":\"urn:x\",\"value\":\"A-%s\"}],"
        "\"component\":[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
        "\"8480-6\"}]},\"valueQuantity\":{\"value\":%d,\"unit\":\"mmHg\",\"system\":"
        "\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}},{\"code\":{\"coding\":[{\"system\":"
        "\"http://loinc.org\",\"code\":\"8462-4\"}]},\"valueQuantity\":{\"value\":%d,\"unit\":"
        "\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]}",
        id, status, patient, when, id, sys, dia);
}

static int fx_setup_plain(void **state)
{
    updated_seq = 0;
    return fx_setup_in(state, "fhir-search-shared");
}

static int setup(void **state)
{
    if (fx_setup_in(state, "fhir-search") != 0)
        return -1;
    struct fx *f = *state;
    /* the tables are migration 8's (src/store/migrations.c) */
    if (fx_count(f, "SELECT COUNT(*) FROM fhir_ix_quantity") != 0)
        return -1;
    updated_seq = 0;
    put(f,
        "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"birthDate\":\"1980-02-15\","
        "\"name\":[{\"family\":\"\xe5\xb1\xb1\xe7\x94\xb0\",\"given\":["
        "\"\xe8\x8a\xb1\xe5\xad\x90\"]},"
        "{\"family\":\"\xe3\x83\xa4\xe3\x83\x9e\xe3\x83\x80\",\"given\":[\"\xe3\x83\x8f\xe3\x83\x8a"
        "\xe3\x82\xb3\"]}]}",
        0);
    put(f,
        "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"birthDate\":\"1975\",\"name\":[{\"family\":"
        "\"Yamamoto\",\"given\":[\"Taro\"]},{\"text\":\"\xef\xbc\xb9\xef\xbc\xa1\xef\xbc\xad\xef"
        "\xbc\xa1\xef\xbc\xad\xef\xbc\xaf\xef\xbc\xb4\xef\xbc\xaf\"}]}",
        0);
    put(f,
        "{\"resourceType\":\"Patient\",\"id\":\"p3\",\"name\":[{\"family\":\"Zo\xc3\xab\","
        "\"given\":[\"\xc3\x89mile\"]}]}",
        0);
    put(f, bp(f->a, "o1", "p1", "2024-03-05T10:30:00+09:00", "final", 120, 80), 0);
    put(f, bp(f->a, "o2", "p1", "2024-03-31T23:59:59Z", "final", 135, 85), 0);
    put(f, bp(f->a, "o3", "p2", "2024-04-01T00:00:00Z", "amended", 150, 95), 0);
    put(f, bp(f->a, "o4", "p2", "2024-02-29", "preliminary", 120, 70), 0);
    put(f,
        "{\"resourceType\":\"Observation\",\"id\":\"o5\",\"status\":\"final\",\"code\":{\"coding\":"
        "[{\"system\":\"http://loinc.org\",\"code\":\"8867-4\"}]},\"subject\":{\"reference\":"
        "\"Patient/p1\"},\"effectivePeriod\":{\"start\":\"2024-03-01\",\"end\":\"2024-03-10\"},"
        "\"valueQuantity\":{\"value\":72,\"unit\":\"/min\",\"system\":\"http://"
        "unitsofmeasure.org\","
        "\"code\":\"/min\"}}",
        0);
    put(f,
        "{\"resourceType\":\"Observation\",\"id\":\"o6\",\"status\":\"final\",\"code\":{\"coding\":"
        "[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\"},{\"code\":\"wt\"}]},\"subject\":"
        "{\"reference\":\"Patient/p3\"},\"effectiveDateTime\":\"2023-12-31T23:00:00-02:00\","
        "\"valueQuantity\":{\"value\":60.5,\"unit\":\"kg\",\"system\":\"http://"
        "unitsofmeasure.org\","
        "\"code\":\"kg\"}}",
        0);
    put(f, bp(f->a, "o7", "p1", "2024-03-05T10:30:00+09:00", "final", 120, 80), 1); /* deleted */
    put(f,
        "{\"resourceType\":\"Condition\",\"id\":\"c1\",\"code\":{\"coding\":[{\"system\":"
        "\"http://snomed.info/sct\",\"code\":\"38341003\"}]},\"subject\":{\"reference\":"
        "\"Patient/p1\"},\"onsetDateTime\":\"2020\"}",
        0);
    put(f,
        "{\"resourceType\":\"Condition\",\"id\":\"c2\",\"code\":{\"coding\":[{\"system\":"
        "\"http://snomed.info/sct\",\"code\":\"44054006\"}]},\"subject\":{\"reference\":"
        "\"Patient/p2\"},\"onsetPeriod\":{\"start\":\"2019-06\"}}",
        0);
    return 0;
}

/* ---- running searches ---- */

struct collect {
    struct arena *a;
    const struct fhir_search *s;
    char ids[1024];
    size_t n;
    char *next; /* the cursor after the count-th row */
};

static int collect_row(const struct store_row *row, void *ctx)
{
    struct collect *c = ctx;
    if (c->s != NULL && c->s->count > 0 && c->n == (size_t)c->s->count)
        return 1; /* the extra row: there is a next page */
    size_t len = strlen(c->ids);
    const char *id = store_row_text(row, FHIR_SQL_COL_ID, NULL);
    if (c->s == NULL) /* includes: Type/id */
        snprintf(c->ids + len, sizeof c->ids - len, "%s%s/%s", len > 0 ? "," : "",
                 store_row_text(row, FHIR_SQL_COL_RTYPE, NULL), id);
    else
        snprintf(c->ids + len, sizeof c->ids - len, "%s%s", len > 0 ? "," : "", id);
    c->n++;
    if (c->s != NULL && c->n == (size_t)c->s->count) {
        c->next = fhir_search_sql_cursor(c->s, row, c->a);
        assert_non_null(c->next);
    }
    return 0;
}

static void parse_search(struct fx *f, const char *rtype, const char *qs, struct fhir_search *s)
{
    struct fhir_search_pair *p;
    size_t n;
    struct err e = {0};
    static const unsigned char key[FHIR_SEARCH_CURSOR_KEY_LEN] = {7};
    struct fhir_search_opts o = {
        .defs = &td_defs, .strict = 1, .now_ms = NOW_MS, .cursor_key = key};
    assert_int_equal(fhir_search_pairs_parse(qs, strlen(qs), f->a, &p, &n, &e), 0);
    if (fhir_search_parse(rtype, p, n, &o, f->a, s, &e) != 0)
        fail_msg("parse %s: %s", qs, e.msg);
}

/* One page of rtype?qs: the ids in order; *next the next page's query (NULL at the end). */
static char *page(struct fx *f, const char *rtype, const char *qs, char **next)
{
    struct fhir_search s;
    struct fhir_sql q;
    struct err e = {0};
    parse_search(f, rtype, qs, &s);
    assert_int_equal(fhir_search_sql_page(&s, f->a, &q, &e), 0);
    struct collect c = {.a = f->a, .s = &s};
    if (store_query(f->s, q.sql, q.params, q.nparams, collect_row, &c, &e) != 0)
        fail_msg("query %s: %s\n%s", qs, e.msg, q.sql);
    if (next != NULL)
        *next = c.n == (size_t)s.count && c.next != NULL ? fhir_search_link_query(&s, c.next, f->a)
                                                         : NULL;
    return arena_strdup(f->a, c.ids);
}

static void expect(struct fx *f, const char *rtype, const char *qs, const char *want)
{
    char *got = page(f, rtype, qs, NULL);
    if (strcmp(got, want) != 0)
        fail_msg("%s?%s: got \"%s\", want \"%s\"", rtype, qs, got, want);
}

/* ---- tests ---- */

static void dates(void **state)
{
    struct fx *f = *state;
    expect(f, "Observation", "date=2024-03", "o1,o2,o5");
    expect(f, "Observation", "date=eq2024-03-31", "o2");
    expect(f, "Observation", "date=ne2024-03", "o3,o4,o6");
    expect(f, "Observation", "date=lt2024-03", "o4,o6");
    expect(f, "Observation", "date=gt2024-03", "o3");
    expect(f, "Observation", "date=ge2024-04-01", "o3");
    expect(f, "Observation", "date=le2024-02-29", "o4,o6");
    expect(f, "Observation", "date=sa2024-03-10", "o2,o3");
    expect(f, "Observation", "date=eb2024-03-05", "o4,o6");
    expect(f, "Observation", "date=ap2024-03-05", "o1,o2,o3,o4,o5");
    expect(f, "Observation", "date=2024-03-05T10:30:00%2B09:00", "o1");
    expect(f, "Observation", "date=2024-03-05T01:30Z", "o1");
    expect(f, "Observation", "date=2024-03-05T10:30:00+09:00", "o1"); /* '+' unencoded */
    expect(f, "Observation", "date=2024-03-05T01:31Z", "");
    /* 2023-12-31T23:00-02:00 is 2024-01-01 in UTC */
    expect(f, "Observation", "date=2024-01-01", "o6");
    expect(f, "Observation", "date=2023", "");
    /* the last ms of March and the first of April */
    expect(f, "Observation", "date=2024-03-31T23:59:59Z", "o2");
    expect(f, "Observation", "date=2024-04-01T00:00:00Z", "o3");
    /* a search to the ms does not contain a value given to the second */
    expect(f, "Observation", "date=2024-04-01T00:00:00.000Z", "");
    expect(f, "Observation", "date=ge2024-04-01T00:00:00.000Z", "o3");
    expect(f, "Observation", "date=2024-01-01,2024-04", "o3,o6");
    expect(f, "Observation", "date=ge2024-03&date=lt2024-04", "o1,o2,o5");
    expect(f, "Condition", "onset-date=2019", "");     /* open period: not inside 2019 */
    expect(f, "Condition", "onset-date=ge2025", "c2"); /* ... but reaches past it */
    expect(f, "Condition", "onset-date=2020", "c1");
    expect(f, "Patient", "birthdate=1980", "p1");
    expect(f, "Patient", "birthdate=lt1980", "p2");
    expect(f, "Patient", "birthdate:missing=true", "p3");
    /* _lastUpdated: resources were written one second apart, p1 first */
    expect(f, "Patient", "_lastUpdated=gt2023-11-14T22:13:21Z", "p2,p3");
    expect(f, "Patient", "_lastUpdated=le2023-11-14T22:13:21Z", "p1");
}

static void tokens(void **state)
{
    struct fx *f = *state;
    expect(f, "Observation", "code=http://loinc.org|85354-9", "o1,o2,o3,o4");
    expect(f, "Observation", "code=85354-9", "o1,o2,o3,o4");
    expect(f, "Observation", "code=|85354-9", "");
    expect(f, "Observation", "code=|wt", "o6");
    expect(f, "Observation", "code=http://loinc.org|", "o1,o2,o3,o4,o5,o6");
    expect(f, "Observation", "code=http://snomed.info/sct|85354-9", "");
    expect(f, "Observation", "code=http://loinc.org|8867-4,http://loinc.org|29463-7", "o5,o6");
    expect(f, "Observation", "combo-code=8480-6", "o1,o2,o3,o4");
    expect(f, "Observation", "status=final", "o1,o2,o5,o6");
    expect(f, "Observation", "status:not=final", "o3,o4");
    expect(f, "Observation", "status:not=final,amended", "o4");
    expect(f, "Observation", "category:missing=true", "o5,o6");
    expect(f, "Observation", "category:missing=false", "o1,o2,o3,o4");
    expect(f, "Observation", "identifier=urn:x|A-o1", "o1");
    expect(f, "Observation", "_id=o2,o3,o7", "o2,o3");
    expect(f, "Observation", "code=85354-9&status=final&patient=p1", "o1,o2");
}

static void quantities_references_strings(void **state)
{
    struct fx *f = *state;
    expect(f, "Observation", "value-quantity=72", "o5");
    expect(f, "Observation", "value-quantity=gt70", "o5");
    expect(f, "Observation", "value-quantity=lt70", "o6");
    expect(f, "Observation", "value-quantity=ne72", "o6");
    expect(f, "Observation", "value-quantity=60.5|http://unitsofmeasure.org|kg", "o6");
    expect(f, "Observation", "value-quantity=60.5||kg", "o6");
    expect(f, "Observation", "value-quantity=60.5|http://other.org|kg", "");
    expect(f, "Observation", "value-quantity=60||kg", "");   /* [59.5, 60.5) */
    expect(f, "Observation", "value-quantity=61||kg", "o6"); /* [60.5, 61.5) */
    expect(f, "Observation", "value-quantity=ap66", "o5,o6");
    expect(f, "Observation", "value-quantity=le60.5,ge72", "o5,o6");
    expect(f, "Observation", "component-value-quantity=ge135", "o2,o3");
    expect(f, "Observation", "component-value-quantity=le80", "o1,o4");
    expect(f, "Observation", "component-value-quantity=120", "o1,o4");
    expect(f, "Observation", "component-value-quantity=sa149", "o3");
    expect(f, "Observation", "component-value-quantity=eb71", "o4");
    expect(f, "Observation", "component-value-quantity=120|http://unitsofmeasure.org|mm[Hg]",
           "o1,o4");

    expect(f, "Observation", "patient=p1", "o1,o2,o5");
    expect(f, "Observation", "patient=Patient/p2", "o3,o4");
    expect(f, "Observation", "subject=Patient/p3", "o6");
    expect(f, "Observation", "subject:Patient=p1", "o1,o2,o5");
    expect(f, "Observation", "subject=p2", "o3,o4");
    expect(f, "Observation", "patient:missing=true", "");
    expect(f, "Condition", "patient=p1,p2", "c1,c2");

    expect(f, "Patient", "name=%E5%B1%B1", "p1");            /* 山 prefix */
    expect(f, "Patient", "family=%E3%83%A4%E3%83%9E", "p1"); /* ヤマ */
    expect(f, "Patient", "given=%E8%8A%B1", "p1");           /* 花 */
    expect(f, "Patient", "name=yama", "p2"); /* Yamamoto and ＹＡＭＡＭＯＴＯ */
    expect(f, "Patient", "name=YAMAMOTO", "p2");
    expect(f, "Patient", "name=%EF%BD%99%EF%BD%81%EF%BD%8D%EF%BD%81", "p2"); /* ｙａｍａ */
    expect(f, "Patient", "name:exact=%E5%B1%B1%E7%94%B0", "p1");
    expect(f, "Patient", "name:exact=%E5%B1%B1", "");
    expect(f, "Patient", "name:exact=yamamoto", "");
    expect(f, "Patient", "name:contains=mot", "p2");
    expect(f, "Patient", "name=emile", "p3");
    expect(f, "Patient", "name=%C3%89MILE", "p3");
    expect(f, "Patient", "name=zoe", "p3");
    expect(f, "Patient", "name=%25", ""); /* LIKE wildcards are escaped */
    expect(f, "Patient", "name=_", "");
    expect(f, "Patient", "name:contains=%25", "");
}

static void sorting(void **state)
{
    struct fx *f = *state;
    expect(f, "Observation", "", "o1,o2,o3,o4,o5,o6");
    expect(f, "Observation", "_sort=date", "o6,o4,o5,o1,o2,o3");
    expect(f, "Observation", "_sort=-date", "o3,o2,o5,o1,o4,o6");
    expect(f, "Observation", "_sort=component-value-quantity", "o4,o1,o2,o3,o5,o6");
    expect(f, "Observation", "_sort=-component-value-quantity", "o3,o2,o1,o4,o5,o6");
    expect(f, "Observation", "_sort=status", "o3,o1,o2,o5,o6,o4");
    expect(f, "Observation", "_sort=-status", "o4,o1,o2,o5,o6,o3");
    expect(f, "Observation", "_sort=-status,-date", "o4,o2,o5,o1,o6,o3");
    expect(f, "Observation", "_sort=-_id", "o6,o5,o4,o3,o2,o1");
    expect(f, "Observation", "_sort=-_lastUpdated", "o6,o5,o4,o3,o2,o1");
    expect(f, "Observation", "_sort=value-quantity", "o6,o5,o1,o2,o3,o4");
    expect(f, "Patient", "_sort=birthdate", "p2,p1,p3");
    expect(f, "Patient", "_sort=-birthdate", "p1,p2,p3");
    expect(f, "Patient", "_sort=name", "p3,p2,p1");  /* "emile" < "taro" < kana/kanji */
    expect(f, "Patient", "_sort=-name", "p1,p3,p2"); /* kanji > "zoe" > "yamamoto" */
    expect(f, "Observation", "_sort=date&_count=2", "o6,o4");
}

static void paging(void **state)
{
    struct fx *f = *state;
    static const char *const sorts[] = {
        "",
        "_sort=date",
        "_sort=-date",
        "_sort=status",
        "_sort=-status",
        "_sort=-status,-date",
        "_sort=component-value-quantity",
        "_sort=-component-value-quantity",
        "_sort=value-quantity",
        "_sort=-_id",
        "_sort=_lastUpdated",
        "_sort=-code,status,_id",
        "code=http://loinc.org|&_sort=-status",
        "patient=Patient/p1&code=http://loinc.org|85354-9",
    };
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
        for (int per = 1; per <= 4; per++) {
            char *all = page(f, "Observation", sorts[i], NULL);
            char q[256], joined[512] = "";
            size_t jl = 0;
            snprintf(q, sizeof q, "%s%s_count=%d", sorts[i], sorts[i][0] ? "&" : "", per);
            char *next = q;
            int pages = 0;
            while (next != NULL && pages < 20) {
                char *ids = page(f, "Observation", next, &next);
                jl += (size_t)snprintf(joined + jl, sizeof joined - jl, "%s%s",
                                       jl > 0 && ids[0] ? "," : "", ids);
                pages++;
            }
            if (strcmp(joined, all) != 0)
                fail_msg("paging %s by %d: \"%s\", want \"%s\"", sorts[i], per, joined, all);
        }
}

static int one_int(const struct store_row *row, void *ctx)
{
    *(int64_t *)ctx = store_row_int(row, 0);
    return 0;
}

static int64_t count_of(struct fx *f, const char *rtype, const char *qs)
{
    struct fhir_search s;
    struct fhir_sql q;
    struct err e = {0};
    int64_t n = -1;
    parse_search(f, rtype, qs, &s);
    assert_int_equal(fhir_search_sql_count(&s, f->a, &q, &e), 0);
    assert_int_equal(store_query(f->s, q.sql, q.params, q.nparams, one_int, &n, &e), 0);
    return n;
}

static char *includes(struct fx *f, const char *rtype, const char *qs, int rev)
{
    struct fhir_search s;
    struct fhir_sql q;
    struct err e = {0};
    parse_search(f, rtype, qs, &s);
    char *ids = page(f, rtype, qs, NULL);
    struct fhir_sql_key keys[16];
    size_t n = 0;
    for (char *t = ids; *t != '\0' && n < 16;) {
        char *comma = strchr(t, ',');
        keys[n].rtype = rtype;
        keys[n++].id = comma != NULL ? arena_strndup(f->a, t, (size_t)(comma - t)) : t;
        if (comma == NULL)
            break;
        t = comma + 1;
    }
    int rc = rev ? fhir_search_sql_revinclude(&s, keys, n, f->a, &q, &e)
                 : fhir_search_sql_include(&s, keys, n, f->a, &q, &e);
    if (rc == ERR_NOTFOUND)
        return "(none)";
    assert_int_equal(rc, 0);
    struct collect c = {.a = f->a};
    if (store_query(f->s, q.sql, q.params, q.nparams, collect_row, &c, &e) != 0)
        fail_msg("include %s: %s\n%s", qs, e.msg, q.sql);
    return arena_strdup(f->a, c.ids);
}

static void counts_and_includes(void **state)
{
    struct fx *f = *state;
    assert_int_equal(count_of(f, "Observation", "code=85354-9"), 4);
    assert_int_equal(count_of(f, "Observation", "_summary=count"), 6);
    assert_int_equal(count_of(f, "Observation", "status=final&_count=1"), 4);
    assert_int_equal(count_of(f, "Patient", "name=nobody"), 0);

    assert_string_equal(includes(f, "Observation", "_id=o1,o3&_include=Observation:patient", 0),
                        "Patient/p1,Patient/p2");
    assert_string_equal(
        includes(f, "Observation", "_id=o1,o2,o5&_include=Observation:subject:Patient", 0),
        "Patient/p1");
    assert_string_equal(includes(f, "Observation", "_id=o1&_include=Observation:performer", 0), "");
    assert_string_equal(includes(f, "Observation", "_id=o1", 0), "(none)");
    assert_string_equal(includes(f, "Patient",
                                 "_id=p1&_revinclude=Observation:subject"
                                 "&_revinclude=Condition:patient",
                                 1),
                        "Condition/c1,Observation/o1,Observation/o2,Observation/o5");
    assert_string_equal(includes(f, "Patient", "_id=p2,p3&_revinclude=Observation:patient", 1),
                        "Observation/o3,Observation/o4,Observation/o6");
    /* the statement is padded so that few distinct texts reach the statement cache */
    struct fhir_search s;
    struct fhir_sql q3, q4;
    struct err e = {0};
    struct fhir_sql_key k[4] = {
        {"Patient", "a"}, {"Patient", "b"}, {"Patient", "c"}, {"Patient", "d"}};
    parse_search(f, "Patient", "_revinclude=Observation:subject", &s);
    assert_int_equal(fhir_search_sql_revinclude(&s, k, 3, f->a, &q3, &e), 0);
    assert_int_equal(fhir_search_sql_revinclude(&s, k, 4, f->a, &q4, &e), 0);
    assert_string_equal(q3.sql, q4.sql);
}

/* Is the page of rtype?qs read from the token index by citizen and code (search_sql.c)? */
static int driven_by_citizen_code(struct fx *f, const char *rtype, const char *qs)
{
    struct fhir_search s;
    struct fhir_sql q;
    struct err e = {0};
    parse_search(f, rtype, qs, &s);
    assert_int_equal(fhir_search_sql_page(&s, f->a, &q, &e), 0);
    return strstr(q.sql, "FROM fhir_ix_token d JOIN fhir_resource r") != NULL;
}

static void citizen_code(void **state)
{
    struct fx *f = *state;
    /* one citizen's one code: the same answers as any other plan, from one index range */
    const char *q1 = "patient=Patient/p1&code=http://loinc.org|85354-9";
    expect(f, "Observation", q1, "o1,o2"); /* o7 (p1's too) is deleted */
    assert_true(driven_by_citizen_code(f, "Observation", q1));
    expect(f, "Observation", "code=http://loinc.org|85354-9&patient=p1", "o1,o2");
    expect(f, "Observation", "code=http://loinc.org|85354-9&subject=Patient/p2&status=amended",
           "o3");
    expect(f, "Observation", "patient=p2&code=http://loinc.org|85354-9&date=2024-02", "o4");
    expect(f, "Condition", "patient=p1&code=http://snomed.info/sct|38341003", "c1");
    expect(f, "Condition", "patient=p2&code=http://snomed.info/sct|38341003", "");
    /* not this plan: a subject that may be a Group, codes without a system, several values,
     * a sort */
    assert_false(
        driven_by_citizen_code(f, "Observation", "subject=p2&code=http://loinc.org|85354-9"));
    assert_false(driven_by_citizen_code(f, "Observation", "patient=p1&code=85354-9"));
    assert_false(
        driven_by_citizen_code(f, "Observation", "patient=p1,p2&code=http://loinc.org|85354-9"));
    assert_false(driven_by_citizen_code(f, "Observation",
                                        "patient=p1&code=http://loinc.org|85354-9&_sort=date"));
    expect(f, "Observation", "subject=p2&code=http://loinc.org|85354-9", "o3,o4");

    /* a code named twice in one resource is one token row, so the resource is one match */
    put(f,
        "{\"resourceType\":\"Observation\",\"id\":\"o8\",\"status\":\"final\",\"code\":{"
        "\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\"},{\"system\":"
        "\"http://loinc.org\",\"code\":\"29463-7\",\"display\":\"Body weight\"}]},"
        "\"subject\":{\"reference\":\"Patient/p3\"},\"valueQuantity\":{\"value\":61,"
        "\"unit\":\"kg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}}",
        0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_ix_token WHERE id = 'o8' AND "
                                 "param = 'code' AND code = '29463-7'"),
                     1);
    /* token rows carry the resource's subject */
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_ix_token WHERE id = 'o8' AND "
                                 "(subject IS NULL OR subject <> 'p3')"),
                     0);
    expect(f, "Observation", "patient=p3&code=http://loinc.org|29463-7", "o6,o8");
    /* and paged one by one, every match once */
    char *next = "patient=p3&code=http://loinc.org|29463-7&_count=1";
    char joined[64] = "";
    size_t jl = 0;
    for (int pages = 0; next != NULL && pages < 5; pages++) {
        char *ids = page(f, "Observation", next, &next);
        jl += (size_t)snprintf(joined + jl, sizeof joined - jl, "%s%s", jl > 0 && ids[0] ? "," : "",
                               ids);
    }
    assert_string_equal(joined, "o6,o8");
}

static void reindex_and_delete(void **state)
{
    struct fx *f = *state;
    /* a new version replaces the index rows of the old one */
    put(f, bp(f->a, "o1", "p2", "2022-01-01", "final", 100, 60), 0);
    expect(f, "Observation", "patient=p1", "o2,o5");
    expect(f, "Observation", "date=2022", "o1");
    expect(f, "Observation", "date=2024-03-05", "");
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM fhir_ix_quantity WHERE id = 'o1'"), 2);
    /* deleting removes every row of all seven tables */
    assert_true(fx_count(f, "SELECT COUNT(*) FROM fhir_ix_token WHERE id = 'o1'") > 0);
    struct put p = {.rtype = "Observation", .id = "o1", .body = "{}", .deleted = 1};
    struct err e = {0};
    assert_int_equal(store_write(f->s, put_tx, &p, &e), 0);
    static const char *const t[] = {"token", "date", "ref", "string", "number", "quantity", "uri"};
    for (size_t i = 0; i < 7; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM fhir_ix_%s WHERE id = 'o1'", t[i]);
        assert_int_equal(fx_count(f, sql), 0);
    }
    expect(f, "Observation", "", "o2,o3,o4,o5,o6");
}

/* ---- parameters stored as others (index_rows.h fhir_ix_stored_as) ---- */

/* A copy of the FHIR definitions' parameter tables: entries that are not the definitions' own
 * are stored under their own names, so a store indexed and searched with the copy is the
 * store as it was before parameters shared rows. */
#define PLAIN_TYPES 4
static struct plain {
    char rtype[32];
    struct fhir_search_param *ps;
    size_t n;
} plain[PLAIN_TYPES];

static const struct fhir_search_param *plain_params(const char *rtype, size_t *n)
{
    for (size_t i = 0; i < PLAIN_TYPES; i++) {
        if (plain[i].ps == NULL) {
            const struct fhir_search_param *ps = fhir_defs_search_params(rtype, n);
            if (ps == NULL)
                return NULL;
            plain[i].ps = malloc(*n * sizeof *ps);
            assert_non_null(plain[i].ps);
            memcpy(plain[i].ps, ps, *n * sizeof *ps);
            plain[i].n = *n;
            snprintf(plain[i].rtype, sizeof plain[i].rtype, "%s", rtype);
        }
        if (strcmp(plain[i].rtype, rtype) == 0) {
            *n = plain[i].n;
            return plain[i].ps;
        }
    }
    fail_msg("more than %d types", PLAIN_TYPES);
    return NULL;
}

static const struct fhir_search_param *plain_param(const char *rtype, const char *name)
{
    size_t n = 0;
    const struct fhir_search_param *ps = plain_params(rtype, &n);
    for (size_t i = 0; ps != NULL && i < n; i++)
        if (strcmp(ps[i].name, name) == 0)
            return &ps[i];
    return NULL;
}

static const struct fhir_search_defs real_defs = {fhir_defs_search_params, fhir_defs_search_param,
                                                  NULL};
static const struct fhir_search_defs plain_defs = {plain_params, plain_param, NULL};

static void put_with(struct fx *f, const char *json, fhir_search_params_fn params)
{
    struct err e = {0};
    json_t *v = jsonx_parse(json, strlen(json), &e);
    assert_non_null(v);
    struct put p = {.rtype = json_string_value(json_object_get(v, "resourceType")),
                    .id = json_string_value(json_object_get(v, "id")),
                    .body = json,
                    .updated_ms = 1700000000000LL + 1000 * ++updated_seq};
    const char *ref =
        json_string_value(json_object_get(json_object_get(v, "subject"), "reference"));
    p.subject = strcmp(p.rtype, "Patient") == 0                   ? p.id
                : ref != NULL && strncmp(ref, "Patient/", 8) == 0 ? ref + 8
                                                                  : NULL;
    assert_int_equal(fhir_index_rows(v, params, f->a, &p.rows, &e), 0);
    if (store_write(f->s, put_tx, &p, &e) != 0)
        fail_msg("put %s: %s", p.id, e.msg);
    json_decref(v);
}

/* "ids|count|includes" of rtype?qs searched with defs */
static char *answer(struct fx *f, const struct fhir_search_defs *defs, const char *rtype,
                    const char *qs)
{
    struct fhir_search_pair *p;
    size_t n;
    struct err e = {0};
    struct fhir_search s;
    struct fhir_sql q;
    static const unsigned char key[FHIR_SEARCH_CURSOR_KEY_LEN] = {7};
    struct fhir_search_opts o = {.defs = defs, .strict = 1, .now_ms = NOW_MS, .cursor_key = key};
    assert_int_equal(fhir_search_pairs_parse(qs, strlen(qs), f->a, &p, &n, &e), 0);
    if (fhir_search_parse(rtype, p, n, &o, f->a, &s, &e) != 0)
        fail_msg("parse %s: %s", qs, e.msg);
    assert_int_equal(fhir_search_sql_page(&s, f->a, &q, &e), 0);
    struct collect c = {.a = f->a, .s = &s};
    if (store_query(f->s, q.sql, q.params, q.nparams, collect_row, &c, &e) != 0)
        fail_msg("query %s: %s\n%s", qs, e.msg, q.sql);
    int64_t total = -1;
    assert_int_equal(fhir_search_sql_count(&s, f->a, &q, &e), 0);
    assert_int_equal(store_query(f->s, q.sql, q.params, q.nparams, one_int, &total, &e), 0);
    struct fhir_sql_key keys[16];
    size_t nk = 0;
    char *ids = arena_strdup(f->a, c.ids), *inc = "", *rev = "";
    for (char *t = ids; *t != '\0' && nk < 16;) {
        char *comma = strchr(t, ',');
        keys[nk].rtype = rtype;
        keys[nk++].id = comma != NULL ? arena_strndup(f->a, t, (size_t)(comma - t)) : t;
        if (comma == NULL)
            break;
        t = comma + 1;
    }
    for (int r = 0; r < 2; r++) {
        int rc = r ? fhir_search_sql_revinclude(&s, keys, nk, f->a, &q, &e)
                   : fhir_search_sql_include(&s, keys, nk, f->a, &q, &e);
        if (rc == ERR_NOTFOUND)
            continue;
        assert_int_equal(rc, 0);
        struct collect ci = {.a = f->a};
        assert_int_equal(store_query(f->s, q.sql, q.params, q.nparams, collect_row, &ci, &e), 0);
        *(r ? &rev : &inc) = arena_strdup(f->a, ci.ids);
    }
    return arena_printf(f->a, "%s|%lld|%s|%s", c.ids, (long long)total, inc, rev);
}

static void shared_rows_answer_alike(void **state)
{
    struct fx *f = *state, *g;
    void *gs = NULL;
    assert_int_equal(fx_setup_in(&gs, "fhir-search-plain"), 0);
    g = gs;
    const char *docs[] = {
        "{\"resourceType\":\"Patient\",\"id\":\"p1\"}",
        "{\"resourceType\":\"Patient\",\"id\":\"p2\"}",
        "{\"resourceType\":\"Group\",\"id\":\"g1\",\"type\":\"person\",\"actual\":true}",
        NULL,
        NULL,
        /* the heart rate's own code is a component code of the others */
        "{\"resourceType\":\"Observation\",\"id\":\"o3\",\"status\":\"final\",\"code\":{"
        "\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},\"subject\":{"
        "\"reference\":\"Patient/p2\"},\"valueQuantity\":{\"value\":130,\"unit\":\"mmHg\"}}",
        /* about a group: "subject" finds it, "patient" must not */
        "{\"resourceType\":\"Observation\",\"id\":\"o4\",\"status\":\"final\",\"code\":{"
        "\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\"}]},\"subject\":{"
        "\"reference\":\"Group/g1\"},\"valueQuantity\":{\"value\":90,\"unit\":\"mmHg\"}}",
        /* an absolute reference: a URL row, found by both */
        "{\"resourceType\":\"Observation\",\"id\":\"o5\",\"status\":\"final\",\"code\":{"
        "\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8867-4\"}]},\"subject\":{"
        "\"reference\":\"http://example.org/fhir/Patient/x9\"}}",
        /* no subject at all */
        "{\"resourceType\":\"Observation\",\"id\":\"o6\",\"status\":\"final\",\"code\":{"
        "\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8867-4\"}]}}",
    };
    docs[3] = bp(f->a, "o1", "p1", "2024-03-05", "final", 120, 80);
    docs[4] = bp(f->a, "o2", "p2", "2024-03-06", "final", 150, 95);
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        put_with(f, docs[i], fhir_defs_search_params);
        put_with(g, docs[i], plain_params);
    }
    /* stored once: no rows of their own for the parameters stored as others */
    static const char *const shared[] = {
        "SELECT COUNT(*) FROM fhir_ix_ref WHERE rtype = 'Observation' AND param = 'patient'",
        "SELECT COUNT(*) FROM fhir_ix_token WHERE rtype = 'Observation' AND param = "
        "'combo-code'",
        "SELECT COUNT(*) FROM fhir_ix_quantity WHERE rtype = 'Observation' AND param = "
        "'combo-value-quantity'",
    };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(fx_count(f, shared[i]), 0);
        assert_true(fx_count(g, shared[i]) > 0);
    }
    assert_true(fx_count(f, "SELECT COUNT(*) FROM fhir_ix_ref") <
                fx_count(g, "SELECT COUNT(*) FROM fhir_ix_ref"));

    static const char *const obs_qs[] = {
        "patient=p1",
        "patient=Patient/p2",
        "patient=g1",
        "subject=g1",
        "subject=Group/g1",
        "patient=http://example.org/fhir/Patient/x9",
        "patient:missing=true",
        "patient:missing=false",
        "combo-code=http://loinc.org|8480-6",
        "combo-code=8480-6",
        "combo-code=8480-6,8867-4",
        "combo-code:not=http://loinc.org|8480-6",
        "combo-code:missing=true",
        "combo-code=http://loinc.org|8480-6&patient=Patient/p2",
        "code=http://loinc.org|85354-9&patient=Patient/p1",
        "combo-value-quantity=gt100",
        "combo-value-quantity=120",
        "combo-value-quantity=lt100",
        "combo-value-quantity:missing=true",
        "_sort=combo-code",
        "_sort=-combo-code",
        "_sort=combo-value-quantity",
        "_sort=-combo-value-quantity",
        "_count=2&_sort=-combo-value-quantity",
        "_include=Observation:patient",
        "_include=Observation:patient:Patient",
        "_include=Observation:subject",
        "status=final&_include=Observation:patient&_include=Observation:subject:Group",
    };
    for (size_t i = 0; i < sizeof obs_qs / sizeof obs_qs[0]; i++) {
        char *want = answer(g, &plain_defs, "Observation", obs_qs[i]);
        char *got = answer(f, &real_defs, "Observation", obs_qs[i]);
        if (strcmp(got, want) != 0)
            fail_msg("Observation?%s: got \"%s\", want \"%s\"", obs_qs[i], got, want);
    }
    static const char *const pat_qs[] = {
        "_revinclude=Observation:patient",
        "_id=p2&_revinclude=Observation:patient",
        "_revinclude=Observation:subject",
    };
    for (size_t i = 0; i < sizeof pat_qs / sizeof pat_qs[0]; i++) {
        char *want = answer(g, &plain_defs, "Patient", pat_qs[i]);
        char *got = answer(f, &real_defs, "Patient", pat_qs[i]);
        if (strcmp(got, want) != 0)
            fail_msg("Patient?%s: got \"%s\", want \"%s\"", pat_qs[i], got, want);
    }
    /* and the answers are what they should be, not merely alike */
    assert_string_equal(answer(f, &real_defs, "Observation", "patient=p2"), "o2,o3|2||");
    assert_string_equal(answer(f, &real_defs, "Observation", "combo-code=8480-6"), "o1,o2,o3|3||");
    assert_string_equal(answer(f, &real_defs, "Observation", "patient=g1"), "|0||");
    assert_string_equal(answer(f, &real_defs, "Observation", "combo-value-quantity=gt125"),
                        "o2,o3|2||");
    fx_teardown(&gs);
    for (size_t i = 0; i < PLAIN_TYPES; i++) {
        free(plain[i].ps);
        memset(&plain[i], 0, sizeof plain[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dates, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(tokens, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(quantities_references_strings, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(sorting, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(paging, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(counts_and_includes, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(citizen_code, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reindex_and_delete, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(shared_rows_answer_alike, fx_setup_plain, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

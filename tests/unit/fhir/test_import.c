/* test_import.c - the life-stage import (src/fhir/import*.c) on a real store with citizens made
 * through the identity API: NDJSON, Bundles (batch, collection, transaction with urn:uuid) and
 * the two check-up CSV formats are imported; every rejection reason is reported with its place;
 * a transaction failing in its middle stores nothing; a rerun skips what was imported; each
 * written resource leaves an "import" entry on the citizen's trail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/ids.h"
#include "fhir/import.h"
#include "fhir/import_csv.h"
#include "identity/person.h"
#include "support/fixture.h"

#define REJ_MAX 32

struct rej {
    char file[64], where[32], reason[FHIR_IMPORT_REASON_MAX];
};

static struct rej rejs[REJ_MAX];
static size_t nrej;

struct t {
    struct fx *f;
    char taro[IDS_LEN + 1], hanako[IDS_LEN + 1];
};

/* A malloc'ed printf. */
static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void on_reject(void *ctx, const char *file, const char *where, const char *reason)
{
    (void)ctx;
    if (nrej == REJ_MAX)
        return;
    snprintf(rejs[nrej].file, sizeof rejs[nrej].file, "%s", file);
    snprintf(rejs[nrej].where, sizeof rejs[nrej].where, "%s", where);
    snprintf(rejs[nrej].reason, sizeof rejs[nrej].reason, "%s", reason);
    nrej++;
}

static void person(struct fx *f, const char *given, const char *email, char *id)
{
    struct id_person_new p = {.family_name_kanji = "会津",
                              .given_name_kanji = given,
                              .family_name_kana = "アイヅ",
                              .given_name_kana = "タロウ",
                              .birth_date = "1955-04-12",
                              .sex = ID_SEX_MALE,
                              .district = "湊",
                              .email = email,
                              .assurance = ID_ASSURANCE_CARD};
    struct err e = {0};
    assert_int_equal(id_person_create(f->s, &p, id, &e), 0);
}

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof *t);
    if (t == NULL || ids_init() != 0 || fx_setup_in((void **)&t->f, "import") != 0)
        return -1;
    person(t->f, "太郎", "taro@example.jp", t->taro);
    person(t->f, "花子", "hanako@example.jp", t->hanako);
    nrej = 0;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    void *f = t->f;
    fx_teardown(&f);
    free(t);
    return 0;
}

/* Runs one import of text as fmt; returns the stats. */
static struct fhir_import_stats run_as(struct t *t, const char *source, const char *name,
                                       enum fhir_import_format fmt, const char *text, int want)
{
    struct fhir_import_options o = {.source = source, .on_reject = on_reject};
    struct err e = {0};
    struct fhir_importer *im = fhir_importer_new(t->f->s, &o, &e);
    assert_non_null(im);
    int rc = fhir_import_buffer(im, name, fmt, text, strlen(text), &e);
    if (rc != want)
        fail_msg("import returned %d (%s), want %d", rc, e.msg, want);
    struct fhir_import_stats st;
    fhir_importer_stats(im, &st);
    fhir_importer_free(im);
    return st;
}

static struct fhir_import_stats run(struct t *t, const char *name, enum fhir_import_format fmt,
                                    const char *text)
{
    return run_as(t, "test", name, fmt, text, 0);
}

static int64_t count(struct t *t, const char *sql)
{
    return fx_count(t->f, sql);
}

static void assert_rejected(size_t i, const char *where, const char *needle)
{
    if (i >= nrej)
        fail_msg("rejection %zu missing (%zu reported)", i, nrej);
    assert_string_equal(rejs[i].where, where);
    if (strstr(rejs[i].reason, needle) == NULL)
        fail_msg("rejection %zu: \"%s\" does not say \"%s\"", i, rejs[i].reason, needle);
}

#define OBS_CAT "http://terminology.hl7.org/CodeSystem/observation-category"

/* A body-weight Observation of patient (a new malloc'ed string). */
static char *weight(const char *patient, int kg, const char *extra)
{
    char *s = xprintf("{\"resourceType\":\"Observation\",%s\"status\":\"final\",\"category\":[{"
                      "\"coding\":[{\"system\":\"" OBS_CAT "\",\"code\":\"vital-signs\"}]}],"
                      "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
                      "\"29463-7\"}]},\"subject\":{\"reference\":\"Patient/%s\"},"
                      "\"effectiveDateTime\":\"2025-01-0%d\",\"valueQuantity\":{\"value\":%d,"
                      "\"unit\":\"kg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}}",
                      extra != NULL ? extra : "", patient, kg % 9 + 1, kg);
    return s;
}

static char *joined(const char *sep, char **parts, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(parts[i]) + strlen(sep);
    char *out = calloc(1, len);
    assert_non_null(out);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            memcpy(out + at, sep, strlen(sep));
            at += strlen(sep);
        }
        memcpy(out + at, parts[i], strlen(parts[i]));
        at += strlen(parts[i]);
    }
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
    return out;
}

/* ---- NDJSON ---- */

static void test_ndjson_imports_and_rerun_skips(void **state)
{
    struct t *t = *state;
    char *lines[3] = {weight(t->taro, 70, NULL), weight(t->taro, 71, NULL),
                      weight(t->hanako, 52, NULL)};
    char *text = joined("\n\n", lines, 3);
    struct fhir_import_stats st = run(t, "w.ndjson", FHIR_IMPORT_NDJSON, text);
    assert_int_equal(st.records, 3);
    assert_int_equal(st.imported, 3);
    assert_int_equal(st.rejected, 0);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource"), 3);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_import WHERE source = 'test'"), 3);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource WHERE category = 'vitals'"), 3);

    /* the rerun: nothing new, every record skipped */
    st = run(t, "w.ndjson", FHIR_IMPORT_NDJSON, text);
    assert_int_equal(st.imported, 0);
    assert_int_equal(st.skipped, 3);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource"), 3);
    /* another source is another ledger */
    st = run_as(t, "other", "w.ndjson", FHIR_IMPORT_NDJSON, text, 0);
    assert_int_equal(st.imported, 3);
    free(text);
}

static void test_ndjson_audit_entries(void **state)
{
    struct t *t = *state;
    char *lines[2] = {weight(t->taro, 70, NULL), weight(t->taro, 72, NULL)};
    char *text = joined("\n", lines, 2);
    run(t, "kenshin.ndjson", FHIR_IMPORT_NDJSON, text);
    free(text);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM audit_entry WHERE subject = '%s' AND action = 'import' AND "
             "actor_kind = 'operator' AND actor_id = 'operator' AND decision = 'permit' AND "
             "decided_by = 'rule:import' AND resource_type = 'Observation' AND category = "
             "'vitals' AND reason = 'import from source test, file kenshin.ndjson'",
             t->taro);
    assert_int_equal(count(t, sql), 2);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM audit_entry WHERE subject = '%s'", t->hanako);
    assert_int_equal(count(t, sql), 0);
}

static void test_ndjson_rejections(void **state)
{
    struct t *t = *state;
    char *lines[8] = {
        weight(t->taro, 70, NULL),
        strdup("not json"),
        strdup("{\"resourceType\":\"Observation\",\"status\":\"bogus\",\"code\":{\"text\":\"x\"},"
               "\"subject\":{\"reference\":\"Patient/x\"}}"),
        weight("0000000000000000000000000a", 70, NULL), /* well-formed, not a citizen */
        weight(t->taro, 73, "\"encounter\":{\"reference\":\"Encounter/nope\"},"),
        weight(t->taro, 74,
               "\"encounter\":{\"reference\":\"urn:uuid:aaaaaaaa-0000-4000-8000-000000000009\"},"),
        strdup("{\"resourceType\":\"Basic\",\"code\":{\"text\":\"x\"}}"),
        strdup("[1,2]"),
    };
    char *text = joined("\n", lines, 8);
    struct fhir_import_stats st = run(t, "bad.ndjson", FHIR_IMPORT_NDJSON, text);
    free(text);
    assert_int_equal(st.records, 8);
    assert_int_equal(st.imported, 1);
    assert_int_equal(st.rejected, 7);
    assert_rejected(0, "line 2", "not JSON");
    assert_rejected(1, "line 3", "Observation.status");
    assert_rejected(2, "line 4", "no citizen of the regional ID");
    assert_rejected(3, "line 5", "Encounter/nope does not exist");
    assert_rejected(4, "line 6", "urn: reference");
    assert_rejected(5, "line 7", "not served");
    assert_rejected(6, "line 8", "no resourceType");
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource"), 1);
}

static void test_reference_to_other_citizens_record(void **state)
{
    struct t *t = *state;
    char *h = weight(t->hanako, 50, "\"id\":\"hanako-w1\",");
    run(t, "h.ndjson", FHIR_IMPORT_NDJSON, h);
    free(h);
    char *x = weight(t->taro, 70, "\"derivedFrom\":[{\"reference\":\"Observation/hanako-w1\"}],");
    struct fhir_import_stats st = run(t, "x.ndjson", FHIR_IMPORT_NDJSON, x);
    free(x);
    assert_int_equal(st.rejected, 1);
    assert_rejected(0, "line 1", "another citizen's records");
}

/* ---- Bundles ---- */

static char *entry(const char *method, const char *url, const char *full_url, char *res)
{
    char *s = NULL;
    if (method == NULL)
        s = xprintf("{\"resource\":%s}", res);
    else
        s = xprintf("{%s%s%s\"resource\":%s,\"request\":{\"method\":\"%s\",\"url\":"
                    "\"%s\"}}",
                    full_url ? "\"fullUrl\":\"" : "", full_url ? full_url : "",
                    full_url ? "\"," : "", res, method, url);
    free(res);
    return s;
}

static char *bundle(const char *type, char **entries, size_t n)
{
    char *list = joined(",", entries, n);
    char *s = NULL;
    s = xprintf("{\"resourceType\":\"Bundle\",\"type\":\"%s\",\"entry\":[%s]}", type, list);
    free(list);
    return s;
}

static void test_batch_and_collection_entries_are_records(void **state)
{
    struct t *t = *state;
    char *es[3] = {
        entry("POST", "Observation", NULL, weight(t->taro, 70, NULL)),
        entry("POST", "Observation", NULL,
              strdup("{\"resourceType\":\"Observation\",\"status\":\"bogus\",\"code\":{\"text\":"
                     "\"x\"}}")),
        entry("DELETE", "Observation", NULL, weight(t->taro, 71, NULL)),
    };
    char *b = bundle("batch", es, 3);
    struct fhir_import_stats st = run(t, "b.json", FHIR_IMPORT_JSON, b);
    free(b);
    assert_int_equal(st.records, 3);
    assert_int_equal(st.imported, 1);
    assert_int_equal(st.rejected, 2);
    assert_rejected(0, "entry 1", "Bundle.entry[1].resource.status");
    assert_rejected(1, "entry 2", "only creates and updates");

    char *cs[2] = {entry(NULL, NULL, NULL, weight(t->hanako, 51, "\"id\":\"keep-me\",")),
                   entry(NULL, NULL, NULL, weight(t->hanako, 52, NULL))};
    b = bundle("collection", cs, 2);
    st = run(t, "c.json", FHIR_IMPORT_JSON, b);
    assert_int_equal(st.imported, 2);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource WHERE id = 'keep-me'"), 1);
    st = run(t, "c.json", FHIR_IMPORT_JSON, b);
    assert_int_equal(st.skipped, 2);
    free(b);
    /* not a Bundle type the import reads: the file is refused */
    st = run_as(t, "test", "s.json", FHIR_IMPORT_JSON,
                "{\"resourceType\":\"Bundle\",\"type\":\"searchset\"}", ERR_INVALID);
    assert_int_equal(st.rejected, 1);
}

static void test_transaction_is_one_record_with_urn_refs(void **state)
{
    struct t *t = *state;
    char *es[2] = {
        entry("POST", "Observation", "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001",
              weight(t->taro, 70, NULL)),
        entry("POST", "Observation", NULL,
              weight(t->taro, 71,
                     "\"derivedFrom\":[{\"reference\":\"urn:uuid:aaaaaaaa-0000-4000-8000-"
                     "000000000001\"}],")),
    };
    char *b = bundle("transaction", es, 2);
    struct fhir_import_stats st = run(t, "t.json", FHIR_IMPORT_JSON, b);
    free(b);
    assert_int_equal(st.records, 1);
    assert_int_equal(st.imported, 1);
    assert_int_equal(st.resources, 2);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource WHERE body LIKE "
                              "'%derivedFrom\":[{\"reference\":\"Observation/%'"),
                     1);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource WHERE body LIKE '%urn:uuid%'"),
                     0);
}

static void test_transaction_failing_in_its_middle_stores_nothing(void **state)
{
    struct t *t = *state;
    /* checked before the write: entry 1 refers to nothing */
    char *es[3] = {
        entry("POST", "Observation", NULL, weight(t->taro, 70, NULL)),
        entry("POST", "Observation", NULL,
              weight(t->taro, 71, "\"encounter\":{\"reference\":\"Encounter/none\"},")),
        entry("POST", "Observation", NULL, weight(t->taro, 72, NULL)),
    };
    char *b = bundle("transaction", es, 3);
    struct fhir_import_stats st = run(t, "t1.json", FHIR_IMPORT_JSON, b);
    free(b);
    assert_int_equal(st.rejected, 1);
    assert_rejected(0, "Bundle", "Bundle.entry[1].resource.encounter");
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource"), 0);

    /* failing in the write itself: entry 1 would move Hanako's Observation to Taro */
    char *h = weight(t->hanako, 50, "\"id\":\"hanakos\",");
    run(t, "h.ndjson", FHIR_IMPORT_NDJSON, h);
    free(h);
    char *ws[3] = {
        entry("POST", "Observation", NULL, weight(t->taro, 70, NULL)),
        entry("PUT", "Observation/hanakos", NULL, weight(t->taro, 71, "\"id\":\"hanakos\",")),
        entry("POST", "Observation", NULL, weight(t->taro, 72, NULL)),
    };
    b = bundle("transaction", ws, 3);
    nrej = 0;
    st = run(t, "t2.json", FHIR_IMPORT_JSON, b);
    free(b);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.imported, 0);
    assert_rejected(0, "Bundle", "hanakos");
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource"), 1);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_version"), 1);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM audit_entry WHERE subject = '%s'", t->taro);
    assert_int_equal(count(t, sql), 0);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_import WHERE resources LIKE '%hanakos%' "
                              "AND source = 'test'"),
                     1); /* only Hanako's own line */
}

static void test_patient_must_be_a_citizen(void **state)
{
    struct t *t = *state;
    char *p = NULL;
    p = xprintf("{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":"
                "\"urn:cityos:regional-id\",\"value\":\"%s\"}],\"active\":true}\n"
                "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":"
                "\"urn:cityos:regional-id\",\"value\":\"0000000000000000000000000b\"}]}\n"
                "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"x\"}]}\n",
                t->taro);
    struct fhir_import_stats st = run(t, "p.ndjson", FHIR_IMPORT_NDJSON, p);
    free(p);
    assert_int_equal(st.imported, 1);
    assert_int_equal(st.rejected, 2);
    assert_rejected(0, "line 2", "no citizen");
    assert_rejected(1, "line 3", "regional ID");
}

static void test_if_none_exist_and_bad_files(void **state)
{
    struct t *t = *state;
    char *w = weight(t->taro, 70, "\"identifier\":[{\"system\":\"urn:lab\",\"value\":\"a1\"}],");
    char *e1 = xprintf("{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
                       "\"Observation\",\"ifNoneExist\":\"identifier=urn:lab|a1\"}}",
                       w);
    char *e2 = xprintf("{\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":"
                       "\"Observation\",\"ifNoneExist\":\"colour=red\"}}",
                       w);
    free(w);
    char *es[1] = {e1};
    char *b = bundle("batch", es, 1);
    struct fhir_import_stats st = run_as(t, "a", "i.json", FHIR_IMPORT_JSON, b, 0);
    assert_int_equal(st.imported, 1);
    /* another source: the ledger does not know it, ifNoneExist finds the stored one */
    st = run_as(t, "b", "i.json", FHIR_IMPORT_JSON, b, 0);
    free(b);
    assert_int_equal(st.imported, 1);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource"), 1);
    char *bs[1] = {e2};
    b = bundle("batch", bs, 1);
    st = run(t, "j.json", FHIR_IMPORT_JSON, b);
    free(b);
    assert_int_equal(st.rejected, 1);
    assert_rejected(0, "entry 0", "ifNoneExist");
    nrej = 0;
    st = run_as(t, "test", "k.json", FHIR_IMPORT_JSON, "{\"resourceType\":", ERR_INVALID);
    assert_rejected(0, "file", "not JSON");
    nrej = 0;
    char *put =
        entry("PUT", "Observation/other-id", NULL, weight(t->taro, 70, "\"id\":\"this-id\","));
    char *ps[1] = {put};
    b = bundle("batch", ps, 1);
    st = run(t, "l.json", FHIR_IMPORT_JSON, b);
    free(b);
    assert_rejected(0, "entry 0", "must equal the id in request.url");
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource"), 1);
}

/* ---- CSV ---- */

#define SPECIFIC_HEADER                                                                            \
    "person_id,date,height_cm,weight_kg,bmi,waist_cm,systolic_mmhg,diastolic_mmhg,hba1c_ngsp_pct," \
    "fasting_glucose_mg_dl,triglycerides_mg_dl,hdl_mg_dl,ldl_mg_dl,ast_u_l,alt_u_l,ggt_u_l,"       \
    "urine_protein\r\n"

static void test_csv_specific_checkup(void **state)
{
    struct t *t = *state;
    char *csv = NULL;
    csv = xprintf("\xEF\xBB\xBF" SPECIFIC_HEADER
                  "%s,2025-06-01,165.2,68.4,25.1,88,142,88,5.9,104,150,52,131,24,28,45,±\r\n"
                  "%s,2025-06-02,,,,,,,6.1,,,,,,,,\r\n",
                  t->taro, t->hanako);
    struct fhir_import_stats st = run(t, "kenshin.csv", FHIR_IMPORT_CSV, csv);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.imported, 2);
    /* row 1: 14 items (blood pressure is one panel of two) + the row's panel; row 2: 1 + 1 */
    assert_int_equal(st.resources, 17);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource WHERE category = 'checkups'"),
                     17);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource WHERE body LIKE "
                              "'%\"code\":\"4548-4\"%' AND body LIKE '%\"unit\":\"%\"%' AND body "
                              "LIKE '%\"code\":\"laboratory\"%'"),
                     2);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource WHERE body LIKE "
                              "'%85354-9%8480-6%142%8462-4%88%'"),
                     1);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource WHERE body LIKE "
                              "'%20454-5%167274008%'"),
                     1);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource WHERE body LIKE "
                              "'%specific-health-checkup%hasMember%'"),
                     2);
    st = run(t, "kenshin.csv", FHIR_IMPORT_CSV, csv);
    assert_int_equal(st.skipped, 2);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource"), 17);
    free(csv);
}

static void test_csv_school_checkup(void **state)
{
    struct t *t = *state;
    char *csv = NULL;
    csv = xprintf("grade,person_id,date,height_cm,weight_kg,vision_left,vision_right,"
                  "hearing_left,hearing_right,dental_caries\n"
                  "小3,%s,2025-04-20,128.4,26.0,A,B,normal,normal,2\n",
                  t->hanako);
    struct fhir_import_stats st = run(t, "school.csv", FHIR_IMPORT_CSV, csv);
    free(csv);
    assert_int_equal(st.imported, 1);
    assert_int_equal(st.resources, 8);
    assert_int_equal(
        count(t, "SELECT COUNT(*) FROM fhir_resource WHERE category = 'school_health'"), 8);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource WHERE body LIKE "
                              "'%dental-caries-untreated%\"valueInteger\":2%'"),
                     1);
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource WHERE body LIKE "
                              "'%school-grade%小3%'"),
                     1);
}

static void test_csv_rejections_name_the_column(void **state)
{
    struct t *t = *state;
    char *csv = NULL;
    const char *p = t->taro;
    csv = xprintf("person_id,date,height_cm,systolic_mmhg,diastolic_mmhg,urine_protein\n"
                  "%s,2025-06-01,abc,,,\n"                         /* 2: not a number */
                  "%s,2025-13-01,170,,,\n"                         /* 3: not a date */
                  "nobody,2025-06-01,170,,,\n"                     /* 4: not a regional ID */
                  "0000000000000000000000000c,2025-06-01,170,,,\n" /* 5: no citizen */
                  "%s,2025-06-01,,140,,\n"                         /* 6: half a blood pressure */
                  "%s,2025-06-01,170,,\n"                          /* 7: a cell missing */
                  "%s,2025-06-01,,,,5+\n"                          /* 8: not a dipstick grade */
                  "%s,2025-06-01,,,,\n"                            /* 9: nothing measured */
                  "%s,2025-06-01,1\"70,,,\n"                       /* 10: a stray quote */
                  "%s,2025-06-01,999,,,\n"                         /* 11: out of range */
                  "%s,2025-06-01,170,120,80,-\n",                  /* 12: fine */
                  p, p, p, p, p, p, p, p, p);
    struct fhir_import_stats st = run(t, "bad.csv", FHIR_IMPORT_CSV, csv);
    free(csv);
    assert_int_equal(st.imported, 1);
    assert_int_equal(st.rejected, 10);
    assert_rejected(0, "line 2", "column height_cm");
    assert_rejected(1, "line 3", "column date");
    assert_rejected(2, "line 4", "column person_id");
    assert_rejected(3, "line 5", "no citizen");
    assert_rejected(4, "line 6", "column diastolic_mmhg");
    assert_rejected(5, "line 7", "5 cells, the header has 6");
    assert_rejected(6, "line 8", "column urine_protein");
    assert_rejected(7, "line 9", "no item was measured");
    assert_rejected(8, "line 10", "quote");
    assert_rejected(9, "line 11", "column height_cm");
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_import"), 1);
}

static void test_csv_bad_header_refuses_the_file(void **state)
{
    struct t *t = *state;
    struct fhir_import_stats st = run_as(t, "test", "h.csv", FHIR_IMPORT_CSV,
                                         "person_id,date,shoe_size\nx,y,z\n", ERR_INVALID);
    assert_int_equal(st.rejected, 1);
    assert_rejected(0, "file", "shoe_size");
    nrej = 0;
    run_as(t, "test", "h.csv", FHIR_IMPORT_CSV, "person_id,height_cm\n", ERR_INVALID);
    assert_rejected(0, "file", "needs person_id, date");
    nrej = 0;
    run_as(t, "test", "h.csv", FHIR_IMPORT_CSV, "person_id,date,grade,waist_cm\n", ERR_INVALID);
    assert_rejected(0, "file", "school check-up");
    nrej = 0;
    run_as(t, "test", "h.csv", FHIR_IMPORT_CSV, "person_id,date,\"height_cm\n", ERR_INVALID);
    assert_rejected(0, "file", "never closed");
    assert_int_equal(count(t, "SELECT COUNT(*) FROM fhir_resource"), 0);
}

struct cells {
    size_t rows;
    char last[4][32];
    size_t n;
};

static int keep_cells(void *ctx, size_t line, size_t end, const char *const *cells, size_t n,
                      const char *bad)
{
    (void)line;
    (void)end;
    struct cells *c = ctx;
    assert_null(bad);
    c->rows++;
    c->n = n;
    for (size_t i = 0; i < n && i < 4; i++)
        snprintf(c->last[i], sizeof c->last[i], "%s", cells[i]);
    return 0;
}

static void test_csv_reader_quotes(void **state)
{
    (void)state;
    struct cells c = {0};
    struct err e = {0};
    const char *text = "a,b\r\n\r\n\"x,1\",\"say \"\"hi\"\"\",\"two\nlines\",\n";
    assert_int_equal(fhir_csv_parse(text, strlen(text), keep_cells, &c, &e), 0);
    assert_int_equal(c.rows, 2);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.last[0], "x,1");
    assert_string_equal(c.last[1], "say \"hi\"");
    assert_string_equal(c.last[2], "two\nlines");
    assert_string_equal(c.last[3], "");
}

static void test_source_name_and_detection(void **state)
{
    struct t *t = *state;
    struct err e = {0};
    struct fhir_import_options o = {.source = "bad source"};
    assert_null(fhir_importer_new(t->f->s, &o, &e));
    assert_int_equal(e.code, ERR_INVALID);
    assert_int_equal(fhir_import_detect("a.csv", "{", 1), FHIR_IMPORT_CSV);
    assert_int_equal(fhir_import_detect("a.ndjson", "", 0), FHIR_IMPORT_NDJSON);
    assert_int_equal(fhir_import_detect("a", "{\"a\":1}\n{\"b\":2}\n", 16), FHIR_IMPORT_NDJSON);
    assert_int_equal(fhir_import_detect("a", " {\n \"a\": 1\n}", 13), FHIR_IMPORT_JSON);
    assert_int_equal(fhir_import_detect("a.txt", "person_id,date", 14), FHIR_IMPORT_CSV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ndjson_imports_and_rerun_skips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ndjson_audit_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ndjson_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_to_other_citizens_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_and_collection_entries_are_records, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transaction_is_one_record_with_urn_refs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transaction_failing_in_its_middle_stores_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_patient_must_be_a_citizen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_none_exist_and_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_specific_checkup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_school_checkup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_rejections_name_the_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_bad_header_refuses_the_file, setup, teardown),
        cmocka_unit_test(test_csv_reader_quotes),
        cmocka_unit_test_setup_teardown(test_source_name_and_detection, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

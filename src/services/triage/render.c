/* render.c - the triage tables and results as JSON (triage.h): the FHIR Questionnaire (one
 * language, or Japanese with English translations), the API's result, the QuestionnaireResponse
 * that is stored with the result in an extension, and reading that extension back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "services/triage/internal.h"

#define EXT_TRANSLATION "http://hl7.org/fhir/StructureDefinition/translation"
#define EXT_MIN_VALUE   "http://hl7.org/fhir/StructureDefinition/minValue"
#define EXT_MAX_VALUE   "http://hl7.org/fhir/StructureDefinition/maxValue"

/* Sets o[key] = v (stolen); records a failure in *bad. */
static void put(json_t *o, const char *key, json_t *v, int *bad)
{
    if (v == NULL || o == NULL || json_object_set_new(o, key, v) != 0)
        *bad = 1;
}

static void append(json_t *arr, json_t *v, int *bad)
{
    if (v == NULL || arr == NULL || json_array_append_new(arr, v) != 0)
        *bad = 1;
}

static const char *pick(const struct triage_text *t, const char *lang)
{
    return lang != NULL && strcmp(lang, "en") == 0 ? t->en : t->ja;
}

/* o[key] in lang; with lang NULL the Japanese text plus "_key" carrying the English one. */
static void put_text(json_t *o, const char *key, const struct triage_text *t, const char *lang,
                     int *bad)
{
    put(o, key, json_string(pick(t, lang)), bad);
    if (lang != NULL || *bad)
        return;
    json_t *ext = json_pack("{s:[{s:s, s:[{s:s, s:s}, {s:s, s:s}]}]}", "extension", "url",
                            EXT_TRANSLATION, "extension", "url", "lang", "valueCode", "en", "url",
                            "content", "valueString", t->en);
    char under[48];
    snprintf(under, sizeof under, "_%s", key);
    put(o, under, ext, bad);
}

static const char *fhir_type(enum triage_type t)
{
    switch (t) {
    case TRIAGE_BOOLEAN:
        return "boolean";
    case TRIAGE_CHOICE:
        return "choice";
    case TRIAGE_INTEGER:
        return "integer";
    case TRIAGE_DECIMAL:
    default:
        return "decimal";
    }
}

static const char *fhir_op(enum triage_op op)
{
    static const char *const names[] = {"=", "!=", ">=", "<=", ">", "<"};
    return names[op];
}

static json_t *coding(const struct triage_option *o, const char *lang, int *bad)
{
    json_t *c = json_object();
    put(c, "system", json_string(TRIAGE_OPTION_SYSTEM), bad);
    put(c, "code", json_string(o->code), bad);
    put_text(c, "display", &o->text, lang, bad);
    return c;
}

/* A value as FHIR's "<prefix><Type>" member of o. */
static void put_value(json_t *o, const char *prefix, const struct triage_value *v, int *bad)
{
    char key[32];
    switch (v->type) {
    case TRIAGE_BOOLEAN:
        snprintf(key, sizeof key, "%sBoolean", prefix);
        put(o, key, json_boolean(v->b), bad);
        return;
    case TRIAGE_CHOICE:
        snprintf(key, sizeof key, "%sCoding", prefix);
        put(o, key, json_pack("{s:s, s:s}", "system", TRIAGE_OPTION_SYSTEM, "code", v->code), bad);
        return;
    case TRIAGE_INTEGER:
        snprintf(key, sizeof key, "%sInteger", prefix);
        put(o, key, json_integer((json_int_t)v->i), bad);
        return;
    case TRIAGE_DECIMAL:
        snprintf(key, sizeof key, "%sDecimal", prefix);
        put(o, key, json_real(v->d), bad);
        return;
    }
}

static json_t *bound(const char *url, enum triage_type type, double v)
{
    if (type == TRIAGE_INTEGER)
        return json_pack("{s:s, s:I}", "url", url, "valueInteger", (json_int_t)v);
    return json_pack("{s:s, s:f}", "url", url, "valueDecimal", v);
}

static json_t *q_item(const struct triage_table *t, const struct triage_item *it, const char *lang,
                      int *bad)
{
    json_t *o = json_object();
    put(o, "linkId", json_string(it->link_id), bad);
    put_text(o, "text", &it->text, lang, bad);
    put(o, "type", json_string(fhir_type(it->type)), bad);
    put(o, "required", json_boolean(it->required), bad);
    if (it->has_min || it->has_max) {
        json_t *ext = json_array();
        if (it->has_min)
            append(ext, bound(EXT_MIN_VALUE, it->type, it->min), bad);
        if (it->has_max)
            append(ext, bound(EXT_MAX_VALUE, it->type, it->max), bad);
        put(o, "extension", ext, bad);
    }
    if (it->enable_when.natoms > 0) {
        json_t *ew = json_array();
        for (size_t i = 0; i < it->enable_when.natoms; i++) {
            const struct triage_atom *at = &it->enable_when.atoms[i];
            json_t *c = json_object();
            put(c, "question", json_string(t->items[at->items[0]].link_id), bad);
            put(c, "operator", json_string(fhir_op(at->op)), bad);
            put_value(c, "answer", &at->value, bad);
            append(ew, c, bad);
        }
        put(o, "enableWhen", ew, bad);
        if (it->enable_when.natoms > 1)
            put(o, "enableBehavior", json_string("all"), bad);
    }
    if (it->type == TRIAGE_CHOICE) {
        json_t *opts = json_array();
        for (size_t i = 0; i < it->noptions; i++) {
            json_t *ao = json_object();
            put(ao, "valueCoding", coding(&it->options[i], lang, bad), bad);
            append(opts, ao, bad);
        }
        put(o, "answerOption", opts, bad);
    }
    return o;
}

json_t *triage_questionnaire_fhir(const struct triage_table *t, const char *lang)
{
    static const struct triage_text title = {"受診の目安（家庭での緊急度判定）",
                                             "When to see a doctor (home triage)"};
    static const struct triage_text description = {
        "総務省消防庁の緊急度判定プロトコル ver.2（家庭自己判断）と救急受診ガイドに基づく問診です。"
        "結果は赤（今すぐ119番）・黄（2時間以内を目安に受診）・緑（緊急ではないが受診）・白（様子を"
        "見る）の4段階で、受診する科とオンライン診療が適するかを示します。診断ではありません。",
        "A questionnaire based on the Fire and Disaster Management Agency's emergency-level "
        "protocol ver.2 (home edition) and its emergency consultation guide. The result is one "
        "of four levels - red (call 119 now), yellow (see a doctor within about 2 hours), green "
        "(see a doctor, not urgent), white (watch and self-care) - with the department to see "
        "and whether an online consultation suits. It is not a diagnosis."};
    int bad = 0;
    json_t *q = json_object();
    put(q, "resourceType", json_string("Questionnaire"), &bad);
    put(q, "id", json_string(TRIAGE_QUESTIONNAIRE_ID), &bad);
    put(q, "language", json_string(lang != NULL && strcmp(lang, "en") == 0 ? "en" : "ja"), &bad);
    put(q, "url", json_string(TRIAGE_QUESTIONNAIRE_URL), &bad);
    put(q, "version", json_string(t->version), &bad);
    put(q, "name", json_string("CityosHomeTriage"), &bad);
    put_text(q, "title", &title, lang, &bad);
    put(q, "status", json_string("active"), &bad);
    put(q, "subjectType", json_pack("[s]", "Patient"), &bad);
    put(q, "publisher", json_string("cityos"), &bad);
    put_text(q, "description", &description, lang, &bad);
    json_t *items = json_array();
    for (size_t i = 0; i < t->nitems; i++)
        append(items, q_item(t, &t->items[i], lang, &bad), &bad);
    put(q, "item", items, &bad);
    if (bad) {
        json_decref(q);
        return NULL;
    }
    return q;
}

/* ---- results ---- */

static const struct triage_text level_texts[TRIAGE_LEVELS] = {
    {"白：引き続き様子を見てください。悪化したり、続いたり、ほかの症状が出たら受診を考えてください"
     "。",
     "White: keep watching. If it gets worse, goes on, or something new appears, consider seeing "
     "a doctor."},
    {"緑：緊急ではありませんが、医療機関を受診しましょう（夜間なら翌日の受診でかまいません）。",
     "Green: not urgent, but see a doctor (at night, the next day is fine)."},
    {"黄：できるだけ早く、2時間以内を目安に医療機関を受診しましょう。",
     "Yellow: see a doctor as soon as you can, within about 2 hours."},
    {"赤：いますぐ119番に電話して救急車を呼びましょう。", "Red: call 119 for an ambulance now."},
};

static json_t *texts(const struct triage_text *t)
{
    return json_pack("{s:s, s:s}", "ja", t->ja, "en", t->en);
}

static json_t *answer_json(const struct triage_value *v)
{
    switch (v->type) {
    case TRIAGE_BOOLEAN:
        return json_boolean(v->b);
    case TRIAGE_CHOICE:
        return json_string(v->code);
    case TRIAGE_INTEGER:
        return json_integer((json_int_t)v->i);
    case TRIAGE_DECIMAL:
    default:
        return json_real(v->d);
    }
}

json_t *triage_result_json(const struct triage_table *t, const struct triage_answer *ans,
                           const struct triage_result *r)
{
    int bad = 0;
    json_t *o = json_object();
    put(o, "level", json_string(triage_level_name(r->level)), &bad);
    put(o, "level_text", texts(&level_texts[r->level]), &bad);
    put(o, "department", r->department != NULL ? json_string(r->department->code) : json_null(),
        &bad);
    put(o, "department_name", r->department != NULL ? texts(&r->department->name) : json_null(),
        &bad);
    put(o, "online_suitable", json_boolean(r->online_suitable), &bad);
    put(o, "within", r->within_minutes >= 0 ? json_integer(r->within_minutes) : json_null(), &bad);
    json_t *reasons = json_array();
    for (size_t i = 0; i < r->nreasons; i++) {
        const struct triage_reason *x = &r->reasons[i];
        json_t *j = json_object();
        put(j, "rule", json_string(x->rule->id), &bad);
        put(j, "linkId", x->item >= 0 ? json_string(t->items[x->item].link_id) : json_null(), &bad);
        put(j, "answer", x->item >= 0 ? answer_json(&ans[x->item].v) : json_null(), &bad);
        put(j, "text", texts(&x->rule->reason), &bad);
        put(j, "source", json_string(x->rule->source), &bad);
        append(reasons, j, &bad);
    }
    put(o, "reasons", reasons, &bad);
    const char *action = r->level == TRIAGE_RED     ? "call-119"
                         : r->level == TRIAGE_WHITE ? "self-care"
                                                    : "book";
    const char *mode = r->level == TRIAGE_RED     ? NULL
                       : r->level == TRIAGE_WHITE ? (r->online_suitable ? "online" : NULL)
                       : r->online_suitable       ? "online"
                                                  : "in-person";
    put(o, "recommendation",
        json_pack("{s:s, s:o, s:o}", "action", action, "department",
                  r->department != NULL ? json_string(r->department->code) : json_null(), "mode",
                  mode != NULL ? json_string(mode) : json_null()),
        &bad);
    put(o, "rules_version", json_string(t->version), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *triage_response_resource(const struct triage_table *t, const struct triage_answer *ans,
                                 const char *id, const char *subject, int64_t now_ms,
                                 const struct triage_result *r, const json_t *result_json)
{
    int bad = 0;
    char authored[40];
    if (clock_format_ms(now_ms, authored, sizeof authored) == NULL)
        return NULL;
    char *detail = jsonx_dumps(result_json, NULL);
    if (detail == NULL)
        return NULL;
    json_t *ext = json_array();
    append(ext, json_pack("{s:s, s:s}", "url", "level", "valueCode", triage_level_name(r->level)),
           &bad);
    if (r->department != NULL)
        append(ext, json_pack("{s:s, s:s}", "url", "department", "valueCode", r->department->code),
               &bad);
    append(ext, json_pack("{s:s, s:b}", "url", "online", "valueBoolean", r->online_suitable), &bad);
    append(ext, json_pack("{s:s, s:s}", "url", "rulesVersion", "valueString", t->version), &bad);
    append(ext, json_pack("{s:s, s:s}", "url", "detail", "valueString", detail), &bad);
    free(detail);
    json_t *o = json_object();
    put(o, "resourceType", json_string("QuestionnaireResponse"), &bad);
    put(o, "id", json_string(id), &bad);
    put(o, "extension", json_pack("[{s:s, s:o}]", "url", TRIAGE_EXT_RESULT, "extension", ext),
        &bad);
    json_t *qref = json_string(TRIAGE_QUESTIONNAIRE_URL);
    if (qref != NULL) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s|%s", TRIAGE_QUESTIONNAIRE_URL, t->version);
        json_string_set(qref, buf);
    }
    put(o, "questionnaire", qref, &bad);
    put(o, "status", json_string("completed"), &bad);
    char ref[96];
    snprintf(ref, sizeof ref, "Patient/%s", subject);
    put(o, "subject", json_pack("{s:s}", "reference", ref), &bad);
    put(o, "authored", json_string(authored), &bad);
    json_t *items = json_array();
    for (size_t i = 0; i < t->nitems; i++) {
        if (!ans[i].present)
            continue;
        json_t *it = json_object();
        put(it, "linkId", json_string(t->items[i].link_id), &bad);
        put(it, "text", json_string(t->items[i].text.ja), &bad);
        json_t *a = json_object();
        put_value(a, "value", &ans[i].v, &bad);
        put(it, "answer", json_pack("[o]", a), &bad);
        append(items, it, &bad);
    }
    put(o, "item", items, &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- reading a stored response back ---- */

static const json_t *result_ext(const json_t *qr, const char *name)
{
    size_t i, k;
    const json_t *x, *y;
    json_array_foreach(json_object_get(qr, "extension"), i, x)
    {
        const char *url = json_string_value(json_object_get(x, "url"));
        if (url == NULL || strcmp(url, TRIAGE_EXT_RESULT) != 0)
            continue;
        json_array_foreach(json_object_get(x, "extension"), k, y)
        {
            const char *u = json_string_value(json_object_get(y, "url"));
            if (u != NULL && strcmp(u, name) == 0)
                return y;
        }
    }
    return NULL;
}

int triage_response_summary(const json_t *qr, struct triage_summary *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    const char *level = json_string_value(json_object_get(result_ext(qr, "level"), "valueCode"));
    const char *dep = json_string_value(json_object_get(result_ext(qr, "department"), "valueCode"));
    const json_t *online = json_object_get(result_ext(qr, "online"), "valueBoolean");
    int l = triage_level_parse(level);
    if (l < 0 || !json_is_boolean(online) || (dep != NULL && strlen(dep) >= sizeof out->department))
        return err_set(e, ERR_INVALID, "not a triage QuestionnaireResponse");
    out->level = (enum triage_level)l;
    snprintf(out->department, sizeof out->department, "%s", dep != NULL ? dep : "");
    out->online_suitable = json_is_true(online);
    return 0;
}

json_t *triage_response_result_json(const json_t *qr)
{
    const char *detail =
        json_string_value(json_object_get(result_ext(qr, "detail"), "valueString"));
    if (detail == NULL)
        return NULL;
    struct err e = {0};
    json_t *v = jsonx_parse(detail, strlen(detail), &e);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

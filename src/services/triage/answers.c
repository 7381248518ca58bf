/* answers.c - triage_answers_parse() (triage.h): a citizen's QuestionnaireResponse read strictly
 * against the loaded questionnaire, every refusal with the FHIRPath location it concerns and
 * never the value that was sent. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/jsonx.h"
#include "fhir/validate.h"
#include "services/triage/internal.h"

#define ITEMS_MAX 200 /* items of one response: far more than any questionnaire here */

static int bad(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct err *e, const char *fmt, ...)
{
    char msg[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(e, ERR_INVALID, "%s", msg);
}

static const char *type_member(enum triage_type t)
{
    switch (t) {
    case TRIAGE_BOOLEAN:
        return "valueBoolean";
    case TRIAGE_CHOICE:
        return "valueCoding";
    case TRIAGE_INTEGER:
        return "valueInteger";
    case TRIAGE_DECIMAL:
    default:
        return "valueDecimal";
    }
}

/* The questionnaire member: the canonical url, with the current version if one is given. */
static int check_questionnaire(const struct triage_table *t, const json_t *qr, struct err *e)
{
    const char *q = json_string_value(json_object_get(qr, "questionnaire"));
    size_t ulen = strlen(TRIAGE_QUESTIONNAIRE_URL);
    if (q == NULL)
        return bad(e, "QuestionnaireResponse.questionnaire: required (%s)",
                   TRIAGE_QUESTIONNAIRE_URL);
    if (strncmp(q, TRIAGE_QUESTIONNAIRE_URL, ulen) != 0 || (q[ulen] != '\0' && q[ulen] != '|'))
        return bad(e,
                   "QuestionnaireResponse.questionnaire: answers to another questionnaire "
                   "(this one is %s)",
                   TRIAGE_QUESTIONNAIRE_URL);
    if (q[ulen] == '|' && strcmp(q + ulen + 1, t->version) != 0)
        return bad(e,
                   "QuestionnaireResponse.questionnaire: answers to another version of the "
                   "questionnaire (the current one is %s): fetch it again",
                   t->version);
    return 0;
}

static int check_header(const struct triage_table *t, const json_t *qr, const char *subject,
                        struct err *e)
{
    static const char *const allowed[] = {"resourceType", "questionnaire", "status",   "subject",
                                          "authored",     "item",          "language", NULL};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)qr, key, v)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok)
            return bad(e,
                       "QuestionnaireResponse.%.64s: not accepted here (the server sets ids, "
                       "meta and the result)",
                       key);
    }
    int rc = check_questionnaire(t, qr, e);
    if (rc != 0)
        return rc;
    const char *status = json_string_value(json_object_get(qr, "status"));
    if (status == NULL || strcmp(status, "completed") != 0)
        return bad(e, "QuestionnaireResponse.status: must be \"completed\"");
    const json_t *subj = json_object_get(qr, "subject");
    if (subj != NULL) {
        const char *ref = json_string_value(json_object_get(subj, "reference"));
        if (subject == NULL || ref == NULL || strncmp(ref, "Patient/", 8) != 0 ||
            strcmp(ref + 8, subject) != 0 || json_object_size(subj) != 1)
            return bad(e, "QuestionnaireResponse.subject: must be the citizen the answers are "
                          "for (Patient/<their id>), or left out");
    }
    if (!json_is_array(json_object_get(qr, "item")))
        return bad(e, "QuestionnaireResponse.item: required (one item per answered question)");
    return 0;
}

/* One answer object of item k (response index) for question it. */
static int read_value(const struct triage_item *it, const json_t *answer, size_t k,
                      struct triage_value *v, struct err *e)
{
    const char *want = type_member(it->type);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)answer, key, val)
    {
        if (strcmp(key, want) != 0)
            return bad(e,
                       "QuestionnaireResponse.item[%zu].answer[0].%.40s: %s is answered with "
                       "%s",
                       k, key, it->link_id, want);
    }
    val = json_object_get(answer, want);
    if (val == NULL)
        return bad(e, "QuestionnaireResponse.item[%zu].answer[0]: %s is answered with %s", k,
                   it->link_id, want);
    memset(v, 0, sizeof *v);
    v->type = it->type;
    double num = 0;
    switch (it->type) {
    case TRIAGE_BOOLEAN:
        if (!json_is_boolean(val))
            return bad(e, "QuestionnaireResponse.item[%zu].answer[0].valueBoolean: not a boolean",
                       k);
        v->b = json_is_true(val);
        return 0;
    case TRIAGE_CHOICE: {
        static const char *const coding_keys[] = {"system", "code", "display", NULL};
        struct err why = {0};
        if (!json_is_object(val) || jsonx_only_keys(val, coding_keys, "", &why) != 0)
            return bad(e,
                       "QuestionnaireResponse.item[%zu].answer[0].valueCoding: a Coding with "
                       "system, code and display only",
                       k);
        const char *sys = json_string_value(json_object_get(val, "system"));
        const char *code = json_string_value(json_object_get(val, "code"));
        if (json_object_get(val, "system") != NULL &&
            (sys == NULL || strcmp(sys, TRIAGE_OPTION_SYSTEM) != 0))
            return bad(e,
                       "QuestionnaireResponse.item[%zu].answer[0].valueCoding.system: must be "
                       "%s",
                       k, TRIAGE_OPTION_SYSTEM);
        for (size_t i = 0; code != NULL && i < it->noptions; i++)
            if (strcmp(code, it->options[i].code) == 0) {
                v->code = it->options[i].code;
                return 0;
            }
        return bad(e,
                   "QuestionnaireResponse.item[%zu].answer[0].valueCoding.code: not an option "
                   "of %s",
                   k, it->link_id);
    }
    case TRIAGE_INTEGER:
        if (!json_is_integer(val))
            return bad(e, "QuestionnaireResponse.item[%zu].answer[0].valueInteger: not an integer",
                       k);
        v->i = (int64_t)json_integer_value(val);
        num = (double)v->i;
        v->d = num;
        break;
    case TRIAGE_DECIMAL:
        if (!json_is_number(val) || !isfinite(json_number_value(val)))
            return bad(e, "QuestionnaireResponse.item[%zu].answer[0].valueDecimal: not a number",
                       k);
        num = v->d = json_number_value(val);
        break;
    }
    if ((it->has_min && num < it->min) || (it->has_max && num > it->max))
        return bad(e,
                   "QuestionnaireResponse.item[%zu].answer[0].%s: out of range for %s (%g to "
                   "%g)",
                   k, want, it->link_id, it->has_min ? it->min : -INFINITY,
                   it->has_max ? it->max : INFINITY);
    return 0;
}

static int read_item(const struct triage_table *t, const json_t *item, size_t k,
                     struct triage_answer *ans, struct err *e)
{
    static const char *const item_keys[] = {"linkId", "text", "answer", NULL};
    const char *key;
    const json_t *v;
    if (!json_is_object(item))
        return bad(e, "QuestionnaireResponse.item[%zu]: not an object", k);
    json_object_foreach((json_t *)item, key, v)
    {
        int ok = 0;
        for (size_t i = 0; item_keys[i] != NULL && !ok; i++)
            ok = strcmp(key, item_keys[i]) == 0;
        if (!ok)
            return bad(e,
                       "QuestionnaireResponse.item[%zu].%.40s: not accepted (this "
                       "questionnaire is flat: linkId, text and answer)",
                       k, key);
    }
    const char *link = json_string_value(json_object_get(item, "linkId"));
    long i = link != NULL ? triage_item_index(t, link) : -1;
    if (i < 0)
        return bad(e,
                   "QuestionnaireResponse.item[%zu].linkId: not a question of this "
                   "questionnaire",
                   k);
    if (ans[i].present)
        return bad(e,
                   "QuestionnaireResponse.item[%zu].linkId: %s is answered twice (first in "
                   "item[%ld])",
                   k, t->items[i].link_id, ans[i].response_index);
    const json_t *answers = json_object_get(item, "answer");
    if (!json_is_array(answers) || json_array_size(answers) != 1 ||
        !json_is_object(json_array_get(answers, 0)))
        return bad(e, "QuestionnaireResponse.item[%zu].answer: exactly one answer to %s", k,
                   t->items[i].link_id);
    int rc = read_value(&t->items[i], json_array_get(answers, 0), k, &ans[i].v, e);
    if (rc != 0)
        return rc;
    ans[i].present = 1;
    ans[i].response_index = (long)k;
    return 0;
}

int triage_answers_parse(const struct triage_table *t, const json_t *qr, const char *subject,
                         struct arena *a, struct triage_answer **out, struct err *e)
{
    *out = NULL;
    if (!json_is_object(qr))
        return bad(e, "QuestionnaireResponse: the body is not a JSON object");
    const char *rt = json_string_value(json_object_get(qr, "resourceType"));
    if (rt == NULL || strcmp(rt, "QuestionnaireResponse") != 0)
        return bad(e, "QuestionnaireResponse.resourceType: must be \"QuestionnaireResponse\"");
    /* the R4 shape first (types, formats, unknown members), then this questionnaire's rules */
    struct fhir_issues *is = arena_alloc(a, sizeof *is);
    struct triage_answer *ans = arena_zalloc(a, t->nitems * sizeof *ans);
    if (is == NULL || ans == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    fhir_issues_init(is, NULL, NULL);
    if (fhir_validate(qr, "QuestionnaireResponse", is) != 0 || is->nerrors > 0) {
        for (size_t i = 0; i < is->n; i++)
            if (is->items[i].severity == FHIR_ERROR || is->items[i].severity == FHIR_FATAL)
                return bad(e, "%s: %s",
                           is->items[i].expression[0] != '\0' ? is->items[i].expression
                                                              : "QuestionnaireResponse",
                           is->items[i].diagnostics);
        return bad(e, "QuestionnaireResponse: not a valid FHIR R4 QuestionnaireResponse");
    }
    int rc = check_header(t, qr, subject, e);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < t->nitems; i++)
        ans[i].response_index = -1;
    const json_t *items = json_object_get(qr, "item");
    if (json_array_size(items) > ITEMS_MAX)
        return bad(e, "QuestionnaireResponse.item: more than %d items", ITEMS_MAX);
    for (size_t k = 0; k < json_array_size(items); k++)
        if ((rc = read_item(t, json_array_get(items, k), k, ans, e)) != 0)
            return rc;
    /* in the order asked: an answer to a question not asked is refused, a required question
     * that is asked must be answered */
    for (size_t i = 0; i < t->nitems; i++) {
        const struct triage_item *it = &t->items[i];
        int asked = triage_cond_holds(&it->enable_when, ans);
        if (ans[i].present && !asked)
            return bad(e,
                       "QuestionnaireResponse.item[%ld]: %s is not asked with these answers "
                       "(see its enableWhen)",
                       ans[i].response_index, it->link_id);
        if (!ans[i].present && asked && it->required)
            return bad(e, "QuestionnaireResponse.item: %s is required and not answered",
                       it->link_id);
    }
    *out = ans;
    return 0;
}

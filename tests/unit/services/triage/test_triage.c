/* test_triage.c - the triage engine on the real tables (data/triage/, as embedded): every rule row
 * decides a case built from its own condition, every level boundary, red flags beating
 * everything, the S1 persona; and the result's department, online and reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/triage/triage.h"

static struct triage_table *T;
static struct arena *A;

static int group_setup(void **state)
{
    (void)state;
    struct err e = {0};
    if (triage_table_load(triage_embedded_files(), &T, &e) != 0) {
        fprintf(stderr, "the embedded tables do not load: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    triage_table_free(T);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    A = arena_new(16 * 1024);
    return A != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(A);
    return 0;
}

/* ---- building answers ---- */

static struct triage_answer *blank(void)
{
    struct triage_answer *a = arena_zalloc(A, T->nitems * sizeof *a);
    assert_non_null(a);
    for (size_t i = 0; i < T->nitems; i++)
        a[i].response_index = -1;
    return a;
}

static long idx(const char *link)
{
    long i = triage_item_index(T, link);
    if (i < 0)
        fail_msg("no question %s", link);
    return i;
}

static void set_b(struct triage_answer *a, const char *link, int b)
{
    long i = idx(link);
    a[i] = (struct triage_answer){1, {.type = TRIAGE_BOOLEAN, .b = b}, -1};
}

static void set_i(struct triage_answer *a, const char *link, int64_t v)
{
    long i = idx(link);
    a[i] = (struct triage_answer){1, {.type = TRIAGE_INTEGER, .i = v, .d = (double)v}, -1};
}

static void set_d(struct triage_answer *a, const char *link, double v)
{
    long i = idx(link);
    a[i] = (struct triage_answer){1, {.type = TRIAGE_DECIMAL, .d = v}, -1};
}

static void set_c(struct triage_answer *a, const char *link, const char *code)
{
    long i = idx(link);
    const struct triage_item *it = &T->items[i];
    for (size_t k = 0; k < it->noptions; k++)
        if (strcmp(it->options[k].code, code) == 0) {
            a[i] =
                (struct triage_answer){1, {.type = TRIAGE_CHOICE, .code = it->options[k].code}, -1};
            return;
        }
    fail_msg("%s has no option %s", link, code);
}

/* Every general question answered "no", age 40, no risk factor. */
static struct triage_answer *base(int age)
{
    struct triage_answer *a = blank();
    static const char *const flags[] = {
        "rf.unresponsive", "rf.breathing",      "rf.stroke",     "rf.pale",     "rf.seizure",
        "rf.bleeding",     "risk.hypertension", "risk.diabetes", "risk.kidney", "risk.smoking"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        set_b(a, flags[i], 0);
    set_i(a, "age", age);
    return a;
}

/* A new symptom with all of its yes/no questions answered "no" (fever: 36.5 degrees). */
static struct triage_answer *symptom(int age, const char *which)
{
    struct triage_answer *a = base(age);
    set_c(a, "purpose", "symptom");
    set_c(a, "symptom", which);
    for (size_t i = 0; i < T->nitems; i++) {
        const struct triage_item *it = &T->items[i];
        if (a[i].present || !it->required || !triage_cond_holds(&it->enable_when, a))
            continue;
        if (it->type == TRIAGE_BOOLEAN)
            set_b(a, it->link_id, 0);
        else if (it->type == TRIAGE_DECIMAL)
            set_d(a, it->link_id, 36.5);
    }
    return a;
}

static struct triage_result eval(const struct triage_answer *a)
{
    struct triage_result r;
    struct err e = {0};
    int rc = triage_evaluate(T, a, A, &r, &e);
    if (rc != 0)
        fail_msg("evaluate: %s", e.msg);
    return r;
}

static int has_reason(const struct triage_result *r, const char *rule, const char *link)
{
    for (size_t i = 0; i < r->nreasons; i++)
        if (strcmp(r->reasons[i].rule->id, rule) == 0 &&
            (link == NULL ||
             (r->reasons[i].item >= 0 && strcmp(T->items[r->reasons[i].item].link_id, link) == 0)))
            return 1;
    return 0;
}

static void assert_level(const struct triage_result *r, enum triage_level l)
{
    if (r->level != l)
        fail_msg("level %s, want %s (first reason %s)", triage_level_name(r->level),
                 triage_level_name(l), r->nreasons > 0 ? r->reasons[0].rule->id : "-");
}

/* ---- the S1 persona and red flags ---- */

static void s1_routine_follow_up_is_green_family_medicine_online(void **state)
{
    (void)state;
    struct triage_answer *a = base(70);
    set_b(a, "risk.hypertension", 1);
    set_c(a, "purpose", "routine");
    struct triage_result r = eval(a);
    assert_level(&r, TRIAGE_GREEN);
    assert_non_null(r.department);
    assert_string_equal(r.department->code, "family-medicine");
    assert_true(r.online_suitable);
    assert_int_equal(r.within_minutes, -1);
    assert_int_equal(r.nreasons, 1);
    assert_string_equal(r.reasons[0].rule->id, "ROUTINE");
    assert_string_equal(T->items[r.reasons[0].item].link_id, "purpose");
}

static const char *const red_flags[] = {"rf.unresponsive", "rf.breathing", "rf.stroke",
                                        "rf.pale",         "rf.seizure",   "rf.bleeding"};
static const char *const red_flag_rules[] = {"RF-UNRESPONSIVE", "RF-BREATHING", "RF-STROKE",
                                             "RF-PALE",         "RF-SEIZURE",   "RF-BLEEDING"};

static void each_red_flag_beats_a_routine_visit(void **state)
{
    (void)state;
    for (size_t i = 0; i < 6; i++) {
        struct triage_answer *a = base(70);
        set_c(a, "purpose", "routine");
        set_b(a, red_flags[i], 1);
        struct triage_result r = eval(a);
        assert_level(&r, TRIAGE_RED);
        assert_string_equal(r.department->code, "emergency");
        assert_false(r.online_suitable);
        assert_int_equal(r.within_minutes, 0);
        assert_int_equal(r.nreasons, 1);
        assert_true(has_reason(&r, red_flag_rules[i], red_flags[i]));
        assert_false(has_reason(&r, "ROUTINE", NULL));
    }
}

static void red_flags_beat_every_symptom_and_level(void **state)
{
    (void)state;
    static const char *const symptoms[] = {"chest", "headache",  "breathing", "abdomen",
                                           "fever", "dizziness", "injury",    "other"};
    for (size_t s = 0; s < sizeof symptoms / sizeof symptoms[0]; s++)
        for (size_t f = 0; f < 6; f++) {
            struct triage_answer *a = symptom(30, symptoms[s]);
            struct triage_result before = eval(a);
            assert_true(before.level < TRIAGE_RED);
            set_b(a, red_flags[f], 1);
            struct triage_result r = eval(a);
            assert_level(&r, TRIAGE_RED);
            assert_true(has_reason(&r, red_flag_rules[f], red_flags[f]));
        }
    /* a yellow symptom and two red flags: both flags are named, the yellow rule is not */
    struct triage_answer *a = symptom(30, "abdomen");
    set_b(a, "abd.vomit", 1);
    set_b(a, "rf.pale", 1);
    set_b(a, "rf.stroke", 1);
    struct triage_result r = eval(a);
    assert_level(&r, TRIAGE_RED);
    assert_int_equal(r.nreasons, 2);
    assert_true(has_reason(&r, "RF-STROKE", "rf.stroke"));
    assert_true(has_reason(&r, "RF-PALE", "rf.pale"));
    assert_false(has_reason(&r, "ABD-VOMIT", NULL));
}

/* ---- every rule row decides a case made from its own condition ---- */

/* Makes the atom hold through its first linkId. */
static void satisfy(struct triage_answer *a, const struct triage_atom *at);

/* Answers the questions the item's enableWhen needs (recursively), then leaves the item. */
static void enable(struct triage_answer *a, size_t item)
{
    const struct triage_cond *c = &T->items[item].enable_when;
    for (size_t i = 0; i < c->natoms; i++)
        satisfy(a, &c->atoms[i]);
}

static void satisfy(struct triage_answer *a, const struct triage_atom *at)
{
    size_t i = at->items[0];
    enable(a, i);
    struct triage_value v = at->value;
    switch (at->op) {
    case TRIAGE_EQ:
    case TRIAGE_GE:
    case TRIAGE_LE:
        break;
    case TRIAGE_NE:
        v.b = !v.b; /* boolean; no choice atom uses != in the table */
        break;
    case TRIAGE_GT:
        v.i += 1;
        v.d += 0.1;
        break;
    case TRIAGE_LT:
        v.i -= 1;
        v.d -= 0.1;
        break;
    }
    a[i] = (struct triage_answer){1, v, -1};
}

static void every_rule_row_decides_its_own_case(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t k = 0; k < T->nrules; k++) {
        const struct triage_rule *rule = &T->rules[k];
        if (rule->when.natoms == 0)
            continue; /* the default: its own test */
        struct triage_answer *a = base(40);
        for (size_t i = 0; i < rule->when.natoms; i++)
            satisfy(a, &rule->when.atoms[i]);
        /* every other asked, required question: "no" (or a normal temperature) */
        for (size_t i = 0; i < T->nitems; i++) {
            const struct triage_item *it = &T->items[i];
            if (a[i].present || !it->required || !triage_cond_holds(&it->enable_when, a))
                continue;
            if (it->type == TRIAGE_BOOLEAN)
                set_b(a, it->link_id, 0);
            else if (it->type == TRIAGE_DECIMAL)
                set_d(a, it->link_id, 36.5);
            else if (it->type == TRIAGE_CHOICE)
                set_c(a, it->link_id, it->options[0].code);
        }
        struct triage_result r = eval(a);
        if (r.level != rule->level || !has_reason(&r, rule->id, NULL))
            fail_msg("rule %s (line %zu): got %s with %s first", rule->id, rule->line,
                     triage_level_name(r.level), r.nreasons ? r.reasons[0].rule->id : "-");
        if (rule->level == TRIAGE_RED)
            assert_string_equal(r.department->code, "emergency");
        checked++;
    }
    assert_int_equal(checked, T->nrules - 1);
}

static void the_default_row_speaks_when_nothing_else_holds(void **state)
{
    (void)state;
    /* no purpose at all: no rule but the default holds */
    struct triage_answer *a = base(40);
    struct triage_result r = eval(a);
    assert_level(&r, TRIAGE_WHITE);
    assert_null(r.department);
    assert_int_equal(r.nreasons, 1);
    assert_string_equal(r.reasons[0].rule->id, "DEFAULT");
    assert_int_equal(r.reasons[0].item, -1);
    /* and keeps quiet when another white row holds */
    a = symptom(40, "other");
    r = eval(a);
    assert_level(&r, TRIAGE_WHITE);
    assert_int_equal(r.nreasons, 1);
    assert_string_equal(r.reasons[0].rule->id, "OTHER-MILD");
    assert_true(r.online_suitable);
}

/* ---- level boundaries ---- */

static enum triage_level fever_level(double temp, int days, int age)
{
    struct triage_answer *a = symptom(age, "fever");
    set_d(a, "fever.temp", temp);
    if (days >= 0)
        set_i(a, "fever.days", days);
    return eval(a).level;
}

static void fever_boundaries(void **state)
{
    (void)state;
    assert_int_equal(fever_level(37.9, -1, 30), TRIAGE_WHITE);
    assert_int_equal(fever_level(38.0, -1, 30), TRIAGE_GREEN);
    assert_int_equal(fever_level(39.9, -1, 30), TRIAGE_GREEN);
    assert_int_equal(fever_level(40.0, -1, 30), TRIAGE_YELLOW);
    assert_int_equal(fever_level(37.0, 3, 30), TRIAGE_WHITE);
    assert_int_equal(fever_level(37.0, 4, 30), TRIAGE_GREEN);
    /* a high fever alone may be seen online; lasting four days asks for an examination */
    struct triage_answer *a = symptom(30, "fever");
    set_d(a, "fever.temp", 38.5);
    struct triage_result r = eval(a);
    assert_true(r.online_suitable);
    assert_string_equal(r.department->code, "internal-medicine");
    set_i(a, "fever.days", 5);
    r = eval(a);
    assert_level(&r, TRIAGE_GREEN);
    assert_false(r.online_suitable);
    assert_true(has_reason(&r, "FEVER-LONG", "fever.days"));
    assert_true(has_reason(&r, "FEVER-HIGH", "fever.temp"));
}

static void age_boundaries(void **state)
{
    (void)state;
    struct triage_answer *a = symptom(64, "chest");
    struct triage_result r = eval(a);
    assert_level(&r, TRIAGE_GREEN);
    assert_string_equal(r.department->code, "cardiology");
    a = symptom(65, "chest");
    r = eval(a);
    assert_level(&r, TRIAGE_YELLOW);
    assert_true(has_reason(&r, "CHEST-AGE", "age"));
    assert_int_equal(r.within_minutes, 120);
    assert_false(r.online_suitable);
    /* breathlessness with fever: green below 65, yellow from 65 */
    a = symptom(64, "breathing");
    set_b(a, "breath.fever", 1);
    assert_int_equal(eval(a).level, TRIAGE_GREEN);
    a = symptom(65, "breathing");
    set_b(a, "breath.fever", 1);
    r = eval(a);
    assert_level(&r, TRIAGE_YELLOW);
    assert_true(has_reason(&r, "BREATH-FEVER-OLD", "breath.fever"));
    assert_true(has_reason(&r, "BREATH-FEVER-OLD", "age"));
}

static void any_of_risk_factors_names_the_one_given(void **state)
{
    (void)state;
    static const char *const risks[] = {"risk.hypertension", "risk.diabetes", "risk.kidney",
                                        "risk.smoking", "risk.pregnant"};
    for (size_t i = 0; i < 5; i++) {
        struct triage_answer *a = symptom(40, "chest");
        set_b(a, risks[i], 1);
        struct triage_result r = eval(a);
        assert_level(&r, TRIAGE_YELLOW);
        assert_true(has_reason(&r, "CHEST-RISK", risks[i]));
        assert_true(has_reason(&r, "CHEST-RISK", "symptom"));
        assert_int_equal(r.nreasons, 2);
    }
    /* "no" to a risk factor is no risk */
    struct triage_answer *a = symptom(40, "chest");
    set_b(a, "risk.pregnant", 0);
    assert_int_equal(eval(a).level, TRIAGE_GREEN);
}

static void the_first_rule_of_the_level_gives_the_department(void **state)
{
    (void)state;
    struct triage_answer *a = symptom(30, "chest");
    set_b(a, "chest.local", 1);
    struct triage_result r = eval(a);
    assert_level(&r, TRIAGE_GREEN);
    assert_string_equal(r.department->code, "orthopedics"); /* CHEST-LOCAL before CHEST-OTHER */
    assert_true(has_reason(&r, "CHEST-LOCAL", "chest.local"));
    assert_true(has_reason(&r, "CHEST-OTHER", "symptom"));
    /* two yellow rules: both named, the first gives the department */
    a = symptom(30, "abdomen");
    set_b(a, "abd.vomit", 1);
    set_b(a, "abd.fever", 1);
    r = eval(a);
    assert_level(&r, TRIAGE_YELLOW);
    assert_string_equal(r.department->code, "gastroenterology");
    assert_true(has_reason(&r, "ABD-VOMIT", "abd.vomit"));
    assert_true(has_reason(&r, "ABD-FEVER", "abd.fever"));
}

static void white_results_recommend_self_care(void **state)
{
    (void)state;
    struct triage_answer *a = symptom(30, "headache");
    set_b(a, "head.usual", 1);
    struct triage_result r = eval(a);
    assert_level(&r, TRIAGE_WHITE);
    assert_null(r.department);
    json_t *j = triage_result_json(T, a, &r);
    assert_non_null(j);
    json_t *rec = json_object_get(j, "recommendation");
    assert_string_equal(json_string_value(json_object_get(rec, "action")), "self-care");
    assert_true(json_is_null(json_object_get(j, "department")));
    assert_true(json_is_null(json_object_get(j, "within")));
    json_decref(j);
    /* a minor injury: self-care, and not online */
    a = symptom(30, "injury");
    r = eval(a);
    assert_level(&r, TRIAGE_WHITE);
    assert_false(r.online_suitable);
}

static void the_result_json_names_rules_answers_and_texts(void **state)
{
    (void)state;
    struct triage_answer *a = symptom(30, "headache");
    set_b(a, "head.sudden", 1);
    struct triage_result r = eval(a);
    json_t *j = triage_result_json(T, a, &r);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "red");
    assert_int_equal(json_integer_value(json_object_get(j, "within")), 0);
    json_t *rec = json_object_get(j, "recommendation");
    assert_string_equal(json_string_value(json_object_get(rec, "action")), "call-119");
    assert_true(json_is_null(json_object_get(rec, "mode")));
    json_t *reasons = json_object_get(j, "reasons");
    assert_true(json_array_size(reasons) >= 1);
    int found = 0;
    for (size_t i = 0; i < json_array_size(reasons); i++) {
        json_t *x = json_array_get(reasons, i);
        if (strcmp(json_string_value(json_object_get(x, "linkId")), "head.sudden") != 0)
            continue;
        found = 1;
        assert_string_equal(json_string_value(json_object_get(x, "rule")), "HEAD-SUDDEN");
        assert_true(json_is_true(json_object_get(x, "answer")));
        assert_non_null(json_string_value(json_object_get(json_object_get(x, "text"), "ja")));
        assert_non_null(json_string_value(json_object_get(json_object_get(x, "text"), "en")));
    }
    assert_true(found);
    assert_string_equal(json_string_value(json_object_get(j, "rules_version")), T->version);
    json_decref(j);
}

static void every_symptom_path_reaches_a_rule_other_than_the_default(void **state)
{
    (void)state;
    const struct triage_item *s = &T->items[idx("symptom")];
    for (size_t k = 0; k < s->noptions; k++) {
        struct triage_answer *a = symptom(40, s->options[k].code);
        struct triage_result r = eval(a);
        assert_false(has_reason(&r, "DEFAULT", NULL));
    }
    struct triage_answer *a = base(40);
    set_c(a, "purpose", "routine");
    assert_false(has_reason((struct triage_result[]){eval(a)}, "DEFAULT", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(s1_routine_follow_up_is_green_family_medicine_online, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(each_red_flag_beats_a_routine_visit, setup, teardown),
        cmocka_unit_test_setup_teardown(red_flags_beat_every_symptom_and_level, setup, teardown),
        cmocka_unit_test_setup_teardown(every_rule_row_decides_its_own_case, setup, teardown),
        cmocka_unit_test_setup_teardown(the_default_row_speaks_when_nothing_else_holds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(fever_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(age_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(any_of_risk_factors_names_the_one_given, setup, teardown),
        cmocka_unit_test_setup_teardown(the_first_rule_of_the_level_gives_the_department, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(white_results_recommend_self_care, setup, teardown),
        cmocka_unit_test_setup_teardown(the_result_json_names_rules_answers_and_texts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(every_symptom_path_reaches_a_rule_other_than_the_default,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

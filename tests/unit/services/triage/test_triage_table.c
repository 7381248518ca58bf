/* test_triage_table.c - the triage table loader: the real tables load; every kind of malformed
 * table is refused with the file's name and the line of the fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "services/triage/triage.h"

/* A copy of the embedded files whose texts the test may replace. */
struct files {
    struct triage_files f;
    char *owned[4];
};

static struct files *copy(void)
{
    struct files *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->f = *triage_embedded_files();
    return x;
}

static void release(struct files *x)
{
    for (int i = 0; i < 4; i++)
        free(x->owned[i]);
    free(x);
}

static struct triage_file *file_of(struct files *x, int which)
{
    struct triage_file *fs[] = {&x->f.questionnaire, &x->f.options, &x->f.departments, &x->f.rules};
    return fs[which];
}

enum { Q, O, D, R };

static void set_text(struct files *x, int which, char *text)
{
    free(x->owned[which]);
    x->owned[which] = text;
    file_of(x, which)->text = text;
    file_of(x, which)->len = strlen(text);
}

/* The 1-based number of the line of text starting with prefix (fails when there is none). */
static size_t line_of(const char *text, const char *prefix)
{
    size_t line = 1;
    size_t n = strlen(prefix);
    for (const char *p = text; *p != '\0'; line++) {
        if (strncmp(p, prefix, n) == 0)
            return line;
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    fail_msg("no line starts with %s", prefix);
    return 0;
}

/* Inserts row (with its newline) before the line starting with before (NULL: at the end);
 * returns the line number of the new row. */
static size_t insert(struct files *x, int which, const char *before, const char *row)
{
    const struct triage_file *f = file_of(x, which);
    size_t pos = f->len, line;
    if (before != NULL) {
        line = line_of(f->text, before);
        const char *p = f->text;
        for (size_t l = 1; l < line; l++)
            p = strchr(p, '\n') + 1;
        pos = (size_t)(p - f->text);
    } else {
        line = 1;
        for (size_t i = 0; i < f->len; i++)
            line += f->text[i] == '\n';
    }
    size_t rlen = strlen(row);
    char *t = malloc(f->len + rlen + 2);
    assert_non_null(t);
    memcpy(t, f->text, pos);
    memcpy(t + pos, row, rlen);
    t[pos + rlen] = '\n';
    memcpy(t + pos + rlen + 1, f->text + pos, f->len - pos);
    t[f->len + rlen + 1] = '\0';
    set_text(x, which, t);
    return line;
}

/* Replaces the first occurrence of from by to. */
static void replace(struct files *x, int which, const char *from, const char *to)
{
    const struct triage_file *f = file_of(x, which);
    const char *at = strstr(f->text, from);
    if (at == NULL)
        fail_msg("no \"%s\" in %s", from, f->name);
    size_t a = (size_t)(at - f->text), fl = strlen(from), tl = strlen(to);
    char *t = malloc(f->len - fl + tl + 1);
    assert_non_null(t);
    memcpy(t, f->text, a);
    memcpy(t + a, to, tl);
    memcpy(t + a + tl, at + fl, f->len - a - fl);
    t[f->len - fl + tl] = '\0';
    set_text(x, which, t);
}

/* Loading fails with "<name>:<line>: ..." containing what. */
static void refused_at(struct files *x, int which, size_t line, const char *what)
{
    struct triage_table *t = NULL;
    struct err e = {0};
    int rc = triage_table_load(&x->f, &t, &e);
    if (rc == 0) {
        triage_table_free(t);
        fail_msg("loaded; wanted a refusal at line %zu (%s)", line, what);
    }
    assert_null(t);
    char want[128];
    snprintf(want, sizeof want, "%s:%zu: ", file_of(x, which)->name, line);
    if (strncmp(e.msg, want, strlen(want)) != 0 || strstr(e.msg, what) == NULL)
        fail_msg("got \"%s\", want \"%s...%s\"", e.msg, want, what);
    release(x);
}

/* Loading fails with a message containing what (for whole-file faults). */
static void refused(struct files *x, const char *what)
{
    struct triage_table *t = NULL;
    struct err e = {0};
    if (triage_table_load(&x->f, &t, &e) == 0) {
        triage_table_free(t);
        fail_msg("loaded; wanted a refusal (%s)", what);
    }
    if (strstr(e.msg, what) == NULL)
        fail_msg("got \"%s\", want ...%s", e.msg, what);
    release(x);
}

#define DEFAULT_ROW "DEFAULT\t"
#define GOOD_TAIL   "\tr\tr\tFDMA-GUIDE"

static void the_real_tables_load(void **state)
{
    (void)state;
    struct triage_table *t = NULL;
    struct err e = {0};
    assert_int_equal(triage_table_load(triage_embedded_files(), &t, &e), 0);
    assert_true(t->nitems >= 40);
    assert_true(t->nrules >= 50);
    assert_int_equal(strlen(t->version), TRIAGE_VERSION_LEN);
    assert_string_equal(triage_level_name(t->rules[0].level), "red");
    assert_int_equal(t->rules[t->nrules - 1].when.natoms, 0);
    /* the same bytes from a folder give the same version */
    char dir[] = "/tmp/cityos-triage-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const struct triage_files *f = triage_embedded_files();
    const struct triage_file *fs[] = {&f->questionnaire, &f->options, &f->departments, &f->rules};
    static const char *const names[] = {"questionnaire.tsv", "options.tsv", "departments.tsv",
                                        "rules.tsv"};
    char path[128];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(fs[i]->text, 1, fs[i]->len, fp), fs[i]->len);
        fclose(fp);
    }
    struct triage_table *u = NULL;
    assert_int_equal(triage_table_load_dir(dir, &u, &e), 0);
    assert_string_equal(u->version, t->version);
    triage_table_free(u);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    triage_table_free(t);
    /* a missing folder */
    assert_int_equal(triage_table_load_dir("/nonexistent-triage", &u, &e), ERR_IO);
}

static void rule_rows_are_checked_with_their_line(void **state)
{
    (void)state;
    struct files *x;
    size_t l;
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "BAD-LEVEL\tsymptom=chest\torange\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "level \"orange\"");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "BAD-COLS\tsymptom=chest\tgreen\tcardiology\tno\tr\tr");
    refused_at(x, R, l, "7 columns, want 8");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "BAD-LINK\tchest.nothing=true\tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "\"chest.nothing\" is not a question");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "ROUTINE\tpurpose=routine\tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "rule ROUTINE again");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "RED-CARDIO\trf.pale=true\tred\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "a red row sends to the department emergency");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "RED-ONLINE\trf.pale=true\tred\temergency\tyes" GOOD_TAIL);
    refused_at(x, R, l, "never online");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "GREEN-ER\trf.pale=true\tgreen\temergency\tno" GOOD_TAIL);
    refused_at(x, R, l, "only red rows send to emergency");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "YELLOW-ON\trf.pale=true\tyellow\tcardiology\tyes" GOOD_TAIL);
    refused_at(x, R, l, "is not online");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "WHITE-DEP\trf.pale=true\twhite\tcardiology\tyes" GOOD_TAIL);
    refused_at(x, R, l, "names no department");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "GREEN-NODEP\trf.pale=true\tgreen\t-\tyes" GOOD_TAIL);
    refused_at(x, R, l, "names the department");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "NO-DEP\trf.pale=true\tgreen\tdentistry\tno" GOOD_TAIL);
    refused_at(x, R, l, "department \"dentistry\"");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "BAD-CODE\tsymptom=toothache\tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "\"toothache\" is not an option of symptom");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "BAD-BOOL\trf.pale=yes\tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "compare it with true or false");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "BAD-OP\trf.pale>true\tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "only = and != compare a boolean");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "BAD-INT\tage>=6.5\tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "is not an integer");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "BAD-AND\tage>=6&rf.pale=true\tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "atoms are joined by");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "BAD-MIX\tage|rf.pale=true\tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "one type");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "lower-case\trf.pale=true\tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "id \"lower-case\"");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "EMPTY\trf.pale=true\tgreen\tcardiology\tno\t\tr\tFDMA");
    refused_at(x, R, l, "column 6 is empty");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "SPACE\trf.pale=true \tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "trailing space");
    x = copy();
    l = insert(x, R, NULL, "LATE\trf.pale=true\tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "after the default row");
    x = copy();
    l = insert(x, R, DEFAULT_ROW, "EARLY-DEFAULT\t*\tgreen\tcardiology\tno" GOOD_TAIL);
    refused_at(x, R, l, "the default row (when '*') is white");
}

static void file_level_faults_are_refused(void **state)
{
    (void)state;
    struct files *x = copy();
    replace(x, R, "id\twhen\tlevel", "id\tcondition\tlevel");
    refused_at(x, R, line_of(triage_embedded_files()->rules.text, "id\twhen"),
               "header column 2 is \"condition\"");
    x = copy();
    replace(x, R, "\nDEFAULT\t", "\n# DEFAULT\t");
    refused(x, "the last row must be the default");
    x = copy();
    size_t l = line_of(triage_embedded_files()->rules.text, "ROUTINE\t");
    replace(x, R, "ROUTINE\tpurpose=routine", "ROUTINE\tpurpose=routine\r");
    refused_at(x, R, l, "carriage return");
    x = copy();
    replace(x, R, "ROUTINE\tpurpose=routine", "ROUTINE\tpurpose=\xff");
    refused_at(x, R, l, "not valid UTF-8");
    x = copy();
    replace(x, R, "ROUTINE\tpurpose=routine", "ROUTINE\tpurpose=\x01");
    refused_at(x, R, l, "control character");
    x = copy();
    char *longrow = malloc(TRIAGE_LINE_MAX + 64);
    assert_non_null(longrow);
    memset(longrow, 'x', TRIAGE_LINE_MAX + 10);
    memcpy(longrow, "LONG\trf.pale=true\tgreen\tcardiology\tno\t", 37);
    longrow[TRIAGE_LINE_MAX + 10] = '\0';
    l = insert(x, R, DEFAULT_ROW, longrow);
    free(longrow);
    refused_at(x, R, l, "longer than");
    x = copy();
    set_text(x, R, strdup("# nothing but a comment\n"));
    refused(x, "no header row");
    x = copy();
    replace(x, D, "emergency\t", "er\t");
    refused(x, "the department emergency is missing");
    x = copy();
    insert(x, D, NULL, "dentistry\t歯科\tDentistry");
    refused(x, "department dentistry is named by no rule");
}

static void questionnaire_rows_are_checked_with_their_line(void **state)
{
    (void)state;
    struct files *x = copy();
    size_t l = insert(x, Q, NULL, "age\tinteger\tyes\t-\t0\t9\t年齢\tAge");
    refused_at(x, Q, l, "linkId age again");
    x = copy();
    l = insert(x, Q, NULL, "x.y\ttext\tyes\t-\t-\t-\tja\ten");
    refused_at(x, Q, l, "type \"text\"");
    x = copy();
    l = insert(x, Q, NULL, "x.y\tboolean\tmaybe\t-\t-\t-\tja\ten");
    refused_at(x, Q, l, "required \"maybe\"");
    x = copy();
    l = insert(x, Q, NULL, "x.y\tinteger\tyes\t-\t1.5\t9\tja\ten");
    refused_at(x, Q, l, "min and max");
    x = copy();
    l = insert(x, Q, NULL, "x.y\tinteger\tyes\t-\t9\t1\tja\ten");
    refused_at(x, Q, l, "min is above max");
    x = copy();
    l = insert(x, Q, NULL, "x.y\tboolean\tyes\t-\t0\t1\tja\ten");
    refused_at(x, Q, l, "min and max");
    x = copy();
    l = insert(x, Q, NULL, "Bad\tboolean\tyes\t-\t-\t-\tja\ten");
    refused_at(x, Q, l, "linkId \"Bad\"");
    /* an enableWhen may name earlier questions only */
    x = copy();
    l = line_of(triage_embedded_files()->questionnaire.text, "rf.pale\t");
    replace(x, Q, "rf.pale\tboolean\tyes\t-", "rf.pale\tboolean\tyes\tage>=3");
    refused_at(x, Q, l, "enable_when");
    x = copy();
    replace(x, Q, "rf.pale\tboolean\tyes\t-", "rf.pale\tboolean\tyes\t*");
    refused_at(x, Q, l, "always: write '-'");
    x = copy();
    replace(x, Q, "rf.pale\tboolean\tyes\t-",
            "rf.pale\tboolean\tyes\trf.unresponsive|rf.stroke=true");
    refused_at(x, Q, l, "one linkId per atom");
    /* a question nothing uses */
    x = copy();
    l = insert(x, Q, NULL, "x.unused\tboolean\tno\t-\t-\t-\tja\ten");
    refused_at(x, Q, l, "x.unused is asked but no rule or question uses it");
}

static void options_are_checked_with_their_line(void **state)
{
    (void)state;
    struct files *x = copy();
    size_t l = insert(x, O, NULL, "age\tsome\tja\ten");
    refused_at(x, O, l, "age is not a choice question");
    x = copy();
    l = insert(x, O, NULL, "nothing\tsome\tja\ten");
    refused_at(x, O, l, "nothing is no question");
    x = copy();
    l = insert(x, O, NULL, "purpose\troutine\tja\ten");
    refused_at(x, O, l, "the option routine twice");
    x = copy();
    l = insert(x, O, NULL, "purpose\tBad_Code\tja\ten");
    refused_at(x, O, l, "code \"Bad_Code\"");
    /* a choice question left with one option */
    x = copy();
    replace(x, O, "purpose\tsymptom\t", "# purpose\tsymptom\t");
    refused(x, "needs at least two options");
}

static void big_files_are_refused(void **state)
{
    (void)state;
    struct files *x = copy();
    char *big = malloc(TRIAGE_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, '#', TRIAGE_FILE_MAX + 1);
    big[TRIAGE_FILE_MAX + 1] = '\0';
    set_text(x, R, big);
    struct triage_table *t = NULL;
    struct err e = {0};
    assert_int_equal(triage_table_load(&x->f, &t, &e), ERR_TOOBIG);
    release(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_real_tables_load),
        cmocka_unit_test(rule_rows_are_checked_with_their_line),
        cmocka_unit_test(file_level_faults_are_refused),
        cmocka_unit_test(questionnaire_rows_are_checked_with_their_line),
        cmocka_unit_test(options_are_checked_with_their_line),
        cmocka_unit_test(big_files_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

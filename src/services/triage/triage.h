/* triage.h - home triage (issue 7 part 1): a questionnaire and a rule table that are data
 * (the .tsv files of data/triage/, embedded in the binary at build time), loaded and checked
 * strictly at start-up; the engine that turns a citizen's answers into one of the four emergency
 * levels of the FDMA home protocol (red: call 119 now; yellow: a doctor within about 2 hours;
 * green: a doctor, not urgent; white: self-care), the department and whether an online consultation
 * suits, naming the rules and answers that decided it. docs/internals/triage.md */
#ifndef COS_TRIAGE_H
#define COS_TRIAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"
#include "store/store.h"

/* The Questionnaire: its FHIR id (a shared resource, /fhir/Questionnaire/<id>), its canonical
 * url (QuestionnaireResponse.questionnaire, optionally "|<version>"), the system of its answer
 * codings, and the extension on a stored QuestionnaireResponse that carries the result. */
#define TRIAGE_QUESTIONNAIRE_ID  "cityos-triage"
#define TRIAGE_QUESTIONNAIRE_URL "urn:cityos:questionnaire:triage"
#define TRIAGE_OPTION_SYSTEM     "urn:cityos:triage-option"
#define TRIAGE_EXT_RESULT        "urn:cityos:triage-result"

/* Bounds of the tables (each file) and of an answer set. */
#define TRIAGE_FILE_MAX    (256 * 1024)
#define TRIAGE_LINE_MAX    2048
#define TRIAGE_ROWS_MAX    1000
#define TRIAGE_ATOMS_MAX   16  /* atoms of one condition */
#define TRIAGE_ANYOF_MAX   16  /* linkIds of one atom */
#define TRIAGE_TEXT_MAX    600 /* bytes of one text column */
#define TRIAGE_VERSION_LEN 16  /* hex digits of the tables' SHA-256 kept as their version */

enum triage_level { TRIAGE_WHITE = 0, TRIAGE_GREEN, TRIAGE_YELLOW, TRIAGE_RED, TRIAGE_LEVELS };
enum triage_type { TRIAGE_BOOLEAN, TRIAGE_CHOICE, TRIAGE_INTEGER, TRIAGE_DECIMAL };
enum triage_op { TRIAGE_EQ, TRIAGE_NE, TRIAGE_GE, TRIAGE_LE, TRIAGE_GT, TRIAGE_LT };

struct triage_text {
    const char *ja, *en;
};

/* One answer value (of the item's type): b for boolean, i for integer, d for decimal, code for
 * choice (borrowed from the table or the request). */
struct triage_value {
    enum triage_type type;
    int b;
    int64_t i;
    double d;
    const char *code;
};

/* One atom of a condition: any of items (indexes into the table's items) answered with a value
 * that satisfies "answer op value". */
struct triage_atom {
    const size_t *items;
    size_t nitems;
    enum triage_op op;
    struct triage_value value;
};

/* All atoms must hold; no atom: always true. */
struct triage_cond {
    const struct triage_atom *atoms;
    size_t natoms;
};

struct triage_option {
    const char *code;
    struct triage_text text;
};

struct triage_item {
    const char *link_id;
    enum triage_type type;
    int required;                   /* must be answered whenever enabled */
    struct triage_cond enable_when; /* on earlier items only */
    int has_min, has_max;
    double min, max;
    const struct triage_option *options; /* choice */
    size_t noptions;
    struct triage_text text;
    size_t line;
};

struct triage_department {
    const char *code;
    struct triage_text name;
};

struct triage_rule {
    const char *id;
    struct triage_cond when;
    enum triage_level level;
    const struct triage_department *department; /* NULL: none (white) */
    int online;
    struct triage_text reason;
    const char *source;
    size_t line;
};

/* The loaded tables. Everything lives in a (owned; triage_table_free). */
struct triage_table {
    struct arena *a;
    const struct triage_item *items;
    size_t nitems;
    const struct triage_department *departments;
    size_t ndepartments;
    const struct triage_rule *rules;
    size_t nrules;
    char version[TRIAGE_VERSION_LEN + 1]; /* hex of the SHA-256 of the four files */
};

/* One table file: the name errors cite ("data/triage/rules.tsv") and its bytes. */
struct triage_file {
    const char *name;
    const char *text;
    size_t len;
};

struct triage_files {
    struct triage_file questionnaire, options, departments, rules;
};

/* The tables as built into the binary (triage_data_gen.c, made by embed.py from data/triage/ at
 * build time). Static storage. */
const struct triage_files *triage_embedded_files(void);

/* Parses and checks the four files (docs/internals/triage.md "Tables": the header row, column
 * counts, formats, unique ids, references between the tables, types of condition values, the
 * levels' rules on departments and online). Returns 0 with *out a new table, or ERR_INVALID with
 * e "<file>:<line>: <what is wrong>" (ERR_NOMEM, ERR_TOOBIG for a file over the bounds). */
int triage_table_load(const struct triage_files *f, struct triage_table **out, struct err *e);

/* Reads the four files from a folder (questionnaire.tsv, options.tsv, departments.tsv,
 * rules.tsv) and loads them; for tools and tests. */
int triage_table_load_dir(const char *dir, struct triage_table **out, struct err *e);

void triage_table_free(struct triage_table *t);

/* The index of the item with this linkId, or -1. */
long triage_item_index(const struct triage_table *t, const char *link_id);

/* The department with this code, or NULL. */
const struct triage_department *triage_department_find(const struct triage_table *t,
                                                       const char *code);

/* "red", "yellow", "green", "white"; and back (-1 for another text). */
const char *triage_level_name(enum triage_level l);
int triage_level_parse(const char *s);

/* ---- answers and the engine ---- */

/* An answer per item of the table (index = item index); present 0: not answered. */
struct triage_answer {
    int present;
    struct triage_value v;
    long response_index; /* QuestionnaireResponse.item[<n>] it came from; -1 when made here */
};

/* Does the condition hold for these answers? */
int triage_cond_holds(const struct triage_cond *c, const struct triage_answer *ans);

/* A reason: a rule at the result's level and one answer that made one of its atoms hold (item
 * -1 for a rule without atoms: the default). */
struct triage_reason {
    const struct triage_rule *rule;
    long item;
};

struct triage_result {
    enum triage_level level;
    const struct triage_department *department; /* NULL for white */
    int online_suitable;
    int within_minutes; /* red 0, yellow 120; -1: no time limit (green, white) */
    const struct triage_reason *reasons;
    size_t nreasons;
};

/* Evaluates every rule on ans (t->nitems entries): the highest level among the rules that hold;
 * its rules in table order are the reasons, the first gives the department, online when all of
 * them allow it. Allocates the reasons in a. Returns 0, ERR_NOMEM, or ERR_INVALID when no rule
 * holds (a table without a default row; the loader requires one). */
int triage_evaluate(const struct triage_table *t, const struct triage_answer *ans, struct arena *a,
                    struct triage_result *out, struct err *e);

/* Reads a QuestionnaireResponse (a parsed JSON object) as answers to t: resourceType, the
 * questionnaire's canonical url (with a version, the current one), status "completed", an
 * optional subject that must be Patient/<subject> (subject NULL: none allowed), an optional
 * authored; one flat item per answered question, each with exactly one answer of the question's
 * type (valueBoolean, valueCoding with one of its codes, valueInteger, valueDecimal) within its
 * bounds; no unknown or repeated linkId; no answer to a question its enableWhen does not ask;
 * every required question that is asked answered. Returns 0 with *out (t->nitems answers in a),
 * or ERR_INVALID with e "<FHIRPath location>: <what is wrong>" (never an answer's value), or
 * ERR_NOMEM. */
int triage_answers_parse(const struct triage_table *t, const json_t *qr, const char *subject,
                         struct arena *a, struct triage_answer **out, struct err *e);

/* ---- FHIR and JSON renderings (render.c) ---- */

/* The Questionnaire as FHIR R4: lang "ja" or "en" for one language, NULL for Japanese with the
 * English texts as translation extensions (the published resource). New reference or NULL. */
json_t *triage_questionnaire_fhir(const struct triage_table *t, const char *lang);

/* The API's view of a result: {"level", "level_text": {ja, en}, "department", "department_name"
 * (or null), "online_suitable", "within" (minutes or null), "reasons": [{"rule", "linkId",
 * "answer", "text": {ja, en}, "source"}], "recommendation": {"action": "call-119" | "book" |
 * "self-care", "department", "mode": "online" | "in-person" | null}, "rules_version"}. The
 * caller adds "questionnaire_response". New reference or NULL. */
json_t *triage_result_json(const struct triage_table *t, const struct triage_answer *ans,
                           const struct triage_result *r);

/* The QuestionnaireResponse to store: id, the questionnaire "url|version", status completed,
 * subject Patient/<subject>, authored (now_ms), the answered items in questionnaire order, and
 * the TRIAGE_EXT_RESULT extension (level, department, online, rulesVersion as codes, the
 * result_json text as "detail"). New reference or NULL. */
json_t *triage_response_resource(const struct triage_table *t, const struct triage_answer *ans,
                                 const char *id, const char *subject, int64_t now_ms,
                                 const struct triage_result *r, const json_t *result_json);

/* What a stored triage QuestionnaireResponse says (for the booking): level, department (""
 * for none), online. Returns 0, or ERR_INVALID when qr is not one (no TRIAGE_EXT_RESULT). */
struct triage_summary {
    enum triage_level level;
    char department[40];
    int online_suitable;
};
int triage_response_summary(const json_t *qr, struct triage_summary *out, struct err *e);

/* The result JSON kept in a stored response (the extension's "detail"), parsed: new reference,
 * or NULL when qr is not a triage response. */
json_t *triage_response_result_json(const json_t *qr);

/* ---- the service ---- */

/* Loads and checks the embedded tables (a failure names the file and line: the server must not
 * start), keeps them for the API, and publishes the Questionnaire as the shared FHIR resource
 * Questionnaire/TRIAGE_QUESTIONNAIRE_ID (a new version only when the tables changed). Call once
 * at start-up, before the server serves. cfg may be NULL. Returns 0 or an ERR_* with e set. */
int triage_register(struct store *s, const struct config *cfg, struct err *e);

/* The same with given files (tests); NULL: the embedded ones. */
int triage_register_files(struct store *s, const struct triage_files *f, struct err *e);

/* The table triage_register() loaded (NULL before). */
const struct triage_table *triage_table_current(void);

#endif

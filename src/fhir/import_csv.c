/* import_csv.c - the check-up CSV files (import_csv.h): the RFC 4180 reader, the two layouts and
 * their items (LOINC and UCUM where LOINC has the item; docs/import.md cites each code), and the
 * CSV reader of the import that makes one record per row. */
#include "fhir/import_csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/ids.h"
#include "base/jsonx.h"
#include "consent/category.h"
#include "fhir/import_internal.h"
#include "fhir/owner.h"
#include "fhir/validate.h"

#define LOINC  "http://loinc.org"
#define UCUM   "http://unitsofmeasure.org"
#define SNOMED "http://snomed.info/sct"

/* ---- the reader ---- */

struct csv_state {
    char *cell; /* FHIR_CSV_CELLS_MAX cells of FHIR_CSV_CELL_MAX + 1 bytes */
    const char *cells[FHIR_CSV_CELLS_MAX];
    size_t n, len;
    const char *bad;
};

static void cell_end(struct csv_state *s)
{
    if (s->bad != NULL)
        return;
    if (s->n == FHIR_CSV_CELLS_MAX) {
        s->bad = "more than 64 cells";
        return;
    }
    char *c = s->cell + s->n * (FHIR_CSV_CELL_MAX + 1);
    c[s->len] = '\0';
    s->cells[s->n++] = c;
    s->len = 0;
}

static void cell_put(struct csv_state *s, char ch)
{
    if (s->bad != NULL)
        return;
    if (s->len == FHIR_CSV_CELL_MAX || s->n == FHIR_CSV_CELLS_MAX) {
        s->bad =
            s->n == FHIR_CSV_CELLS_MAX ? "more than 64 cells" : "a cell longer than 1024 bytes";
        return;
    }
    s->cell[s->n * (FHIR_CSV_CELL_MAX + 1) + s->len++] = ch;
}

int fhir_csv_parse(const char *buf, size_t len, fhir_csv_row_fn fn, void *ctx, struct err *e)
{
    struct csv_state s = {0};
    s.cell = malloc((size_t)FHIR_CSV_CELLS_MAX * (FHIR_CSV_CELL_MAX + 1));
    if (s.cell == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    size_t i = 0, line = 1, row_line = 1;
    int rc = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && rc == 0) {
        /* one row */
        s.n = s.len = 0;
        s.bad = NULL;
        row_line = line;
        int blank = 1;
        for (;;) {
            if (i < len && buf[i] == '"') {
                /* a quoted cell */
                blank = 0;
                i++;
                int closed = 0;
                while (i < len) {
                    char ch = buf[i++];
                    if (ch == '"') {
                        if (i < len && buf[i] == '"') {
                            cell_put(&s, '"');
                            i++;
                            continue;
                        }
                        closed = 1;
                        break;
                    }
                    if (ch == '\n')
                        line++;
                    cell_put(&s, ch);
                }
                if (!closed) {
                    free(s.cell);
                    return err_set(e, ERR_INVALID, "line %zu: a quoted cell is never closed",
                                   row_line);
                }
                if (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r' && s.bad == NULL)
                    s.bad = "text after a quoted cell";
            }
            /* the rest of an unquoted cell (or the junk after a quoted one) */
            while (i < len && buf[i] != ',' && buf[i] != '\n' &&
                   !(buf[i] == '\r' && (i + 1 == len || buf[i + 1] == '\n'))) {
                if (buf[i] == '"' && s.bad == NULL)
                    s.bad = "a quote inside an unquoted cell";
                if (buf[i] != ' ' && buf[i] != '\t')
                    blank = 0;
                cell_put(&s, buf[i++]);
            }
            cell_end(&s);
            if (i < len && buf[i] == ',') {
                blank = 0;
                i++;
                continue;
            }
            if (i < len && buf[i] == '\r')
                i++;
            if (i < len && buf[i] == '\n')
                i++;
            line++;
            break;
        }
        if (blank && s.bad == NULL)
            continue;
        rc = fn(ctx, row_line, i, s.cells, s.bad != NULL ? 0 : s.n, s.bad);
    }
    free(s.cell);
    return rc;
}

/* ---- the items ---- */

enum vkind {
    V_ID,
    V_DATE,
    V_GRADE,
    V_QTY,
    V_BP_SYS,
    V_BP_DIA,
    V_URINE,
    V_VISION,
    V_HEARING,
    V_COUNT
};

#define K_SPECIFIC 1u
#define K_SCHOOL   2u

struct item {
    const char *name;
    unsigned kinds;
    enum vkind v;
    const char *system, *code, *display;
    const char *unit;    /* UCUM */
    const char *obs_cat; /* observation-category code */
    double min, max;
};

static const struct item items[] = {
    {"person_id", K_SPECIFIC | K_SCHOOL, V_ID, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"date", K_SPECIFIC | K_SCHOOL, V_DATE, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"grade", K_SCHOOL, V_GRADE, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"height_cm", K_SPECIFIC | K_SCHOOL, V_QTY, LOINC, "8302-2", "Body height", "cm", "vital-signs",
     30, 250},
    {"weight_kg", K_SPECIFIC | K_SCHOOL, V_QTY, LOINC, "29463-7", "Body weight", "kg",
     "vital-signs", 1, 300},
    {"bmi", K_SPECIFIC, V_QTY, LOINC, "39156-5", "Body mass index (BMI) [Ratio]", "kg/m2",
     "vital-signs", 5, 100},
    {"waist_cm", K_SPECIFIC, V_QTY, LOINC, "8280-0",
     "Waist Circumference at umbilicus by Tape measure", "cm", "exam", 30, 250},
    {"systolic_mmhg", K_SPECIFIC, V_BP_SYS, LOINC, "8480-6", "Systolic blood pressure", "mm[Hg]",
     "vital-signs", 40, 300},
    {"diastolic_mmhg", K_SPECIFIC, V_BP_DIA, LOINC, "8462-4", "Diastolic blood pressure", "mm[Hg]",
     "vital-signs", 20, 200},
    {"hba1c_ngsp_pct", K_SPECIFIC, V_QTY, LOINC, "4548-4",
     "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "laboratory", 2, 25},
    {"fasting_glucose_mg_dl", K_SPECIFIC, V_QTY, LOINC, "1558-6",
     "Fasting glucose [Mass/volume] in Serum or Plasma", "mg/dL", "laboratory", 10, 1500},
    {"triglycerides_mg_dl", K_SPECIFIC, V_QTY, LOINC, "2571-8",
     "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", "laboratory", 5, 10000},
    {"hdl_mg_dl", K_SPECIFIC, V_QTY, LOINC, "2085-9",
     "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", "laboratory", 5, 500},
    {"ldl_mg_dl", K_SPECIFIC, V_QTY, LOINC, "2089-1",
     "Cholesterol in LDL [Mass/volume] in Serum or Plasma", "mg/dL", "laboratory", 5, 1000},
    {"ast_u_l", K_SPECIFIC, V_QTY, LOINC, "1920-8",
     "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L",
     "laboratory", 1, 10000},
    {"alt_u_l", K_SPECIFIC, V_QTY, LOINC, "1742-6",
     "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", "laboratory",
     1, 10000},
    {"ggt_u_l", K_SPECIFIC, V_QTY, LOINC, "2324-2",
     "Gamma glutamyl transferase [Enzymatic activity/volume] in Serum or Plasma", "U/L",
     "laboratory", 1, 10000},
    {"urine_protein", K_SPECIFIC, V_URINE, LOINC, "20454-5",
     "Protein [Presence] in Urine by Test strip", NULL, "laboratory", 0, 0},
    {"vision_left", K_SCHOOL, V_VISION, FHIR_CSV_SYS_ITEM, "vision-left",
     "Visual acuity, left eye (370 method, A-D)", NULL, "exam", 0, 0},
    {"vision_right", K_SCHOOL, V_VISION, FHIR_CSV_SYS_ITEM, "vision-right",
     "Visual acuity, right eye (370 method, A-D)", NULL, "exam", 0, 0},
    {"hearing_left", K_SCHOOL, V_HEARING, FHIR_CSV_SYS_ITEM, "hearing-left",
     "Hearing screening, left ear", NULL, "exam", 0, 0},
    {"hearing_right", K_SCHOOL, V_HEARING, FHIR_CSV_SYS_ITEM, "hearing-right",
     "Hearing screening, right ear", NULL, "exam", 0, 0},
    {"dental_caries", K_SCHOOL, V_COUNT, FHIR_CSV_SYS_ITEM, "dental-caries-untreated",
     "Untreated decayed teeth (count)", NULL, "exam", 0, 60},
};
#define NITEMS (sizeof items / sizeof items[0])

_Static_assert(sizeof items / sizeof items[0] <= FHIR_CHECKUP_COLS_MAX, "layout too small");

int fhir_checkup_layout(const char *const *cells, size_t n, struct fhir_checkup_layout *out,
                        struct err *e)
{
    memset(out, 0, sizeof *out);
    for (size_t k = 0; k < FHIR_CHECKUP_COLS_MAX; k++)
        out->col[k] = -1;
    out->kind = FHIR_CHECKUP_SPECIFIC;
    for (size_t i = 0; i < n; i++)
        if (strcmp(cells[i], "grade") == 0)
            out->kind = FHIR_CHECKUP_SCHOOL;
    unsigned kind = out->kind == FHIR_CHECKUP_SCHOOL ? K_SCHOOL : K_SPECIFIC;
    const char *kname = kind == K_SCHOOL ? "school check-up" : "specific health check-up";
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < NITEMS && strcmp(items[k].name, cells[i]) != 0)
            k++;
        if (k == NITEMS || !(items[k].kinds & kind))
            return err_set(e, ERR_INVALID,
                           "header: column %zu \"%.40s\" is not a column of the %s "
                           "format (docs/import.md)",
                           i + 1, cells[i], kname);
        if (out->col[k] >= 0)
            return err_set(e, ERR_INVALID, "header: column \"%s\" is given twice", items[k].name);
        out->col[k] = (int)i;
    }
    if (out->col[0] < 0 || out->col[1] < 0 || (kind == K_SCHOOL && out->col[2] < 0))
        return err_set(e, ERR_INVALID, "header: the %s format needs person_id, date%s", kname,
                       kind == K_SCHOOL ? " and grade" : "");
    out->ncells = n;
    return 0;
}

/* A decimal number without sign or exponent ("72", "5.6", ".5"), in [min, max]. */
static int number(const char *s, double min, double max, double *out)
{
    size_t digits = 0, dots = 0, n = 0;
    for (const char *p = s; *p != '\0'; p++, n++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.' && dots == 0)
            dots++;
        else
            return 0;
    }
    if (digits == 0 || n > 12)
        return 0;
    double v = strtod(s, NULL);
    if (!isfinite(v) || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

static int date_ok(const char *s)
{
    return strlen(s) == 10 && fhir_primitive_string_ok("date", s, 10);
}

static int grade_ok(const char *s)
{
    static const char *const ok[] = {"小1", "小2", "小3", "小4", "小5", "小6", "中1", "中2",
                                     "中3", "高1", "高2", "高3", "1",   "2",   "3",   "4",
                                     "5",   "6",   "7",   "8",   "9",   "10",  "11",  "12"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(s, ok[i]) == 0)
            return 1;
    return 0;
}

/* Dipstick grades (Japanese notation and ASCII) -> SNOMED CT findings (Presence in urine). */
static const struct {
    const char *in[4];
    const char *code, *display, *text;
} urine[] = {
    {{"-", "−", "neg", NULL}, "167273002", "Urine protein test negative", "-"},
    {{"±", "+-", "trace", NULL}, "167274008", "Urine protein test = trace", "±"},
    {{"+", "1+", NULL, NULL}, "167275009", "Urine protein test = +", "1+"},
    {{"++", "2+", NULL, NULL}, "167276005", "Urine protein test = ++", "2+"},
    {{"+++", "3+", NULL, NULL}, "167277001", "Urine protein test = +++", "3+"},
    {{"++++", "4+", NULL, NULL}, "167278006", "Urine protein test = ++++", "4+"},
};

static json_t *concept(const char *system, const char *code, const char *display)
{
    return json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system", system, "code", code,
                     "display", display, "text", display);
}

static json_t *categories(const char *obs_cat, const char *city_code)
{
    return json_pack("[{s:[{s:s, s:s}]}, {s:[{s:s, s:s}]}]", "coding", "system",
                     CONSENT_SYS_OBSERVATION, "code", obs_cat, "coding", "system", CONSENT_SYS_CITY,
                     "code", city_code);
}

static json_t *quantity(double v, const char *unit)
{
    return json_pack("{s:f, s:s, s:s, s:s}", "value", v, "unit", unit, "system", UCUM, "code",
                     unit);
}

static json_t *observation(const char *person, const char *date, const char *obs_cat,
                           const char *city_code, json_t *code)
{
    char subject[80];
    snprintf(subject, sizeof subject, "Patient/%s", person);
    return json_pack("{s:s, s:s, s:o, s:o, s:{s:s}, s:s}", "resourceType", "Observation", "status",
                     "final", "category", categories(obs_cat, city_code), "code", code, "subject",
                     "reference", subject, "effectiveDateTime", date);
}

static int append_entry(json_t *out, json_t *res, size_t k)
{
    if (res == NULL)
        return -1;
    char url[64];
    snprintf(url, sizeof url, "urn:uuid:00000000-0000-4000-8000-%012zu", k);
    return json_array_append_new(out, json_pack("{s:s, s:o}", "fullUrl", url, "resource", res));
}

json_t *fhir_checkup_row(const struct fhir_checkup_layout *l, const char *const *cells, size_t n,
                         const char **person, struct err *e)
{
    if (n != l->ncells) {
        err_set(e, ERR_INVALID, "%zu cells, the header has %zu", n, l->ncells);
        return NULL;
    }
    unsigned kind = l->kind == FHIR_CHECKUP_SCHOOL ? K_SCHOOL : K_SPECIFIC;
    const char *city = kind == K_SCHOOL ? "school-health" : "checkup";
    const char *pid = cells[l->col[0]], *date = cells[l->col[1]];
    *person = pid;
    if (!ids_valid(pid)) {
        err_set(e, ERR_INVALID, "column person_id: not a regional ID");
        return NULL;
    }
    if (!date_ok(date)) {
        err_set(e, ERR_INVALID, "column date: not a date YYYY-MM-DD");
        return NULL;
    }
    const char *grade = kind == K_SCHOOL ? cells[l->col[2]] : NULL;
    if (grade != NULL && !grade_ok(grade)) {
        err_set(e, ERR_INVALID, "column grade: 小1-小6, 中1-中3, 高1-高3 or 1-12");
        return NULL;
    }
    json_t *out = json_array();
    double sys = -1, dia = -1;
    if (out == NULL)
        goto nomem;
    for (size_t k = 3; k < NITEMS; k++) {
        const struct item *it = &items[k];
        if (l->col[k] < 0 || cells[l->col[k]][0] == '\0')
            continue; /* not measured */
        const char *cell = cells[l->col[k]];
        double v = 0;
        json_t *res = NULL;
        switch (it->v) {
        case V_QTY:
        case V_BP_SYS:
        case V_BP_DIA:
        case V_COUNT:
            if (!number(cell, it->min, it->max, &v) || (it->v == V_COUNT && v != floor(v))) {
                err_set(e, ERR_INVALID, "column %s: not a %s from %g to %g", it->name,
                        it->v == V_COUNT ? "whole number" : "number", it->min, it->max);
                goto bad;
            }
            if (it->v == V_BP_SYS) {
                sys = v;
                continue;
            }
            if (it->v == V_BP_DIA) {
                dia = v;
                continue;
            }
            res = observation(pid, date, it->obs_cat, city,
                              concept(it->system, it->code, it->display));
            if (res != NULL && it->v == V_COUNT)
                json_object_set_new(res, "valueInteger", json_integer((json_int_t)v));
            else if (res != NULL)
                json_object_set_new(res, "valueQuantity", quantity(v, it->unit));
            break;
        case V_URINE: {
            size_t u = 0, w = 0;
            int hit = 0;
            for (u = 0; u < sizeof urine / sizeof urine[0] && !hit; u++)
                for (w = 0; w < 4 && urine[u].in[w] != NULL && !hit; w++)
                    hit = strcmp(cell, urine[u].in[w]) == 0;
            if (!hit) {
                err_set(e, ERR_INVALID, "column %s: one of -, ±, 1+, 2+, 3+, 4+", it->name);
                goto bad;
            }
            u--;
            res = observation(pid, date, it->obs_cat, city,
                              concept(it->system, it->code, it->display));
            if (res != NULL)
                json_object_set_new(res, "valueCodeableConcept",
                                    json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system",
                                              SNOMED, "code", urine[u].code, "display",
                                              urine[u].display, "text", urine[u].text));
            break;
        }
        case V_VISION:
        case V_HEARING: {
            int vision = it->v == V_VISION;
            int ok = vision ? (strlen(cell) == 1 && cell[0] >= 'A' && cell[0] <= 'D')
                            : (strcmp(cell, "normal") == 0 || strcmp(cell, "abnormal") == 0);
            if (!ok) {
                err_set(e, ERR_INVALID, "column %s: %s", it->name,
                        vision ? "A, B, C or D (370 method)" : "normal or abnormal");
                goto bad;
            }
            res = observation(pid, date, it->obs_cat, city,
                              concept(it->system, it->code, it->display));
            if (res != NULL)
                json_object_set_new(res, "valueCodeableConcept",
                                    json_pack("{s:[{s:s, s:s}], s:s}", "coding", "system",
                                              vision ? "urn:cityos:school-vision-370"
                                                     : "urn:cityos:screening-result",
                                              "code", cell, "text", cell));
            break;
        }
        default:
            continue;
        }
        if (append_entry(out, res, k) != 0)
            goto nomem;
    }
    if ((sys >= 0) != (dia >= 0)) {
        err_set(e, ERR_INVALID, "column %s: blood pressure needs systolic_mmhg and diastolic_mmhg",
                sys >= 0 ? "diastolic_mmhg" : "systolic_mmhg");
        goto bad;
    }
    if (sys >= 0) {
        json_t *bp = observation(
            pid, date, "vital-signs", city,
            concept(LOINC, "85354-9", "Blood pressure panel with all children optional"));
        if (bp != NULL)
            json_object_set_new(bp, "component",
                                json_pack("[{s:o, s:o}, {s:o, s:o}]", "code",
                                          concept(LOINC, "8480-6", "Systolic blood pressure"),
                                          "valueQuantity", quantity(sys, "mm[Hg]"), "code",
                                          concept(LOINC, "8462-4", "Diastolic blood pressure"),
                                          "valueQuantity", quantity(dia, "mm[Hg]")));
        if (append_entry(out, bp, 7) != 0)
            goto nomem;
    }
    size_t nitems = json_array_size(out);
    if (nitems == 0) {
        err_set(e, ERR_INVALID, "no item was measured (every item cell is empty)");
        goto bad;
    }
    /* the row's panel: the visit, with what was measured */
    json_t *panel = observation(
        pid, date, "exam", city,
        kind == K_SCHOOL ? concept(FHIR_CSV_SYS_ITEM, "school-health-checkup", "学校健康診断")
                         : concept(FHIR_CSV_SYS_ITEM, "specific-health-checkup", "特定健康診査"));
    json_t *members = json_array();
    if (panel == NULL || members == NULL || json_object_set_new(panel, "hasMember", members) != 0) {
        json_decref(panel);
        goto nomem;
    }
    for (size_t i = 0; i < nitems; i++)
        json_array_append_new(
            members,
            json_pack("{s:s}", "reference",
                      json_string_value(json_object_get(json_array_get(out, i), "fullUrl"))));
    if (grade != NULL)
        json_object_set_new(panel, "component",
                            json_pack("[{s:o, s:s}]", "code",
                                      concept(FHIR_CSV_SYS_ITEM, "school-grade", "School grade"),
                                      "valueString", grade));
    if (append_entry(out, panel, NITEMS) != 0)
        goto nomem;
    return out;
nomem:
    err_set(e, ERR_NOMEM, "out of memory");
bad:
    json_decref(out);
    return NULL;
}

char *fhir_checkup_canon(const struct fhir_checkup_layout *l, const char *const *cells, size_t n,
                         size_t *len)
{
    size_t cap = 32;
    for (size_t k = 0; k < NITEMS; k++)
        if (l->col[k] >= 0 && (size_t)l->col[k] < n)
            cap += strlen(items[k].name) + strlen(cells[l->col[k]]) + 2;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    size_t at =
        (size_t)snprintf(out, cap, "%s\n", l->kind == FHIR_CHECKUP_SCHOOL ? "school" : "specific");
    for (size_t k = 0; k < NITEMS; k++)
        if (l->col[k] >= 0 && (size_t)l->col[k] < n)
            at +=
                (size_t)snprintf(out + at, cap - at, "%s=%s\x1f", items[k].name, cells[l->col[k]]);
    *len = at;
    return out;
}

/* ---- the import's CSV reader ---- */

struct csv_import {
    struct fhir_importer *im;
    const char *file;
    struct fhir_checkup_layout layout;
    int have_header;
    struct err *e;
};

static int csv_row(void *ctx, size_t line, size_t end, const char *const *cells, size_t n,
                   const char *bad)
{
    struct csv_import *ci = ctx;
    char where[32];
    snprintf(where, sizeof where, "line %zu", line);
    if (!ci->have_header) {
        if (bad != NULL)
            return err_set(ci->e, ERR_INVALID, "line %zu: the header cannot be read: %s", line,
                           bad);
        int rc = fhir_checkup_layout(cells, n, &ci->layout, ci->e);
        ci->have_header = rc == 0;
        return rc;
    }
    if (bad != NULL) {
        fhir_import__reject_at(ci->im, ci->file, where, "%s", bad);
        return 0;
    }
    size_t clen = 0;
    char *canon = fhir_checkup_canon(&ci->layout, cells, n, &clen);
    if (canon == NULL)
        return ERR_NOMEM;
    struct fhir_import_record *r = fhir_import__record_new(ci->im, ci->file, where, canon, clen);
    free(canon);
    if (r == NULL)
        return ERR_NOMEM;
    r->transaction = 1; /* the panel refers to its items by fullUrl */
    r->offset = end;
    struct err e = {0};
    const char *person = NULL;
    json_t *entries = fhir_checkup_row(&ci->layout, cells, n, &person, &e);
    if (entries == NULL) {
        if (e.code == ERR_NOMEM) {
            fhir_import__reject(r, "out of memory");
            return ERR_NOMEM;
        }
        return fhir_import__reject(r, "%s", e.msg);
    }
    size_t i;
    json_t *entry;
    json_array_foreach(entries, i, entry)
    {
        json_t *res = json_incref(json_object_get(entry, "resource"));
        struct fhir_import_item *it = fhir_import__add(r, res, FHIR_WRITE_CREATE);
        if (it == NULL) {
            json_decref(entries);
            fhir_import__reject(r, "out of memory");
            return ERR_NOMEM;
        }
        it->full_url = json_string_value(json_object_get(entry, "fullUrl"));
    }
    /* the entries hold the fullUrls the items borrow */
    if (arena_defer(r->a, jsonx_decref, entries) != 0) {
        json_decref(entries);
        fhir_import__reject(r, "out of memory");
        return ERR_NOMEM;
    }
    return fhir_import__submit(r);
}

int fhir_import__csv(struct fhir_importer *im, const char *file, const char *buf, size_t len,
                     struct err *e)
{
    struct csv_import ci = {.im = im, .file = file, .e = e};
    int rc = fhir_csv_parse(buf, len, csv_row, &ci, e);
    if (rc == 0 && !ci.have_header)
        return err_set(e, ERR_INVALID, "no header row: the file is empty");
    return rc;
}

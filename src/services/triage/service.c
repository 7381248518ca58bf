/* service.c - the triage service at start-up (triage.h): the embedded tables loaded and checked
 * (a bad table stops the server with the file and line), kept for the API, and the
 * Questionnaire published as the shared FHIR resource Questionnaire/cityos-triage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "fhir/resource.h"
#include "fhir/validate.h"
#include "services/triage/internal.h"

static struct triage_table *current; /* set at start-up, read-only while serving */

const struct triage_table *triage_table_current(void)
{
    return current;
}

/* Is the stored Questionnaire already this version? */
static int published(struct store *s, const struct triage_table *t, struct err *e)
{
    struct arena *a = arena_new(16 * 1024);
    if (a == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct fhir_record rec;
    int rc = fhir_resource_read(s, "Questionnaire", TRIAGE_QUESTIONNAIRE_ID, &rec, a, e);
    int same = 0;
    if (rc == 0 && !rec.deleted && rec.body != NULL) {
        struct err pe = {0};
        json_t *q = jsonx_parse(rec.body, rec.len, &pe);
        const char *v = json_string_value(json_object_get(q, "version"));
        same = v != NULL && strcmp(v, t->version) == 0;
        json_decref(q);
    }
    arena_free(a);
    if (rc != 0 && rc != ERR_NOTFOUND)
        return rc;
    err_clear(e);
    return same;
}

static int publish(struct store *s, const struct triage_table *t, struct err *e)
{
    int rc = published(s, t, e);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    json_t *q = triage_questionnaire_fhir(t, NULL);
    if (q == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct fhir_issues *is = malloc(sizeof *is);
    if (is == NULL) {
        json_decref(q);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    fhir_issues_init(is, NULL, NULL);
    if (fhir_validate(q, "Questionnaire", is) != 0 || is->nerrors > 0) {
        rc = err_set(e, ERR_INTERNAL,
                     "triage: the rendered Questionnaire is not valid: %.100s: "
                     "%.100s",
                     is->n > 0 ? is->items[0].expression : "",
                     is->n > 0 ? is->items[0].diagnostics : "");
        free(is);
        json_decref(q);
        return rc;
    }
    free(is);
    struct fhir_write w;
    memset(&w, 0, sizeof w);
    w.op = FHIR_WRITE_UPDATE;
    w.rtype = "Questionnaire";
    snprintf(w.id, sizeof w.id, "%s", TRIAGE_QUESTIONNAIRE_ID);
    w.resource = q;
    w.create_missing = 1;
    w.record_audit = 0; /* shared data about no one: on no citizen's trail */
    w.now_ms = clock_now_ms();
    rc = store_write(s, fhir_resource_write_fn, &w, e);
    if (rc == 0)
        log_info("triage: published Questionnaire/%s version %s (%s)", TRIAGE_QUESTIONNAIRE_ID,
                 t->version, w.created ? "new" : "updated");
    fhir_write_release(&w);
    json_decref(q);
    return rc;
}

int triage_register_files(struct store *s, const struct triage_files *f, struct err *e)
{
    struct triage_table *t = NULL;
    int rc = triage_table_load(f != NULL ? f : triage_embedded_files(), &t, e);
    if (rc != 0)
        return rc;
    if (s != NULL && (rc = publish(s, t, e)) != 0) {
        triage_table_free(t);
        return rc;
    }
    triage_table_free(current); /* a second registration (tests) replaces the first */
    current = t;
    log_info("triage: %zu questions, %zu rules, %zu departments, tables version %s", t->nitems,
             t->nrules, t->ndepartments, t->version);
    return 0;
}

int triage_register(struct store *s, const struct config *cfg, struct err *e)
{
    (void)cfg;
    return triage_register_files(s, NULL, e);
}

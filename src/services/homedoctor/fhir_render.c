/* fhir_render.c - a home-doctor finding as FHIR R4 resources: RiskAssessment (prediction,
 * basis = the resources used, method = the rule) and Communication (the texts, recipients). */
#include <string.h>

#include "base/clock.h"
#include "services/homedoctor/internal.h"

#define RULE_SYSTEM "urn:cityos:homedoctor-rule"

/* A small builder whose first failure sticks (jansson returns -1 / NULL on OOM or bad UTF-8). */
struct jb {
    bool failed;
};

static json_t *jb_str(struct jb *b, const char *s)
{
    json_t *v = json_string(s ? s : "");
    if (v == NULL)
        b->failed = true;
    return v;
}

static void jb_set(struct jb *b, json_t *obj, const char *key, json_t *v)
{
    if (obj == NULL || v == NULL || json_object_set_new(obj, key, v) != 0)
        b->failed = true;
}

static void jb_push(struct jb *b, json_t *arr, json_t *v)
{
    if (arr == NULL || v == NULL || json_array_append_new(arr, v) != 0)
        b->failed = true;
}

static json_t *jb_ref(struct jb *b, const char *kind, const char *id)
{
    json_t *o = json_object();
    if (o == NULL) {
        b->failed = true;
        return NULL;
    }
    char buf[512];
    int w =
        kind ? snprintf(buf, sizeof buf, "%s/%s", kind, id) : snprintf(buf, sizeof buf, "%s", id);
    if (w < 0 || (size_t)w >= sizeof buf) {
        b->failed = true;
        return o;
    }
    jb_set(b, o, "reference", jb_str(b, buf));
    return o;
}

static bool valid_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

static int check_finding(const struct homedoctor_finding *f, const char *patient_id, struct err *e)
{
    if (f == NULL || f->rule_id == NULL || f->text_en == NULL || f->text_ja == NULL)
        return err_set(e, ERR_INVALID, "fhir: an incomplete finding");
    if (!valid_id(patient_id))
        return err_set(e, ERR_INVALID, "fhir: patient id is not a FHIR id");
    return 0;
}

static json_t *notes(struct jb *b, const struct homedoctor_finding *f)
{
    json_t *arr = json_array();
    const char *texts[2] = {f->text_ja, f->text_en};
    for (int i = 0; i < 2; i++) {
        json_t *n = json_object();
        jb_set(b, n, "text", jb_str(b, texts[i]));
        jb_push(b, arr, n);
    }
    if (arr == NULL)
        b->failed = true;
    return arr;
}

json_t *homedoctor_fhir_risk_assessment(const struct homedoctor_finding *f, const char *patient_id,
                                        struct err *e)
{
    if (check_finding(f, patient_id, e) != 0)
        return NULL;
    struct jb b = {0};
    char when[32];
    clock_format_ms(f->evaluated_ms, when, sizeof when);
    json_t *ra = json_object();
    jb_set(&b, ra, "resourceType", jb_str(&b, "RiskAssessment"));
    jb_set(&b, ra, "status", jb_str(&b, "final"));
    json_t *method = json_object(), *coding = json_array(), *c = json_object();
    jb_set(&b, c, "system", jb_str(&b, RULE_SYSTEM));
    jb_set(&b, c, "code", jb_str(&b, f->rule_id));
    jb_push(&b, coding, c);
    jb_set(&b, method, "coding", coding);
    jb_set(&b, method, "text", jb_str(&b, f->citation));
    jb_set(&b, ra, "method", method);
    jb_set(&b, ra, "subject", jb_ref(&b, "Patient", patient_id));
    jb_set(&b, ra, "occurrenceDateTime", jb_str(&b, when));
    if (f->n_basis > 0) {
        json_t *basis = json_array();
        for (size_t i = 0; i < f->n_basis; i++)
            jb_push(&b, basis, jb_ref(&b, NULL, f->basis[i]));
        jb_set(&b, ra, "basis", basis);
    }
    json_t *preds = json_array(), *p = json_object(), *outcome = json_object();
    jb_set(&b, outcome, "text", jb_str(&b, f->predicts ? f->predicts : f->outcome));
    jb_set(&b, p, "outcome", outcome);
    if (f->probability >= 0) {
        json_t *pr = json_real(f->probability);
        if (pr == NULL)
            b.failed = true;
        jb_set(&b, p, "probabilityDecimal", pr);
        /* the Hisayama prediction is over 10 years */
        json_t *range = json_object(), *high = json_object();
        jb_set(&b, high, "value", json_integer(10));
        jb_set(&b, high, "unit", jb_str(&b, "a"));
        jb_set(&b, high, "system", jb_str(&b, "http://unitsofmeasure.org"));
        jb_set(&b, high, "code", jb_str(&b, "a"));
        jb_set(&b, range, "high", high);
        jb_set(&b, p, "whenRange", range);
    } else {
        json_t *q = json_object(), *qc = json_array(), *qcc = json_object();
        jb_set(&b, qcc, "system", jb_str(&b, RULE_SYSTEM));
        jb_set(&b, qcc, "code", jb_str(&b, f->outcome));
        jb_push(&b, qc, qcc);
        jb_set(&b, q, "coding", qc);
        jb_set(&b, p, "qualitativeRisk", q);
    }
    jb_push(&b, preds, p);
    jb_set(&b, ra, "prediction", preds);
    jb_set(&b, ra, "note", notes(&b, f));
    if (b.failed) {
        json_decref(ra);
        err_set(e, ERR_NOMEM, "fhir: building RiskAssessment failed (memory or text)");
        return NULL;
    }
    return ra;
}

json_t *homedoctor_fhir_communication(const struct homedoctor_finding *f, const char *patient_id,
                                      const char *carer_ref, struct err *e)
{
    if (check_finding(f, patient_id, e) != 0)
        return NULL;
    bool to_carer = (f->recipients & HOMEDOCTOR_TO_CARER) != 0;
    if (to_carer) {
        const char *slash = carer_ref ? strchr(carer_ref, '/') : NULL;
        if (slash == NULL || slash == carer_ref || !valid_id(slash + 1))
            return err_set(e, ERR_INVALID,
                           "fhir: the finding is for the carer: carer_ref "
                           "must be a reference like RelatedPerson/<id>"),
                   NULL;
    }
    struct jb b = {0};
    char when[32];
    clock_format_ms(f->evaluated_ms, when, sizeof when);
    json_t *c = json_object();
    jb_set(&b, c, "resourceType", jb_str(&b, "Communication"));
    jb_set(&b, c, "status", jb_str(&b, "completed"));
    json_t *cat = json_array(), *cc = json_object(), *ccod = json_array(), *code = json_object();
    jb_set(&b, code, "system",
           jb_str(&b, "http://terminology.hl7.org/CodeSystem/communication-category"));
    jb_set(&b, code, "code",
           jb_str(&b, f->severity == HOMEDOCTOR_WARNING ? "alert" : "notification"));
    jb_push(&b, ccod, code);
    jb_set(&b, cc, "coding", ccod);
    jb_push(&b, cat, cc);
    jb_set(&b, c, "category", cat);
    jb_set(&b, c, "priority", jb_str(&b, f->severity == HOMEDOCTOR_WARNING ? "urgent" : "routine"));
    jb_set(&b, c, "subject", jb_ref(&b, "Patient", patient_id));
    jb_set(&b, c, "sent", jb_str(&b, when));
    json_t *rec = json_array();
    if (f->recipients & HOMEDOCTOR_TO_CITIZEN)
        jb_push(&b, rec, jb_ref(&b, "Patient", patient_id));
    if (to_carer)
        jb_push(&b, rec, jb_ref(&b, NULL, carer_ref));
    jb_set(&b, c, "recipient", rec);
    json_t *reason = json_array(), *rc = json_object(), *rcod = json_array(), *rcc = json_object();
    jb_set(&b, rcc, "system", jb_str(&b, RULE_SYSTEM));
    jb_set(&b, rcc, "code", jb_str(&b, f->rule_id));
    jb_push(&b, rcod, rcc);
    jb_set(&b, rc, "coding", rcod);
    jb_set(&b, rc, "text", jb_str(&b, f->citation));
    jb_push(&b, reason, rc);
    jb_set(&b, c, "reasonCode", reason);
    json_t *payload = json_array();
    const char *texts[2] = {f->text_ja, f->text_en};
    for (int i = 0; i < 2; i++) {
        json_t *pl = json_object();
        jb_set(&b, pl, "contentString", jb_str(&b, texts[i]));
        jb_push(&b, payload, pl);
    }
    jb_set(&b, c, "payload", payload);
    if (b.failed) {
        json_decref(c);
        err_set(e, ERR_NOMEM, "fhir: building Communication failed (memory or text)");
        return NULL;
    }
    return c;
}

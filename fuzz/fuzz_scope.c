/* fuzz_scope.c - OAuth scope strings: parsing; for what parses, the canonical text (which must
 * parse back to an equal set), and subset / intersect / allows checked against each other. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/scope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* About 96 KiB each: static, since libFuzzer runs one input at a time. */
static struct id_scope_set a, b, again, both;
static char text[ID_SCOPE_TEXT_MAX + 1], text2[ID_SCOPE_FORMAT_MAX];

/* Parses s[0..n); on success checks the canonical forms of the set. Returns 0 or -1. */
static int parse_checked(const char *s, size_t n, struct id_scope_set *out)
{
    struct err e;
    if (id_scope_parse_n(s, n, out, &e) != 0) {
        if (e.code != ERR_INVALID || e.msg[0] == '\0' || out->n != 0)
            abort();
        return -1;
    }
    /* the form that keeps v1 is never longer than the input and parses back to the same set */
    if (id_scope_format(out, ID_SCOPE_FORM_KEEP_V1, text, sizeof text) != 0 || strlen(text) > n)
        abort();
    if (id_scope_parse(text, &again, &e) != 0 || !id_scope_set_equal(out, &again))
        abort();
    /* the v2 form is a fixed point too (when it still fits the input bound) */
    if (id_scope_format(out, ID_SCOPE_FORM_V2, text2, sizeof text2) != 0)
        abort();
    if (strlen(text2) <= ID_SCOPE_TEXT_MAX) {
        if (id_scope_parse(text2, &again, &e) != 0 ||
            id_scope_format(&again, ID_SCOPE_FORM_V2, text, sizeof text) != 0 ||
            strcmp(text, text2) != 0)
            abort();
    }
    /* every unrestricted clinical scope allows what it says */
    for (size_t i = 0; i < out->n; i++) {
        const struct id_scope_clinical *c = &out->items[i].clinical;
        if (out->items[i].kind != ID_SCOPE_CLINICAL || c->nparams > 0)
            continue;
        const char *type = strcmp(c->resource, "*") == 0 ? "Observation" : c->resource;
        for (unsigned p = 1; p <= ID_PERM_S; p <<= 1) {
            if ((c->perms & p) && id_scope_allows(out, c->context, type, p, NULL, 0) == NULL)
                abort();
        }
    }
    return 0;
}

/* allows() over a and b and their intersection agree for the type named by scope it. */
static void check_allows(const struct id_scope *it)
{
    if (it->kind != ID_SCOPE_CLINICAL)
        return;
    const char *type = it->clinical.resource;
    for (int ctx = ID_SCOPE_PATIENT; ctx <= ID_SCOPE_SYSTEM; ctx++) {
        for (unsigned p = 1; p <= ID_PERM_S; p <<= 1) {
            enum id_scope_context c = (enum id_scope_context)ctx;
            int in_a = id_scope_allows(&a, c, type, p, NULL, 0) != NULL;
            int in_b = id_scope_allows(&b, c, type, p, NULL, 0) != NULL;
            int in_both = id_scope_allows(&both, c, type, p, NULL, 0) != NULL;
            /* patient-compartment access may come from patient/ in one set and user/ in the
             * other, which intersect to nothing; elsewhere the contexts must agree exactly */
            if (in_both && !(in_a && in_b))
                abort();
            if (c != ID_SCOPE_PATIENT && in_a && in_b && !in_both)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* one scope string, or two separated by a newline (which no scope string contains) */
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t na = nl ? (size_t)(nl - s) : size;
    if (parse_checked(s, na, &a) != 0)
        return 0;
    if (nl == NULL)
        b = a;
    else if (parse_checked(nl + 1, size - na - 1, &b) != 0)
        return 0;

    struct err e;
    if (!id_scope_subset(&a, &a, NULL) || !id_scope_subset(&b, &b, NULL))
        abort();
    if (id_scope_intersect(&a, &b, &both, &e) != 0) {
        if (e.code != ERR_TOOBIG || both.n != 0)
            abort();
        return 0;
    }
    /* the intersection is within both; a set met with itself grants what it did */
    if (!id_scope_subset(&both, &a, NULL) || !id_scope_subset(&both, &b, NULL))
        abort();
    if (nl == NULL && !id_scope_subset(&a, &both, NULL))
        abort();
    for (size_t i = 0; i < a.n; i++)
        check_allows(&a.items[i]);
    for (size_t i = 0; i < b.n; i++)
        check_allows(&b.items[i]);
    return 0;
}

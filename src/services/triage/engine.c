/* engine.c - triage_evaluate() (triage.h): every rule of the table on one set of answers; the
 * highest level that holds wins (so a red flag beats everything), with its rules as the reasons
 * and the answers that made their atoms hold. Pure: no store, no clock. */
#include <string.h>

#include "services/triage/internal.h"

static const int within_minutes[TRIAGE_LEVELS] = {-1, -1, 120, 0};

/* Appends the reasons of rule r: per atom, each of its items whose answer holds. */
static int add_reasons(const struct triage_rule *r, const struct triage_answer *ans,
                       struct arena *a, struct triage_reason **arr, size_t *n, size_t *cap)
{
    if (r->when.natoms == 0) {
        struct triage_reason *x = arena_array_reserve(a, *arr, *n, cap, sizeof *x);
        if (x == NULL)
            return ERR_NOMEM;
        *arr = x;
        (*arr)[(*n)++] = (struct triage_reason){r, -1};
        return 0;
    }
    for (size_t i = 0; i < r->when.natoms; i++) {
        const struct triage_atom *at = &r->when.atoms[i];
        for (size_t k = 0; k < at->nitems; k++) {
            if (!triage__atom_item_holds(at, k, ans))
                continue;
            int seen = 0; /* one item named by two atoms of the rule is one reason */
            for (size_t j = 0; j < *n && !seen; j++)
                seen = (*arr)[j].rule == r && (*arr)[j].item == (long)at->items[k];
            if (seen)
                continue;
            struct triage_reason *x = arena_array_reserve(a, *arr, *n, cap, sizeof *x);
            if (x == NULL)
                return ERR_NOMEM;
            *arr = x;
            (*arr)[(*n)++] = (struct triage_reason){r, (long)at->items[k]};
        }
    }
    return 0;
}

int triage_evaluate(const struct triage_table *t, const struct triage_answer *ans, struct arena *a,
                    struct triage_result *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    int best = -1;
    /* first pass: the level */
    for (size_t i = 0; i < t->nrules; i++)
        if ((int)t->rules[i].level > best && triage_cond_holds(&t->rules[i].when, ans))
            best = (int)t->rules[i].level;
    if (best < 0)
        return err_set(e, ERR_INVALID, "triage: no rule holds (the table has no default row)");
    /* second pass: that level's rules, in table order */
    struct triage_reason *reasons = NULL;
    size_t n = 0, cap = 0;
    int online = 1, found = 0;
    for (size_t i = 0; i < t->nrules; i++) {
        const struct triage_rule *r = &t->rules[i];
        if ((int)r->level != best || !triage_cond_holds(&r->when, ans))
            continue;
        /* the default row speaks only when nothing else of its level does */
        if (r->when.natoms == 0 && found)
            continue;
        if (!found)
            out->department = r->department;
        found = 1;
        online &= r->online;
        if (add_reasons(r, ans, a, &reasons, &n, &cap) != 0)
            return err_set(e, ERR_NOMEM, "out of memory");
    }
    out->level = (enum triage_level)best;
    out->online_suitable = online && best <= TRIAGE_GREEN;
    out->within_minutes = within_minutes[best];
    out->reasons = reasons;
    out->nreasons = n;
    return 0;
}

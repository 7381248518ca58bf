/* fuzz_triage_table.c - the triage table loader on arbitrary rules.tsv and questionnaire.tsv
 * texts (the input is split at the first NUL byte: questionnaire before, rules after; with no
 * NUL, the input is the rules and the real questionnaire stays): never a crash, every refusal
 * with the file and line, and a table that loads evaluates an empty answer set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "services/triage/triage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct triage_files f = *triage_embedded_files();
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    if (nul != NULL) {
        f.questionnaire.text = text;
        f.questionnaire.len = (size_t)(nul - text);
        f.rules.text = nul + 1;
        f.rules.len = size - f.questionnaire.len - 1;
    } else {
        f.rules.text = text;
        f.rules.len = size;
    }
    struct triage_table *t = NULL;
    struct err e = {0};
    int rc = triage_table_load(&f, &t, &e);
    if (rc != 0) {
        if (t != NULL || e.msg[0] == '\0' || strstr(e.msg, "data/triage/") == NULL)
            abort();
        return 0;
    }
    struct arena *a = arena_new(4096);
    struct triage_answer *ans = a != NULL ? arena_zalloc(a, t->nitems * sizeof *ans + 1) : NULL;
    struct triage_result r;
    if (ans == NULL || triage_evaluate(t, ans, a, &r, &e) != 0 || r.level != TRIAGE_WHITE)
        abort();
    arena_free(a);
    triage_table_free(t);
    return 0;
}

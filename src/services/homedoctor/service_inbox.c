/* service_inbox.c - the home doctor's alerts and advice in the citizen's inbox (service.h,
 * issue 6 part 5): their Communications from the FHIR store, newest first, in the inbox's
 * shape. The inbox handler calls this only for citizens reading their own inbox. */
#include <string.h>

#include "base/ids.h"
#include "base/jsonx.h"
#include "fhir/defs.h"
#include "fhir/search_sql.h"
#include "services/homedoctor/service.h"

struct alert_list {
    json_t *arr;
    int nomem;
};

static int alert_row(const struct store_row *row, void *ctx)
{
    struct alert_list *l = ctx;
    size_t len = 0;
    const char *body = store_row_text(row, FHIR_SQL_COL_BODY, &len);
    struct err e = {0};
    json_t *c = body != NULL ? jsonx_parse(body, len, &e) : NULL;
    if (c == NULL) {
        l->nomem |= e.code == ERR_NOMEM;
        return l->nomem;
    }
    json_t *item = homedoctor_inbox_item(c); /* NULL for another sender's Communication */
    json_decref(c);
    if (item != NULL && json_array_append_new(l->arr, item) != 0)
        l->nomem = 1;
    return l->nomem || json_array_size(l->arr) >= HOMEDOCTOR_INBOX_MAX;
}

int homedoctor_inbox_alerts(struct store *s, const char *subject, struct arena *a, json_t **out,
                            void *ctx, struct err *e)
{
    (void)ctx;
    *out = NULL;
    if (subject == NULL || !ids_valid(subject))
        return err_set(e, ERR_INVALID, "inbox: not a regional ID");
    const char *q = arena_printf(a,
                                 "subject=Patient/%s&identifier=%s%%7C&_sort=-_lastUpdated"
                                 "&_count=%d",
                                 subject, HOMEDOCTOR_FINDING_SYS, HOMEDOCTOR_INBOX_MAX);
    struct fhir_search *srch = arena_zalloc(a, sizeof *srch);
    if (q == NULL || srch == NULL)
        return err_set(e, ERR_NOMEM, "out of memory");
    struct fhir_search_pair *pairs = NULL;
    size_t npairs = 0;
    static const struct fhir_search_defs defs = {fhir_defs_search_params, fhir_defs_search_param,
                                                 NULL};
    struct fhir_search_opts opt = {.defs = &defs, .strict = 1};
    struct fhir_sql sql;
    int rc = fhir_search_pairs_parse(q, strlen(q), a, &pairs, &npairs, e);
    if (rc == 0)
        rc = fhir_search_parse("Communication", pairs, npairs, &opt, a, srch, e);
    if (rc == 0)
        rc = fhir_search_sql_page(srch, a, &sql, e);
    struct alert_list l = {.arr = json_array()};
    if (rc == 0 && l.arr == NULL)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0)
        rc = store_query(s, sql.sql, sql.params, sql.nparams, alert_row, &l, e);
    if (rc == 0 && l.nomem)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc != 0) {
        json_decref(l.arr);
        return rc;
    }
    *out = l.arr;
    return 0;
}

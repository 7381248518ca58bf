/* search_sql.h - the portable SQL (SQLite and PostgreSQL, `?` placeholders) of a parsed FHIR
 * search over fhir_resource and the fhir_ix_* index tables: the page query with keyset paging,
 * the count, and the _include / _revinclude queries. */
#ifndef COS_FHIR_SEARCH_SQL_H
#define COS_FHIR_SEARCH_SQL_H

#include <stddef.h>

#include "base/arena.h"
#include "base/err.h"
#include "fhir/search_parse.h"
#include "store/store.h"

/* A statement and its parameters, all in the arena (text parameters point into it too). */
struct fhir_sql {
    char *sql;
    struct store_value *params;
    size_t nparams;
};

/* Columns of every row the page, include and revinclude queries return; the page query adds
 * the sort keys after them (FHIR_SQL_COL_KEY0 + i for the search's sort key i). */
enum {
    FHIR_SQL_COL_RTYPE,
    FHIR_SQL_COL_ID,
    FHIR_SQL_COL_VERSION,
    FHIR_SQL_COL_UPDATED_MS,
    FHIR_SQL_COL_SUBJECT,
    FHIR_SQL_COL_CATEGORY,
    FHIR_SQL_COL_BODY,
    FHIR_SQL_COL_KEY0,
};

#define FHIR_SQL_INCLUDE_MAX 1000 /* rows one _include or _revinclude query returns at most */

/* The page: the matching current resources of s->rtype (deleted = 0) in the sort order of s
 * (then id), after s->cursor, at most s->count + 1 rows (one more tells that a next page
 * exists: make its cursor from the s->count-th row with fhir_search_sql_cursor()). */
int fhir_search_sql_page(const struct fhir_search *s, struct arena *a, struct fhir_sql *out,
                         struct err *e);

/* SELECT COUNT(*) of the matching resources (the cursor is not applied). */
int fhir_search_sql_count(const struct fhir_search *s, struct arena *a, struct fhir_sql *out,
                          struct err *e);

/* The cursor for the page after row (a row of the page query), for the next link. In a; NULL
 * when out of memory. */
char *fhir_search_sql_cursor(const struct fhir_search *s, const struct store_row *row,
                             struct arena *a);

/* A page's resource, as the include queries need it. */
struct fhir_sql_key {
    const char *rtype, *id;
};

/* _include: the current resources the page's resources (n of them) refer to through the
 * search's _include parameters. ERR_NOTFOUND (no statement) when s has no _include or n is 0. */
int fhir_search_sql_include(const struct fhir_search *s, const struct fhir_sql_key *page, size_t n,
                            struct arena *a, struct fhir_sql *out, struct err *e);

/* _revinclude: the current resources that refer to the page's resources through the search's
 * _revinclude parameters. ERR_NOTFOUND when s has none or n is 0. */
int fhir_search_sql_revinclude(const struct fhir_search *s, const struct fhir_sql_key *page,
                               size_t n, struct arena *a, struct fhir_sql *out, struct err *e);

#endif

/* search_parse.h - a FHIR search request (query string or _search form body) for one resource
 * type, parsed and checked against the search parameter table into typed clauses, result
 * parameters and a validated paging cursor; problems listed per Prefer: handling. */
#ifndef COS_FHIR_SEARCH_PARSE_H
#define COS_FHIR_SEARCH_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "fhir/defs.h"
#include "fhir/index_rows.h"

#define FHIR_SEARCH_PAIRS_MAX      64   /* name=value pairs in one request */
#define FHIR_SEARCH_NAME_MAX       128  /* bytes of a decoded name */
#define FHIR_SEARCH_VALUE_MAX      2048 /* bytes of a decoded value */
#define FHIR_SEARCH_CLAUSES_MAX    32   /* filtering parameters */
#define FHIR_SEARCH_OR_MAX         32   /* comma-separated values of one parameter */
#define FHIR_SEARCH_SORT_MAX       4    /* _sort keys */
#define FHIR_SEARCH_INCLUDES_MAX   8    /* _include and _revinclude, each */
#define FHIR_SEARCH_ELEMENTS_MAX   64   /* _elements names */
#define FHIR_SEARCH_COUNT_DEFAULT  20
#define FHIR_SEARCH_COUNT_MAX      1000
#define FHIR_SEARCH_CURSOR_MAX     4096 /* characters of an encoded cursor */
#define FHIR_SEARCH_CURSOR_KEY_LEN 32   /* bytes of the cursor MAC key */
#define FHIR_SEARCH_CURSOR_PARAM   "_cursor"

struct fhir_search_pair {
    const char *name, *value; /* decoded, NUL-terminated */
};

/* The lookups the parser needs; fhir_defs_search_params / fhir_defs_search_param (defs.h)
 * fit, tests pass tables of their own. has_element (may be NULL: then _elements names are only
 * checked for their syntax) says whether resource has a top-level element name. */
struct fhir_search_defs {
    fhir_search_params_fn params;
    const struct fhir_search_param *(*param)(const char *resource, const char *name);
    int (*has_element)(const char *resource, const char *name);
};

enum fhir_prefix {
    FHIR_PFX_EQ,
    FHIR_PFX_NE,
    FHIR_PFX_LT,
    FHIR_PFX_GT,
    FHIR_PFX_LE,
    FHIR_PFX_GE,
    FHIR_PFX_SA,
    FHIR_PFX_EB,
    FHIR_PFX_AP,
};

enum fhir_modifier {
    FHIR_MOD_NONE,
    FHIR_MOD_MISSING,  /* any type: value true|false */
    FHIR_MOD_EXACT,    /* string */
    FHIR_MOD_CONTAINS, /* string */
    FHIR_MOD_NOT,      /* token */
    FHIR_MOD_TYPE,     /* reference: subject:Patient=123 (clause.type_modifier) */
};

enum fhir_token_system {
    FHIR_SYS_ANY,   /* "code": any system */
    FHIR_SYS_NONE,  /* "|code": no system */
    FHIR_SYS_GIVEN, /* "system|code" or "system|" */
};

/* One comma-separated value, typed by the parameter's type. */
struct fhir_search_value {
    enum fhir_prefix prefix;    /* date, number, quantity (else EQ) */
    int64_t lo_ms, hi_ms;       /* date: the inclusive range the value covers */
    double num, lo, hi;         /* number, quantity: the value and its precision range [lo, hi) */
    enum fhir_token_system sys; /* token; quantity: GIVEN when a system was named */
    const char *system, *code;  /* token: code NULL for "system|"; quantity: unit code or NULL */
    const char *text; /* string: normalised (default, :contains) or as given (:exact); uri;
                       * _id */
    const char *target_type, *target_id, *url; /* reference: type may be NULL ("123" with no
                                                * single target); url for absolute references */
};

enum fhir_search_special { FHIR_SP_NONE, FHIR_SP_ID, FHIR_SP_LASTUPDATED };

/* One filtering parameter: its values are ORed; clauses are ANDed. */
struct fhir_search_clause {
    const char *name;
    const struct fhir_search_param *param; /* NULL for _id and _lastUpdated */
    enum fhir_search_special special;
    enum fhir_param_type type;
    enum fhir_modifier modifier;
    int missing;               /* :missing=true (1) or false (0) */
    const char *type_modifier; /* FHIR_MOD_TYPE: the resource type */
    struct fhir_search_value *values;
    size_t nvalues;
};

struct fhir_search_sort {
    const char *name;
    const struct fhir_search_param *param; /* NULL for _id and _lastUpdated */
    enum fhir_search_special special;
    enum fhir_param_type type;
    int desc;
};

/* _include (source_type is the searched type) or _revinclude. */
struct fhir_search_include {
    const char *source_type;
    const struct fhir_search_param *param; /* a reference parameter of source_type */
    const char *target_type;               /* NULL: any */
};

enum fhir_search_summary {
    FHIR_SUMMARY_FALSE, /* default: whole resources */
    FHIR_SUMMARY_COUNT, /* only the total (also _count=0) */
    FHIR_SUMMARY_TRUE,  /* accepted; how it is rendered is the handler's business */
    FHIR_SUMMARY_TEXT,
    FHIR_SUMMARY_DATA,
};

enum fhir_search_total {
    FHIR_TOTAL_DEFAULT,
    FHIR_TOTAL_NONE,
    FHIR_TOTAL_ESTIMATE,
    FHIR_TOTAL_ACCURATE
};

enum fhir_cursor_key_type { FHIR_CK_INT, FHIR_CK_TEXT, FHIR_CK_REAL };

/* The keyset position after which the next page starts: the sort keys and id of the last row
 * of the previous page. */
struct fhir_search_cursor {
    size_t nkeys; /* == the search's nsorts */
    struct {
        int null; /* the row had no value for this sort key */
        enum fhir_cursor_key_type type;
        int64_t i;
        double d;
        const char *s;
    } keys[FHIR_SEARCH_SORT_MAX];
    const char *id;
};

/* A problem found in the request. In strict handling an error; in lenient handling the
 * parameter was ignored and this says so (severity warning), for an OperationOutcome. */
struct fhir_search_issue {
    int error;               /* 1: the request is refused; 0: a warning, parameter ignored */
    const char *code;        /* issue-type: "not-supported", "invalid", "value", "too-costly" */
    const char *param;       /* the parameter's name as given (bounded, printable), or NULL */
    const char *diagnostics; /* names the parameter; never a long value */
};

struct fhir_search {
    const char *rtype;
    struct fhir_search_clause *clauses;
    size_t nclauses;
    struct fhir_search_sort sorts[FHIR_SEARCH_SORT_MAX];
    size_t nsorts;
    struct fhir_search_include includes[FHIR_SEARCH_INCLUDES_MAX];
    size_t nincludes;
    struct fhir_search_include revincludes[FHIR_SEARCH_INCLUDES_MAX];
    size_t nrevincludes;
    int count; /* page size, 1..FHIR_SEARCH_COUNT_MAX (0 with summary count) */
    enum fhir_search_summary summary;
    const char **elements;
    size_t nelements;
    enum fhir_search_total total;
    struct fhir_search_cursor *cursor; /* NULL on the first page */
    struct fhir_search_issue *issues;
    size_t nissues, issues_cap;
    /* the pairs that were used (not ignored, not the cursor), in request order: the next
     * page's link repeats them */
    struct fhir_search_pair *used;
    size_t nused;
    unsigned char qhash[32]; /* binds a cursor to these pairs */
    const unsigned char *cursor_key;
};

struct fhir_search_opts {
    const struct fhir_search_defs *defs;
    int strict;                      /* Prefer: handling=strict */
    int64_t now_ms;                  /* for the ap prefix on dates */
    const unsigned char *cursor_key; /* FHIR_SEARCH_CURSOR_KEY_LEN bytes, or NULL (then a
                                      * cursor is checked for integrity, not authenticity) */
};

/* Splits a query string or an application/x-www-form-urlencoded body into decoded pairs in a.
 * Names may repeat; empty pieces ("a=1&&b=2") are skipped; a piece without '=' has value "".
 * Bounded by FHIR_SEARCH_PAIRS_MAX, FHIR_SEARCH_NAME_MAX, FHIR_SEARCH_VALUE_MAX. Returns 0,
 * ERR_INVALID (bad escape, not UTF-8, control characters), ERR_TOOBIG or ERR_NOMEM; e names
 * the parameter, never its value. */
int fhir_search_pairs_parse(const char *qs, size_t len, struct arena *a,
                            struct fhir_search_pair **out, size_t *n, struct err *e);

/* Parses the pairs of a search on rtype into out (everything in a). Returns 0 (out->issues may
 * hold warnings: ignored parameters, in lenient handling); ERR_INVALID when the request is
 * refused: with opt->strict, any unknown, unsupported or malformed parameter; always, a cursor
 * that does not validate (issues and e say why, naming the parameter); ERR_NOMEM. */
int fhir_search_parse(const char *rtype, const struct fhir_search_pair *pairs, size_t npairs,
                      const struct fhir_search_opts *opt, struct arena *a, struct fhir_search *out,
                      struct err *e);

/* Encodes c as an opaque cursor for the next page of s (base64url, with a MAC over the cursor
 * and the search's parameters). Returns the text in a, or NULL when out of memory or too big. */
char *fhir_search_cursor_encode(const struct fhir_search *s, const struct fhir_search_cursor *c,
                                struct arena *a);

/* The query string of the next page: the used pairs, percent-encoded, then _cursor=cursor
 * (when cursor is not NULL). In a; NULL when out of memory. */
char *fhir_search_link_query(const struct fhir_search *s, const char *cursor, struct arena *a);

/* Parses a search date value's prefix; returns the number of characters it took (0 or 2). */
size_t fhir_search_prefix(const char *v, enum fhir_prefix *p);

#endif

/* scope.h - OAuth scope strings as SMART App Launch v2 reads them: parsing (clinical, identity,
 * launch and unknown scopes), canonical text, and the checks a token's scopes answer. */
#ifndef COS_ID_SCOPE_H
#define COS_ID_SCOPE_H

#include <stddef.h>

#include "base/err.h"

/* Bounds. Input beyond them is refused with ERR_INVALID, never truncated. */
#define ID_SCOPE_TEXT_MAX      2048 /* bytes of a whole scope string */
#define ID_SCOPE_MAX           64   /* scope tokens in one string (duplicates count) */
#define ID_SCOPE_TYPE_MAX      64   /* bytes of a resource type name */
#define ID_SCOPE_PARAMS_MAX    4    /* search parameters after '?' in one clinical scope */
#define ID_SCOPE_PNAME_MAX     31   /* bytes of a parameter name */
#define ID_SCOPE_PVALUE_MAX    255  /* bytes of a parameter value, after percent-decoding */
#define ID_SCOPE_OTHER_MAX     255  /* bytes of an unrecognised scope token */
#define ID_SCOPE_MSG_TOKEN_MAX 48   /* bytes of a token quoted in an error message */

/* Permissions of a clinical scope (SMART v2 "cruds"). */
#define ID_PERM_C   1u  /* create */
#define ID_PERM_R   2u  /* read, vread, instance history */
#define ID_PERM_U   4u  /* update, patch */
#define ID_PERM_D   8u  /* delete */
#define ID_PERM_S   16u /* search, type and system history */
#define ID_PERM_ALL 31u

/* The v1 permission words and what they mean in v2. */
#define ID_PERM_V1_READ  (ID_PERM_R | ID_PERM_S)             /* .read  => .rs */
#define ID_PERM_V1_WRITE (ID_PERM_C | ID_PERM_U | ID_PERM_D) /* .write => .cud */
#define ID_PERM_V1_ALL   ID_PERM_ALL                         /* .*     => .cruds */

enum id_scope_context {
    ID_SCOPE_PATIENT, /* patient/: data of the patient in context */
    ID_SCOPE_USER,    /* user/: data the signed-in user may see */
    ID_SCOPE_SYSTEM,  /* system/: a back-end client with no user */
};

enum id_scope_kind {
    ID_SCOPE_CLINICAL, /* patient|user|system / Type|* . perms [?params] */
    ID_SCOPE_OPENID,
    ID_SCOPE_PROFILE,
    ID_SCOPE_FHIRUSER,
    ID_SCOPE_LAUNCH,
    ID_SCOPE_LAUNCH_PATIENT,
    ID_SCOPE_LAUNCH_ENCOUNTER,
    ID_SCOPE_OFFLINE_ACCESS,
    ID_SCOPE_ONLINE_ACCESS,
    ID_SCOPE_OTHER, /* any other well-formed token, kept as text (e.g. "cityos.admin") */
};

/* One granular restriction, "name=value" after '?'. The value is percent-decoded; for a token
 * parameter it reads "system|code", "code", "|code" or "system|", and ',' separates
 * alternatives, as in a FHIR search. */
struct id_scope_param {
    char name[ID_SCOPE_PNAME_MAX + 1];   /* e.g. "category", "code:in" */
    char value[ID_SCOPE_PVALUE_MAX + 1]; /* never empty, no control characters, valid UTF-8 */
};

struct id_scope_clinical {
    enum id_scope_context context;
    char resource[ID_SCOPE_TYPE_MAX + 1]; /* [A-Z][A-Za-z]*, or "*" for every type */
    unsigned perms;                       /* ID_PERM_* bits, never 0 */
    int v1; /* 1: written (in part) in the v1 form; perms is then ID_PERM_V1_READ, _WRITE or
             * _ALL */
    size_t nparams;
    struct id_scope_param params[ID_SCOPE_PARAMS_MAX]; /* sorted by name, then value; unique */
};

struct id_scope {
    enum id_scope_kind kind;
    struct id_scope_clinical clinical; /* kind == ID_SCOPE_CLINICAL; zeroed otherwise */
    char text[ID_SCOPE_OTHER_MAX + 1]; /* kind == ID_SCOPE_OTHER: the token; "" otherwise */
};

/* A set of scopes, always in canonical form: clinical scopes that differ only in permissions
 * merged ("patient/X.r patient/X.s" is one scope "patient/X.rs"; v1 when a part was v1 and
 * the union is still a v1 word: "patient/X.read patient/X.r" is "patient/X.read"),
 * clinical scopes whose every permission other scopes already grant dropped ("patient/X.rs"
 * beside the wildcard "*.rs" of the same context), duplicates dropped, items sorted (identity,
 * launch, refresh, then clinical by context, type and parameters, then the others by text). So
 * strings that differ only in these ways parse to sets that compare equal item by item. It is a
 * plain value (about 96 KiB): copy it with memcpy or `=`, zero it for the empty set, keep it in an
 * arena or a long-lived object rather than on a small stack. Sets are made by id_scope_parse() and
 * id_scope_intersect() only. */
struct id_scope_set {
    size_t n;
    struct id_scope items[ID_SCOPE_MAX];
};

/* Parses a space-separated scope string (RFC 6749 section 3.3) into out (caller-owned;
 * overwritten). "" and NULL give the empty set. Recognised: clinical scopes in the v2 form
 * (".cruds" subsets, in that order, with an optional "?name=value&..." restriction) and the v1
 * forms ".read", ".write", ".*"; openid, profile, fhirUser, launch, launch/patient,
 * launch/encounter, offline_access, online_access. Any other well-formed token is kept as
 * ID_SCOPE_OTHER. Returns 0, or ERR_INVALID (out emptied) with e naming the offending token
 * when the string is malformed: empty tokens (double, leading or trailing spaces), characters
 * outside %x21 / %x23-5B / %x5D-7E, a token starting "patient/", "user/" or "system/" that is
 * not a valid clinical scope, or a bound above exceeded. Error messages use only characters an
 * OAuth error_description allows. */
int id_scope_parse(const char *text, struct id_scope_set *out, struct err *e);

/* The same for text[0..len), which need not be NUL-terminated; a NUL byte is malformed. */
int id_scope_parse_n(const char *text, size_t len, struct id_scope_set *out, struct err *e);

/* What one resource instance carries, for granular scopes: a search parameter name and, for a
 * token, its system (NULL or "" for none) and code. Non-token values go in code. */
struct id_scope_fact {
    const char *name;
    const char *system;
    const char *code;
};

/* Does s permit perm (exactly one ID_PERM_* bit) on resource_type where the resource lies in
 * ctx? ctx says where the resource is, not who asks:
 *   ID_SCOPE_PATIENT - in the compartment of the token's patient in context: patient/ and user/
 *                      scopes can grant it (user/ covers what the user may see);
 *   ID_SCOPE_USER    - elsewhere, with a user signed in: only user/ scopes;
 *   ID_SCOPE_SYSTEM  - a back-end client with no user: only system/ scopes.
 * A scope's type matches when equal or "*"; resource_type "*" (a search across types) is
 * matched by "*" scopes only. Scopes restricted by parameters match only an instance whose facts
 * satisfy every parameter (each named parameter has a fact with that name whose token matches
 * one of the value's ',' alternatives); with no facts (a search), they never match here, and
 * the caller who can honour them as search filters walks them with id_scope_next_grant().
 * Scopes grant only what the underlying consent and policy allow; the consent decision still
 * runs. Returns the granting scope (an unrestricted one first), owned by s, or NULL. */
const struct id_scope *id_scope_allows(const struct id_scope_set *s, enum id_scope_context ctx,
                                       const char *resource_type, unsigned perm,
                                       const struct id_scope_fact *facts, size_t nfacts);

/* Walks every scope of s that grants perm on resource_type in ctx (as id_scope_allows), with or
 * without parameters: pass prev = NULL first, then the last answer; NULL at the end. A search is
 * permitted unrestricted when one answer has nparams == 0, else only as the union of the
 * answers' parameter filters. */
const struct id_scope *id_scope_next_grant(const struct id_scope_set *s,
                                           const struct id_scope *prev, enum id_scope_context ctx,
                                           const char *resource_type, unsigned perm);

/* Is there a scope of this kind in s (for kind == ID_SCOPE_OTHER, with exactly this text)?
 * Returns it, owned by s, or NULL. For clinical scopes use id_scope_allows(). */
const struct id_scope *id_scope_find(const struct id_scope_set *s, enum id_scope_kind kind,
                                     const char *other_text);

/* How id_scope_format() writes clinical scopes parsed from v1 forms. */
enum id_scope_form {
    ID_SCOPE_FORM_V2,      /* always ".cruds" letters: ".read" => ".rs" */
    ID_SCOPE_FORM_KEEP_V1, /* v1 scopes stay v1, as the spec asks of a token response
                            * answering a v1 request */
};

/* Writes the canonical text of s into buf[0..size): space-separated, in the set's order,
 * parameter values percent-encoded where needed. Returns 0, or ERR_TOOBIG (buf holds "") when
 * it does not fit. id_scope_parse() of the text gives back a set equal to s (with
 * ID_SCOPE_FORM_V2, equal but for the v1 flags). With ID_SCOPE_FORM_KEEP_V1 the text of a parsed
 * set is never longer than the string it was parsed from; ID_SCOPE_FORM_V2 may add 4 bytes for
 * each ".*". ID_SCOPE_FORMAT_MAX bytes always suffice. */
int id_scope_format(const struct id_scope_set *s, enum id_scope_form form, char *buf, size_t size);
#define ID_SCOPE_FORMAT_MAX                                                                        \
    (ID_SCOPE_MAX * (9 + ID_SCOPE_TYPE_MAX + 6 +                                                   \
                     ID_SCOPE_PARAMS_MAX * (ID_SCOPE_PNAME_MAX + 2 + 3 * ID_SCOPE_PVALUE_MAX)) +   \
     1)

/* Are a and b the same set (item by item, v1 flags included)? */
int id_scope_set_equal(const struct id_scope_set *a, const struct id_scope_set *b);

/* Is every scope of requested covered by allowed (what a client asks for against what it is
 * registered for)? A clinical scope is covered when each of its permissions is granted by some
 * allowed clinical scope of the same context, whose type is equal or "*" and whose parameters
 * are all among the requested scope's own (so it restricts no more). patient/, user/ and
 * system/ never cover each other. Other scopes need the same kind (and text) in allowed.
 * Returns 1, or 0 and, when uncovered is not NULL, the first scope of requested not covered. */
int id_scope_subset(const struct id_scope_set *requested, const struct id_scope_set *allowed,
                    const struct id_scope **uncovered);

/* out = what both a and b grant (e.g. a = requested, b = what the client or user allows): for
 * clinical scopes of the same context, the narrower type, the common permissions and both
 * parameter lists (a pair whose lists together exceed ID_SCOPE_PARAMS_MAX is left out, which
 * only narrows); other scopes present in both. A scope of a written in v1 stays v1 when its
 * permissions survive whole. out (caller-owned, overwritten) must not be a or b. Returns 0, or
 * ERR_TOOBIG (out emptied) when the result would exceed ID_SCOPE_MAX scopes. */
int id_scope_intersect(const struct id_scope_set *a, const struct id_scope_set *b,
                       struct id_scope_set *out, struct err *e);

#endif

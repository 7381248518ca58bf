/* internal.h - what the home doctor's rule files share: building a finding in an arena (basis,
 * numbers, texts) and small numeric helpers. Not part of the public API. */
#ifndef COS_HOMEDOCTOR_INTERNAL_H
#define COS_HOMEDOCTOR_INTERNAL_H

#include "services/homedoctor/homedoctor.h"

/* A finding under construction: the arrays grow in the arena; the first failure sticks and
 * homedoctor__finish() turns it into ERR_NOMEM once. */
struct homedoctor__build {
    struct arena *a;
    struct homedoctor_finding *f;
    size_t cap_basis, cap_numbers;
    bool failed;
};

/* Starts a finding with its rule id, citation and outcome (all static). Returns 0 or
 * ERR_NOMEM. */
int homedoctor__start(struct homedoctor__build *b, struct arena *a, const char *rule_id,
                      const char *citation, const char *outcome, int64_t now_ms);

/* Adds "<kind>/<id>" to the basis (skipped when id is NULL or empty, or already present). */
void homedoctor__basis(struct homedoctor__build *b, const char *kind, const char *id);

/* Adds a number (name and unit static). */
void homedoctor__number(struct homedoctor__build *b, const char *name, double value,
                        const char *unit);

/* Sets the texts from printf formats (into the arena). */
void homedoctor__text_ja(struct homedoctor__build *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void homedoctor__text_en(struct homedoctor__build *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets *out and returns 0, or returns ERR_NOMEM (with e set) when anything failed. */
int homedoctor__finish(struct homedoctor__build *b, struct homedoctor_finding **out, struct err *e);

/* v rounded to 0.1 (half away from zero). */
double homedoctor__round1(double v);

/* Formats a UTC instant as local "MM/DD HH:MM" (Asia/Tokyo) into buf (>= 12 bytes). */
const char *homedoctor__local_hm(int64_t utc_ms, char *buf, size_t size);

#endif

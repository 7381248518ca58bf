/* finding.c - building the explained findings every home-doctor rule returns (rule, citation,
 * basis, numbers, texts in an arena), and the local-day arithmetic (Asia/Tokyo, UTC+9). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "services/homedoctor/internal.h"

int64_t homedoctor_local_day(int64_t utc_ms)
{
    int64_t t = utc_ms + HOMEDOCTOR_TZ_OFFSET_MS;
    int64_t d = t / HOMEDOCTOR_DAY_MS;
    if (t % HOMEDOCTOR_DAY_MS < 0)
        d--; /* floor for instants before 1970 */
    return d;
}

double homedoctor__round1(double v)
{
    return round(v * 10.0) / 10.0;
}

/* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm). */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

const char *homedoctor__local_hm(int64_t utc_ms, char *buf, size_t size)
{
    int64_t day = homedoctor_local_day(utc_ms);
    int64_t in_day = utc_ms + HOMEDOCTOR_TZ_OFFSET_MS - day * HOMEDOCTOR_DAY_MS;
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    int minutes = (int)(in_day / 60000);
    snprintf(buf, size, "%02u/%02u %02d:%02d", m % 100, d % 100, (minutes / 60) % 100,
             minutes % 60);
    return buf;
}

int homedoctor__start(struct homedoctor__build *b, struct arena *a, const char *rule_id,
                      const char *citation, const char *outcome, int64_t now_ms)
{
    memset(b, 0, sizeof *b);
    b->a = a;
    b->f = arena_zalloc(a, sizeof *b->f);
    if (b->f == NULL)
        return ERR_NOMEM;
    b->f->rule_id = rule_id;
    b->f->citation = citation;
    b->f->outcome = outcome;
    b->f->recipients = HOMEDOCTOR_TO_CITIZEN;
    b->f->probability = -1;
    b->f->evaluated_ms = now_ms;
    return 0;
}

void homedoctor__basis(struct homedoctor__build *b, const char *kind, const char *id)
{
    if (b->failed || id == NULL || id[0] == '\0')
        return;
    char *ref = arena_printf(b->a, "%s/%s", kind, id);
    if (ref == NULL) {
        b->failed = true;
        return;
    }
    struct homedoctor_finding *f = b->f;
    for (size_t i = 0; i < f->n_basis; i++)
        if (strcmp(f->basis[i], ref) == 0)
            return;
    const char **items =
        arena_array_reserve(b->a, f->basis, f->n_basis, &b->cap_basis, sizeof *items);
    if (items == NULL) {
        b->failed = true;
        return;
    }
    f->basis = items;
    f->basis[f->n_basis++] = ref;
}

void homedoctor__number(struct homedoctor__build *b, const char *name, double value,
                        const char *unit)
{
    if (b->failed)
        return;
    struct homedoctor_finding *f = b->f;
    struct homedoctor_number *items =
        arena_array_reserve(b->a, f->numbers, f->n_numbers, &b->cap_numbers, sizeof *items);
    if (items == NULL) {
        b->failed = true;
        return;
    }
    f->numbers = items;
    f->numbers[f->n_numbers++] = (struct homedoctor_number){name, value, unit};
}

void homedoctor__text_ja(struct homedoctor__build *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    b->f->text_ja = arena_vprintf(b->a, fmt, ap);
    va_end(ap);
    if (b->f->text_ja == NULL)
        b->failed = true;
}

void homedoctor__text_en(struct homedoctor__build *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    b->f->text_en = arena_vprintf(b->a, fmt, ap);
    va_end(ap);
    if (b->f->text_en == NULL)
        b->failed = true;
}

int homedoctor__finish(struct homedoctor__build *b, struct homedoctor_finding **out, struct err *e)
{
    if (b->failed || b->f->text_ja == NULL || b->f->text_en == NULL) {
        *out = NULL;
        return err_set(e, ERR_NOMEM, "homedoctor: out of memory building a finding");
    }
    *out = b->f;
    return 0;
}

double homedoctor_finding_number(const struct homedoctor_finding *f, const char *name)
{
    for (size_t i = 0; i < f->n_numbers; i++)
        if (strcmp(f->numbers[i].name, name) == 0)
            return f->numbers[i].value;
    return NAN;
}

int homedoctor_bp_reading_check(const struct homedoctor_bp_reading *r, size_t i, struct err *e)
{
    if (r->obs_id == NULL || r->obs_id[0] == '\0')
        return err_set(e, ERR_INVALID, "reading %zu: no Observation id", i);
    if (!(r->systolic >= 40 && r->systolic <= 300))
        return err_set(e, ERR_INVALID, "reading %zu: systolic outside 40..300 mmHg", i);
    if (!(r->diastolic >= 20 && r->diastolic <= 250))
        return err_set(e, ERR_INVALID, "reading %zu: diastolic outside 20..250 mmHg", i);
    if (!(r->systolic > r->diastolic))
        return err_set(e, ERR_INVALID, "reading %zu: systolic not above diastolic", i);
    if (r->device != HOMEDOCTOR_DEVICE_UPPER_ARM && r->device != HOMEDOCTOR_DEVICE_WRIST &&
        r->device != HOMEDOCTOR_DEVICE_UNKNOWN)
        return err_set(e, ERR_INVALID, "reading %zu: unknown device kind", i);
    return 0;
}

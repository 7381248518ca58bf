/* slot.c - Tokyo time for the visits (Asia/Tokyo is UTC+09:00 all year: no daylight saving
 * since 1951), slot arithmetic and the names of modes and specialties. Pure: no store, no clock. */
#include <stdio.h>
#include <string.h>

#include "services/visits/internal.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

int visits_date_parse(const char *s, int64_t *day_ms)
{
    int y, m, d;
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) ||
        !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
        return ERR_INVALID;
    if (y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1)
        return ERR_INVALID;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return ERR_INVALID;
    *day_ms = days_from_civil(y, m, d) * VISITS_DAY_MS - VISITS_TZ_OFFSET_MS;
    return 0;
}

int visits_hm_parse(const char *s, int *minutes)
{
    int h, m;
    if (s == NULL || strlen(s) != 5 || s[2] != ':' || !digits(s, 2, &h) || !digits(s + 3, 2, &m))
        return ERR_INVALID;
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return ERR_INVALID;
    *minutes = h * 60 + m;
    return 0;
}

static void tokyo_fields(int64_t ms, int *y, int *mo, int *d, int *h, int *mi, int *sec)
{
    int64_t local = ms + VISITS_TZ_OFFSET_MS;
    int64_t days = floor_div(local, VISITS_DAY_MS);
    int64_t in_day = (local - days * VISITS_DAY_MS) / 1000;
    civil_from_days(days, y, mo, d);
    *h = (int)(in_day / 3600);
    *mi = (int)(in_day / 60 % 60);
    *sec = (int)(in_day % 60);
}

char *visits_instant_format(int64_t ms, char out[VISITS_INSTANT_LEN])
{
    int y, mo, d, h, mi, sec;
    tokyo_fields(ms, &y, &mo, &d, &h, &mi, &sec);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999; /* outside what an instant can spell: clamped (never stored) */
    /* the fields are in range by construction; "% 100u" lets the compiler see it too */
    snprintf(out, VISITS_INSTANT_LEN, "%04d-%02u-%02uT%02u:%02u:%02u+09:00", y, (unsigned)mo % 100u,
             (unsigned)d % 100u, (unsigned)h % 100u, (unsigned)mi % 100u, (unsigned)sec % 100u);
    return out;
}

char *visits_date_format(int64_t ms, char out[VISITS_DATE_LEN])
{
    int y, mo, d, h, mi, sec;
    tokyo_fields(ms, &y, &mo, &d, &h, &mi, &sec);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    snprintf(out, VISITS_DATE_LEN, "%04d-%02d-%02d", y, mo, d);
    return out;
}

int64_t visits_day_start(int64_t ms)
{
    return floor_div(ms + VISITS_TZ_OFFSET_MS, VISITS_DAY_MS) * VISITS_DAY_MS - VISITS_TZ_OFFSET_MS;
}

int visits_weekday(int64_t ms)
{
    int64_t days = floor_div(ms + VISITS_TZ_OFFSET_MS, VISITS_DAY_MS);
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

int visits_slot_starts(int64_t day_ms, int from_min, int to_min, int step_min, int64_t *starts,
                       size_t cap)
{
    if (from_min < 0 || to_min > 24 * 60 || from_min >= to_min || step_min < 5 || step_min > 240)
        return ERR_INVALID;
    size_t n = 0;
    for (int t = from_min; t + step_min <= to_min; t += step_min) {
        if (n == cap)
            return ERR_INVALID;
        starts[n++] = day_ms + (int64_t)t * VISITS_MIN_MS;
    }
    return n == 0 ? ERR_INVALID : (int)n;
}

int visits_reminder_due(int64_t start_ms, int64_t now_ms)
{
    int64_t from = visits_day_start(start_ms) - VISITS_DAY_MS + 9 * 60 * VISITS_MIN_MS;
    return now_ms >= from && now_ms < start_ms;
}

const char *visits_mode_name(int mode)
{
    switch (mode) {
    case VISITS_IN_PERSON:
        return "in-person";
    case VISITS_ONLINE:
        return "online";
    case VISITS_BOTH:
        return "both";
    default:
        return NULL;
    }
}

int visits_mode_parse(const char *s)
{
    if (s == NULL)
        return 0;
    if (strcmp(s, "in-person") == 0)
        return VISITS_IN_PERSON;
    if (strcmp(s, "online") == 0)
        return VISITS_ONLINE;
    if (strcmp(s, "both") == 0)
        return VISITS_BOTH;
    return 0;
}

int visits_specialty_valid(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > VISITS_SPECIALTY_MAX || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

/* consent_support.c - evidence of agreement for the consent API tests (consent_support.h). */
#include "consent_support.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

char *rfc3339_from_now(long delta)
{
    time_t t = time(NULL) + delta;
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return strdup(buf);
}

char *consent_evidence(const char *hash)
{
    char *shown = rfc3339_from_now(-120), *agreed = rfc3339_from_now(-5);
    char *ev = str_printf("{\"explanation_hash\":\"%s\",\"shown_at\":\"%s\",\"agreed_at\":\"%s\","
                          "\"channel\":\"portal\"}",
                          hash, shown, agreed);
    free(shown);
    free(agreed);
    return ev;
}

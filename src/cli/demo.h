/* demo.h - what the parts of `cityos demo` share: the fixed e-mails of the S1 cast (the town
 * creates them, demo_consent.c finds them again on every run) and the consent seeding. */
#ifndef COS_CLI_DEMO_H
#define COS_CLI_DEMO_H

#include "identity/org.h"

struct arena;
struct config;
struct err;
struct store;

#define DEMO_EMAIL_TARO         "taro.aizu@example.jp"
#define DEMO_EMAIL_DOCTOR       "dr.yamaguchi@minato-clinic.example.jp"
#define DEMO_EMAIL_CARDIOLOGIST "dr.watanabe@tsurugajo-hospital.example.jp"
#define DEMO_EMAIL_HANAKO       "hanako.aizu@example.jp"
#define DEMO_EMAIL_MISAKI       "misaki.sato@example.jp"
#define DEMO_EMAIL_PHARMACIST   "hoshi@minato-pharmacy.example.jp"
#define DEMO_EMAIL_DISPATCHER   "dispatch@aizu-taxi.example.jp"

/* Seeds the consent side of STORY.md S1 (demo_consent.c): the purposes "homedoctor" and
 * "cardio" (version 1, the family clinic and the hospital as recipients) unless a purpose of
 * that code exists, and 会津 太郎's opt-in to each unless he has (or had) a consent for it, each
 * through consent_purpose_publish / consent_write_run (history, change sequence and audit
 * entry on his trail). Without the demo cast (a folder seeded by something else) it says so and
 * seeds nothing. Prints one line of what it did. Returns 0 or an ERR_* code. */
int cli_demo_consent_seed(struct store *s, const struct config *cfg);

/* The organisation of kind where the practitioner with this e-mail holds an active role: its id
 * (in a) into *out. ERR_NOTFOUND (with a message) when nobody has the e-mail or no such role. */
int cli_demo_org_of(struct store *s, struct arena *a, const char *email, enum id_org_kind kind,
                    const char **out, struct err *e);

/* `cityos demo --journey=1` (demo_journey.c): the city's side of the S1 visit journey, so that
 * the persona can walk it in the portal: the "pharmacy" and "mobility" purposes, the welcome
 * currency for every person, and two weeks of slots of the cast's family doctor (online) and
 * cardiologist (in person). His own choices (pharmacy, taxi, mandates) stay his to make.
 * Idempotent. Without the cast it seeds nothing and says so. Returns 0 or an ERR_* code. */
int cli_demo_journey_seed(struct store *s, const struct config *cfg);

#endif

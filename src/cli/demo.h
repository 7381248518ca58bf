/* demo.h - what the parts of `cityos demo` share: the fixed e-mails of the S1 cast (the town
 * creates them, demo_consent.c finds them again on every run) and the consent seeding. */
#ifndef COS_CLI_DEMO_H
#define COS_CLI_DEMO_H

struct config;
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

#endif

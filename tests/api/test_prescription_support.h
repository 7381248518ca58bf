/* test_prescription_support.h - what the e-prescription and taxi API tests share: the demo
 * town with cityos serving it, the S1 cast's tokens, the organisations' ids, the city's
 * purposes published through the admin API, consents granted through the consent API, the
 * inbox, and events appended to the outbox as another service would (harness_db_int()). */
#ifndef CITYOS_API_RX_SUPPORT_H
#define CITYOS_API_RX_SUPPORT_H

#include "harness.h"

struct rx_fixture {
    char *dir;
    struct server *s;
    char app[64];
    char *t_taro, *t_hanako, *t_doctor, *t_cardio, *t_pharmacist, *t_dispatcher;
    char taro[32], hanako[32], clinic[32], hospital[32], pharmacy[32], taxi[32];
};

/* Demo town (10 people, seed 1), cityos with extra_args (may be NULL), tokens, ids. */
struct rx_fixture *rx_fixture_start(const char *const *extra_args);
void rx_fixture_stop(struct rx_fixture *f);

/* One exchange with a bearer token (NULL: none) and a JSON body (NULL: none). */
struct resp rx_call(struct rx_fixture *f, const char *method, const char *path, const char *tok,
                    const char *body);

/* POST /api/v1/admin/purposes: code with categories (JSON array text) for recipients (JSON
 * array text); the explanation hash into hash (65 bytes); returns the version. */
long rx_publish(struct rx_fixture *f, const char *code, const char *cats, const char *recipients,
                char *hash);

/* POST /api/v1/me/consents as tok: organisation org for purpose code (current version and
 * hash), categories, read and write. The consent's id into id (64 bytes). */
void rx_grant(struct rx_fixture *f, const char *tok, const char *code, long version,
              const char *hash, const char *org, const char *cats, char *id);

/* DELETE /api/v1/me/consents/{id} as tok with the evidence of hash. */
void rx_withdraw(struct rx_fixture *f, const char *tok, const char *id, const char *hash);

/* The notices of source in tok's inbox (a new reference to an array, newest first). */
json_t *rx_notices(struct rx_fixture *f, const char *tok, const char *source);

/* Appends an event to the outbox as a committed change would (the worker polls within a
 * second). Returns its seq. */
long rx_event(struct rx_fixture *f, const char *kind, const char *subject, const char *ref,
              const char *payload);

/* Waits (up to 20 s) until consumer has handled every event of kind up to seq. */
void rx_wait_handled(struct rx_fixture *f, const char *consumer, const char *kind, long seq);

/* A COUNT(*) over the database (harness_db_int()). */
long rx_db_count(struct rx_fixture *f, const char *sql);

/* Another pharmacy (or taxi company) with its practitioner, signed in: the token (malloc'ed);
 * the organisation's id into org (32 bytes). kind "pharmacy" or "taxi_company"; role
 * "pharmacist" or "dispatcher". */
char *rx_other_org(struct rx_fixture *f, const char *kind, const char *role, const char *email,
                   char *org);

/* tmpl with its first "%s" replaced by a and its second by b (NULL: left as is): the bad
 * bodies of the tests are data, not format strings. Free the result. */
char *rx_fill(const char *tmpl, const char *a, const char *b);

#endif

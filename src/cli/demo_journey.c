/* demo_journey.c - `cityos demo --journey=1` (demo.h): the city's side of STORY.md S1's visit
 * journey in the demo town. The services seed their own parts (the purposes with their texts,
 * the currency, the slots); this file finds the cast and calls them, and prints what it did. */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/err.h"
#include "base/log.h"
#include "cli/demo.h"
#include "identity/org.h"
#include "identity/person.h"
#include "services/mobility/mobility.h"
#include "services/visits/prescription.h"
#include "services/visits/visits.h"
#include "services/wallet/wallet.h"
#include "store/store.h"

#define JOURNEY_SLOT_DAYS 14

static int person_id(struct store *s, struct arena *a, const char *email, const char **out,
                     struct err *e)
{
    struct id_person p;
    int rc = id_person_find_by_email(s, email, &p, a, e);
    if (rc == ERR_NOTFOUND)
        return err_set(e, ERR_NOTFOUND, "nobody has the e-mail %s", email);
    if (rc == 0 && (*out = arena_strdup(a, p.id)) == NULL)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    return rc;
}

int cli_demo_journey_seed(struct store *s, const struct config *cfg)
{
    struct arena *a = arena_new(64 * 1024);
    if (a == NULL)
        return ERR_NOMEM;
    struct err e = {0};
    const char *doctor = NULL, *cardio = NULL, *clinic = NULL, *hospital = NULL;
    int rc = person_id(s, a, DEMO_EMAIL_DOCTOR, &doctor, &e);
    if (rc == 0)
        rc = person_id(s, a, DEMO_EMAIL_CARDIOLOGIST, &cardio, &e);
    if (rc == 0)
        rc = cli_demo_org_of(s, a, DEMO_EMAIL_DOCTOR, ID_ORG_CLINIC, &clinic, &e);
    if (rc == 0)
        rc = cli_demo_org_of(s, a, DEMO_EMAIL_CARDIOLOGIST, ID_ORG_HOSPITAL, &hospital, &e);
    if (rc == ERR_NOTFOUND) {
        printf("%s: no S1 cast (%s); the visit journey is not seeded\n", cfg->data_dir, e.msg);
        arena_free(a);
        return 0;
    }
    const char **people = NULL;
    size_t npeople = 0;
    if (rc == 0)
        rc = store_query_texts(s, "SELECT id FROM person ORDER BY id", NULL, 0, 0, a, &people,
                               &npeople, &e);
    /* the purposes first: a service's seed publishes its own, with its own texts */
    if (rc == 0)
        rc = visits_rx_demo_seed(s, NULL, clinic, hospital, NULL, &e);
    if (rc == 0)
        rc = mobility_demo_seed(s, NULL, NULL, &e);
    if (rc == 0)
        rc = wallet_demo_seed(s, people, npeople, NULL, NULL, NULL, &e);
    int slots = 0;
    if (rc == 0)
        rc = visits_demo_seed(s, clinic, doctor, hospital, cardio, clock_now_ms(),
                              JOURNEY_SLOT_DAYS, &slots, &e);
    if (rc != 0) {
        log_error("demo: seeding the visit journey failed: %s", e.msg);
        arena_free(a);
        return rc;
    }
    printf(
        "%s: the S1 visit journey's city side is in place: purposes pharmacy and mobility, welcome "
        "currency for %zu people, %d slots over %d days (the family doctor online 09:00-12:00, "
        "the cardiologist in person 13:00-16:00, weekdays); 会津 太郎's pharmacy, taxi and "
        "payment mandates are his to choose in the portal\n",
        cfg->data_dir, npeople, slots, JOURNEY_SLOT_DAYS);
    arena_free(a);
    return 0;
}

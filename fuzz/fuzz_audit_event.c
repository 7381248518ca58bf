/* fuzz_audit_event.c - audit events built from outside text (request ids, addresses, a
 * break-glass reason): the event check never crashes, and for what it accepts the canonical
 * encoding is injective: moving one byte across any field boundary changes the entry hash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 15 /* the event's text members, in audit__event_text order */
#define CAP    (AUDIT_REASON_MAX + 8)

static char field[FIELDS][CAP];

/* Points the event's text members at field[] (empty stays NULL for the optional ones). */
static void build(struct audit_event *ev, int with_empty)
{
    const char **m[FIELDS] = {
        &ev->subject,      &ev->actor_id,   &ev->actor_org,     &ev->actor_role,  &ev->client_id,
        &ev->on_behalf_of, &ev->action,     &ev->resource_type, &ev->resource_id, &ev->category,
        &ev->purpose,      &ev->decided_by, &ev->reason,        &ev->request_id,  &ev->source_addr};
    for (int i = 0; i < FIELDS; i++)
        *m[i] = field[i][0] != '\0' || with_empty ? field[i] : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    struct audit_event ev;
    memset(&ev, 0, sizeof ev);
    ev.actor_kind = (enum audit_actor_kind)(data[0] % 8); /* 0 and 7 are not kinds */
    ev.decision = (enum audit_decision)(data[1] % 4);     /* 0 and 3 are not decisions */
    ev.time_ms = (int64_t)data[2] * 1000 - 1000;          /* -1000 is refused */
    int with_empty = (data[0] >> 3) & 1; /* optional fields as "" rather than NULL */
    data += 3, size -= 3;
    /* fields are separated by 0xFF (never valid UTF-8, so never inside an accepted field) */
    memset(field, 0, sizeof field);
    int f = 0;
    size_t len = 0;
    for (size_t i = 0; i < size && f < FIELDS; i++) {
        if (data[i] == 0xFF) {
            f++, len = 0;
            continue;
        }
        if (len < CAP - 1)
            field[f][len++] = (char)data[i];
    }
    build(&ev, with_empty);
    struct err e;
    if (audit_event_check(&ev, &e) != 0) {
        if (e.code != ERR_INVALID || e.msg[0] == '\0')
            abort();
        return 0;
    }
    unsigned char prev[AUDIT_HASH_LEN] = {0}, h1[AUDIT_HASH_LEN], h2[AUDIT_HASH_LEN];
    if (audit_hash_entry(prev, &ev, 1, h1) != 0)
        abort(); /* an accepted event always fits AUDIT_CANON_MAX */
    /* move the last byte of each non-empty field to the start of the next one */
    for (int i = 0; i + 1 < FIELDS; i++) {
        size_t a = strlen(field[i]), b = strlen(field[i + 1]);
        if (a == 0 || b + 1 >= CAP)
            continue;
        char saved_a[CAP], saved_b[CAP];
        memcpy(saved_a, field[i], a + 1);
        memcpy(saved_b, field[i + 1], b + 1);
        memmove(field[i + 1] + 1, field[i + 1], b + 1);
        field[i + 1][0] = field[i][a - 1];
        field[i][a - 1] = '\0';
        struct audit_event moved = ev;
        build(&moved, 1);
        if (audit_hash_entry(prev, &moved, 1, h2) == 0 && memcmp(h1, h2, AUDIT_HASH_LEN) == 0)
            abort();
        memcpy(field[i], saved_a, a + 1);
        memcpy(field[i + 1], saved_b, b + 1);
    }
    return 0;
}

/* purge.c - bounded deletion of expired tokens, codes and sessions. */
#include "identity/purge.h"

/* Each statement deletes at most ID_PURGE_BATCH rows: the rows are chosen by a subquery with
 * LIMIT (portable: SQLite and PostgreSQL both accept it; DELETE ... LIMIT is SQLite-only). */
static const char *const purges[] = {
    "DELETE FROM access_token WHERE hash IN (SELECT hash FROM access_token "
    "WHERE expires_ms < ? LIMIT 1000)",
    "DELETE FROM auth_code WHERE hash IN (SELECT hash FROM auth_code "
    "WHERE expires_ms < ? LIMIT 1000)",
    "DELETE FROM refresh_token WHERE hash IN (SELECT hash FROM refresh_token "
    "WHERE expires_ms < ? LIMIT 1000)",
    "DELETE FROM web_session WHERE hash IN (SELECT hash FROM web_session "
    "WHERE expires_ms < ? OR ended_ms < ? LIMIT 1000)",
};

_Static_assert(ID_PURGE_BATCH == 1000, "the statements above spell the batch size");

int id_purge_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct id_purge *p = ctx;
    int64_t cutoff = p->now_ms - ID_PURGE_GRACE_MS;
    struct store_value v[] = {STORE_INT_V(cutoff), STORE_INT_V(cutoff)};
    p->removed = 0;
    for (size_t i = 0; i < sizeof purges / sizeof purges[0]; i++) {
        int rc = store_tx_exec(tx, purges[i], v, i == 3 ? 2 : 1, e);
        if (rc < 0)
            return rc;
        p->removed += rc;
    }
    return 0;
}

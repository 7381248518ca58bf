/* purge.h - removes what the regional ID no longer needs: access tokens, codes and refresh
 * tokens past their expiry, and ended or expired browser sessions, in bounded batches so that
 * one purge never holds the writer for long. Grants stay (they are the record of approvals). */
#ifndef COS_ID_PURGE_H
#define COS_ID_PURGE_H

#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define ID_PURGE_BATCH    1000                 /* rows per table per run */
#define ID_PURGE_GRACE_MS (24LL * 3600 * 1000) /* kept a day past expiry, for investigations */

struct id_purge {
    int64_t now_ms;
    int64_t removed; /* OUT: rows removed by this run */
};

/* A store_write_fn: deletes up to ID_PURGE_BATCH rows of each table that expired (or, for
 * sessions, ended) more than ID_PURGE_GRACE_MS before now_ms. A used refresh token stays until
 * it expires, so that its replay is still recognised and revokes the grant. */
int id_purge_fn(struct store_tx *tx, void *ctx, struct err *e);

#endif

/* ticker.h - the background duties of `cityos serve`, on one thread: polling consent changes
 * every second, purging expired tokens, codes and sessions every minute, and signing an audit
 * checkpoint at the configured interval when the trail has moved. Stopping wakes the thread at
 * once. */
#ifndef COS_CLI_TICKER_H
#define COS_CLI_TICKER_H

#include <stdint.h>

struct store;
struct ticker;

#define TICKER_PURGE_EVERY_MS (60LL * 1000)
#define TICKER_POLL_EVERY_MS  1000 /* consent changes made by other processes */

/* Starts the thread. checkpoint_every_ms 0 disables checkpoints. Returns NULL on failure
 * (logged). */
struct ticker *ticker_start(struct store *s, int64_t checkpoint_every_ms);

/* Stops and joins the thread; runs one last checkpoint when the trail moved. NULL is fine. */
void ticker_stop(struct ticker *t);

#endif

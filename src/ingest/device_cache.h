/* device_cache.h - the active devices the ingest has met, kept in memory so that a device
 * message needs no store read for its device (docs/internals/ingest.md, "The device cache").
 *
 * A device's citizen, kind and FHIR Device never change after registration; the only change is
 * its revocation, which the cache cannot see (another process may make it). So a cached device
 * is used for everything but the last word on revocation: the reading's own write checks that
 * the device is still active in the same transaction (ingest_store.c), and a device found
 * revoked there is dropped with ingest_device_forget(). Unknown, unbound and revoked devices are
 * never cached. Thread-safe. */
#ifndef CITYOS_INGEST_DEVICE_CACHE_H
#define CITYOS_INGEST_DEVICE_CACHE_H

#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "identity/device.h"
#include "store/store.h"

/* As id_device_find(s, device_id, out, a, e), from the cache when the device is there (its
 * strings then copied into a); an active device read from the store is cached. */
int ingest_device_get(struct store *s, const char *device_id, struct id_device *out,
                      struct arena *a, struct err *e);

/* Drops device_id (it was found revoked or gone): its next message reads the store again. */
void ingest_device_forget(const char *device_id);

/* Drops every entry and zeroes the counters (the ingest stopped; tests). */
void ingest_device_cache_clear(void);

struct ingest_device_cache_stats {
    uint64_t hits, misses;
    size_t entries;
};
void ingest_device_cache_stats(struct ingest_device_cache_stats *out);

#endif

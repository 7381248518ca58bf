/* histogram.h - a fixed-bucket histogram safe to update from many threads without locks, shaped
 * for Prometheus (cumulative buckets, a sum and a count). */
#ifndef COS_HISTOGRAM_H
#define COS_HISTOGRAM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HISTOGRAM_MAX_BUCKETS 16

struct histogram {
    const double *bounds; /* upper bounds, ascending, not owned (static tables) */
    size_t nbounds;       /* <= HISTOGRAM_MAX_BUCKETS */
    _Atomic uint64_t counts[HISTOGRAM_MAX_BUCKETS + 1]; /* last one is +Inf */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_micro; /* sum of observations times 1e6, to stay an integer */
};

/* Prepares h with the given bounds (static storage; at most HISTOGRAM_MAX_BUCKETS). */
void histogram_init(struct histogram *h, const double *bounds, size_t nbounds);

/* Adds one observation. Thread-safe. */
void histogram_observe(struct histogram *h, double value);

/* Latency buckets in seconds, and batch-size buckets, shared by the server and the store. */
extern const double histogram_latency_bounds[];
extern const size_t histogram_latency_nbounds;
extern const double histogram_batch_bounds[];
extern const size_t histogram_batch_nbounds;

#endif

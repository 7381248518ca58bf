/* histogram.c - lock-free fixed-bucket histograms and the bucket tables cityos uses. */
#include "base/histogram.h"

#include <math.h>

const double histogram_latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                           0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
const size_t histogram_latency_nbounds =
    sizeof histogram_latency_bounds / sizeof histogram_latency_bounds[0];
const double histogram_batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
const size_t histogram_batch_nbounds =
    sizeof histogram_batch_bounds / sizeof histogram_batch_bounds[0];

void histogram_init(struct histogram *h, const double *bounds, size_t nbounds)
{
    if (nbounds > HISTOGRAM_MAX_BUCKETS)
        nbounds = HISTOGRAM_MAX_BUCKETS;
    h->bounds = bounds;
    h->nbounds = nbounds;
    for (size_t i = 0; i <= HISTOGRAM_MAX_BUCKETS; i++)
        atomic_init(&h->counts[i], 0);
    atomic_init(&h->count, 0);
    atomic_init(&h->sum_micro, 0);
}

void histogram_observe(struct histogram *h, double value)
{
    size_t i = 0;
    while (i < h->nbounds && value > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    if (value > 0 && isfinite(value))
        atomic_fetch_add_explicit(&h->sum_micro, (uint64_t)llround(value * 1e6),
                                  memory_order_relaxed);
}

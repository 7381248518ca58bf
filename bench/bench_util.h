/* bench_util.h - what the in-process benchmarks share: medians of repeated runs and removing a
 * benchmark's temporary data folder. */
#ifndef COS_BENCH_UTIL_H
#define COS_BENCH_UTIL_H

#include <stddef.h>

/* qsort comparator for doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);

/* The median of v[0..n) (n > 0); sorts v in place. */
double bench_median(double *v, size_t n);

/* Removes the files of data (one level), then data and base. */
void bench_rm_data(const char *base, const char *data);

#endif

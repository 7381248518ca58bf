/* bench_util.c - medians and temporary folders for the benchmarks. */
#include "bench_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_rm_data(const char *base, const char *data)
{
    DIR *d = opendir(data);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        char path[640];
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", data, de->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(data);
    rmdir(base);
}

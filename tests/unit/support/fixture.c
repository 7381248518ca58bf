/* fixture.c - the unit tests' shared fixture: a fresh store in its own temporary folder per
 * test, an arena, and a row counter; removed again after the test. */
#include "support/fixture.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static void rm_tree_at(const char *path, int depth)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode) && depth < 8) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            char sub[512];
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            rm_tree_at(sub, depth + 1);
        }
        if (d != NULL)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

int fx_setup_in(void **state, const char *name)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->base, sizeof f->base, "/tmp/cityos-%.20s-XXXXXX", name);
    if (mkdtemp(f->base) == NULL)
        return -1;
    snprintf(f->data, sizeof f->data, "%s/data", f->base);
    struct store_options o = {.data_dir = f->data};
    struct err e = {0};
    if (store_open(&f->s, &o, &e) != 0 || (f->a = arena_new(0)) == NULL) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

int fx_teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    arena_free(f->a);
    rm_tree_at(f->base, 0);
    free(f);
    return 0;
}

static int count_row(const struct store_row *r, void *ctx)
{
    *(int64_t *)ctx = store_row_int(r, 0);
    return 1;
}

int64_t fx_count(struct fx *f, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(store_query(f->s, sql, NULL, 0, count_row, &n, NULL), 0);
    return n;
}

void fx_rm_tree(const char *path)
{
    rm_tree_at(path, 0);
}

/* fixture.h - a fresh store in a temporary folder per test (cmocka setup/teardown), shared by
 * the unit tests of modules that keep records in the store. */
#ifndef COS_TEST_FIXTURE_H
#define COS_TEST_FIXTURE_H

#include <stdint.h>

#include "base/arena.h"
#include "store/store.h"

struct fx {
    char base[64], data[128]; /* /tmp/cityos-<name>-XXXXXX and its data/ folder */
    struct store *s;
    struct arena *a;
};

/* Makes the folder, opens the store and an arena, and sets *state to a new struct fx. Returns
 * 0 or -1 (cmocka then fails the test). name labels the folder. */
int fx_setup_in(void **state, const char *name);

/* Closes the store, frees the arena, removes the folder and the struct. */
int fx_teardown(void **state);

/* Removes path and everything under it (up to 8 levels: our folders are shallow). */
void fx_rm_tree(const char *path);

/* The single integer a query such as "SELECT COUNT(*) FROM person" returns. */
int64_t fx_count(struct fx *f, const char *sql);

#endif

/* test_audit.c - the data tracker: canonical encoding and hashes, the event check, append and
 * the citizen's view, the same-transaction and asynchronous records, chains stable across a
 * reopen, checkpoints, and verification of untouched and tampered copies of a data folder. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
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
#include <sodium.h>

#include "audit/audit.h"
#include "audit/hash.h"
#include "base/arena.h"
#include "identity/jose.h"
#include "identity/keys.h"
#include "support/fixture.h"

#define T0 1796083200000LL /* a fixed time (ms) */

static struct audit_event base_event(const char *subject, int i)
{
    static const char *const cats[] = {"vitals", "medications", "location"};
    return (struct audit_event){
        .time_ms = T0 + i * 1000,
        .actor_kind = i % 2 ? AUDIT_ACTOR_PRACTITIONER : AUDIT_ACTOR_CLIENT,
        .actor_id = i % 2 ? "dr-sato" : "app-health",
        .actor_org = i % 2 ? "org-clinic" : NULL,
        .actor_role = i % 2 ? "doctor" : NULL,
        .client_id = "app-health",
        .on_behalf_of = NULL,
        .subject = subject,
        .action = i % 3 == 0 ? "read" : "search",
        .resource_type = "Observation",
        .resource_id = "obs-1",
        .category = cats[i % 3],
        .purpose = "homedoctor@1",
        .decision = i % 4 == 3 ? AUDIT_DENY : AUDIT_PERMIT,
        .decided_by = i % 4 == 3 ? "default-deny" : "consent-42",
        .reason = "会津 reason",
        .request_id = "req-1",
        .source_addr = "192.0.2.7",
    };
}

static int setup(void **state)
{
    if (sodium_init() < 0)
        return -1;
    return fx_setup_in(state, "audit");
}

static void record(struct store *s, const struct audit_event *ev)
{
    struct err e = {0};
    int rc = store_write(s, audit_record_fn, (void *)ev, &e);
    if (rc != 0)
        fail_msg("record: %s", e.msg);
}

/* ---- canonical encoding and hashes ---- */

static void canonical_encoding_has_no_ambiguous_boundaries(void **state)
{
    (void)state;
    unsigned char a[AUDIT_CANON_MAX], b[AUDIT_CANON_MAX];
    struct audit_event x = base_event("p-1", 1), y = x;
    x.actor_id = "ab";
    x.actor_org = "c";
    y.actor_id = "a";
    y.actor_org = "bc";
    size_t na = audit_hash_canon_entry(&x, 1, a, sizeof a);
    size_t nb = audit_hash_canon_entry(&y, 1, b, sizeof b);
    assert_true(na > 0 && na == nb);
    assert_memory_not_equal(a, b, na);

    /* an absent field and a text field holding what its tag would be differ */
    y = x;
    x.on_behalf_of = NULL;
    y.on_behalf_of = "\x01";
    na = audit_hash_canon_entry(&x, 1, a, sizeof a);
    nb = audit_hash_canon_entry(&y, 1, b, sizeof b);
    assert_true(na != nb || memcmp(a, b, na) != 0);

    /* "" is absent: stored as NULL, hashed the same */
    y = x;
    y.on_behalf_of = "";
    nb = audit_hash_canon_entry(&y, 1, b, sizeof b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);

    /* seq and time are fixed-width big-endian */
    x = base_event("p-1", 1);
    na = audit_hash_canon_entry(&x, 0x0102030405060708LL, a, sizeof a);
    static const unsigned char tag[] = "\x01\x00\x00\x00\x15"
                                       "cityos.audit.entry.v1"
                                       "\x01\x00\x00\x00\x03"
                                       "p-1"
                                       "\x02\x01\x02\x03\x04\x05\x06\x07\x08";
    assert_memory_equal(a, tag, sizeof tag - 1);

    /* moving text between two neighbouring fields changes the hash */
    unsigned char prev[AUDIT_HASH_LEN] = {0}, h1[AUDIT_HASH_LEN], h2[AUDIT_HASH_LEN];
    x = base_event("p-1", 1);
    y = x;
    x.request_id = "r1";
    x.source_addr = "2";
    y.request_id = "r";
    y.source_addr = "12";
    assert_int_equal(audit_hash_entry(prev, &x, 1, h1), 0);
    assert_int_equal(audit_hash_entry(prev, &y, 1, h2), 0);
    assert_memory_not_equal(h1, h2, AUDIT_HASH_LEN);

    /* a buffer too small gives 0, not a partial encoding */
    assert_int_equal(audit_hash_canon_entry(&x, 1, a, 10), 0);
}

static void hashes_are_domain_separated(void **state)
{
    (void)state;
    unsigned char g1[AUDIT_HASH_LEN], g2[AUDIT_HASH_LEN], l[AUDIT_HASH_LEN], r[AUDIT_HASH_LEN];
    audit_hash_genesis("p-1", g1);
    audit_hash_genesis("p-2", g2);
    assert_memory_not_equal(g1, g2, AUDIT_HASH_LEN);
    /* the genesis is H(0x02 || canon(tag) || canon(subject)) */
    unsigned char msg[128], want[AUDIT_HASH_LEN];
    size_t n = 0;
    msg[n++] = 0x02;
    memcpy(msg + n,
           "\x01\x00\x00\x00\x17"
           "cityos.audit.genesis.v1",
           28);
    n += 28;
    memcpy(msg + n, "\x01\x00\x00\x00\x03p-1", 8);
    n += 8;
    crypto_hash_sha256(want, msg, n);
    assert_memory_equal(g1, want, AUDIT_HASH_LEN);

    /* RFC 6962 tree shapes: {} -> H(""), {a} -> a, {a,b,c} -> N(N(a,b),c) */
    unsigned char leaves[3][AUDIT_HASH_LEN], root[AUDIT_HASH_LEN], node_in[65], ab[32], abc[32];
    audit_hash_root(NULL, 0, root);
    crypto_hash_sha256(want, (const unsigned char *)"", 0);
    assert_memory_equal(root, want, 32);
    audit_hash_leaf("a", 1, g1, leaves[0]);
    audit_hash_leaf("b", 1, g1, leaves[1]);
    audit_hash_leaf("c", 2, g2, leaves[2]);
    audit_hash_root((const unsigned char(*)[AUDIT_HASH_LEN])leaves, 1, root);
    assert_memory_equal(root, leaves[0], 32);
    node_in[0] = 0x01;
    memcpy(node_in + 1, leaves[0], 32);
    memcpy(node_in + 33, leaves[1], 32);
    crypto_hash_sha256(ab, node_in, 65);
    memcpy(node_in + 1, ab, 32);
    memcpy(node_in + 33, leaves[2], 32);
    crypto_hash_sha256(abc, node_in, 65);
    audit_hash_root((const unsigned char(*)[AUDIT_HASH_LEN])leaves, 3, root);
    assert_memory_equal(root, abc, 32);
    /* a leaf is not the hash of the same head under another seq or subject */
    audit_hash_leaf("a", 2, g1, l);
    audit_hash_leaf("b", 1, g1, r);
    assert_memory_not_equal(l, leaves[0], 32);
    assert_memory_not_equal(r, leaves[0], 32);

    char hex[AUDIT_HEX_LEN + 1];
    audit_hash_to_hex(g1, hex);
    assert_int_equal(audit_hash_from_hex(hex, l), 0);
    assert_memory_equal(l, g1, 32);
    hex[3] = 'A';
    assert_int_equal(audit_hash_from_hex(hex, l), ERR_INVALID);
    assert_int_equal(audit_hash_from_hex("abc", l), ERR_INVALID);
}

static void events_are_checked(void **state)
{
    (void)state;
    struct err e = {0};
    struct audit_event ev = base_event("p-1", 1);
    assert_int_equal(audit_event_check(&ev, &e), 0);
    struct audit_event bad = ev;
    bad.subject = NULL;
    assert_int_equal(audit_event_check(&bad, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "subject"));
    bad = ev;
    bad.actor_kind = (enum audit_actor_kind)99;
    assert_int_equal(audit_event_check(&bad, &e), ERR_INVALID);
    bad = ev;
    bad.decision = AUDIT_DECISION_ANY;
    assert_int_equal(audit_event_check(&bad, &e), ERR_INVALID);
    bad = ev;
    bad.action = "Read";
    assert_int_equal(audit_event_check(&bad, &e), ERR_INVALID);
    bad = ev;
    bad.action = "read everything";
    assert_int_equal(audit_event_check(&bad, &e), ERR_INVALID);
    bad = ev;
    bad.actor_org = "\xff\xfe";
    assert_int_equal(audit_event_check(&bad, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "actor_org"));
    char lng[AUDIT_REASON_MAX + 2];
    memset(lng, 'x', sizeof lng - 1);
    lng[sizeof lng - 1] = '\0';
    bad = ev;
    bad.reason = lng;
    assert_int_equal(audit_event_check(&bad, &e), ERR_INVALID);
    lng[AUDIT_REASON_MAX] = '\0';
    assert_int_equal(audit_event_check(&bad, &e), 0); /* exactly the limit */
    bad = ev;
    bad.resource_id = lng;
    assert_int_equal(audit_event_check(&bad, &e), ERR_INVALID);
    bad = ev;
    bad.time_ms = -1;
    assert_int_equal(audit_event_check(&bad, &e), ERR_INVALID);
    assert_int_equal(audit_event_check(NULL, &e), ERR_INVALID);
    assert_int_equal(audit_actor_kind_parse("device"), AUDIT_ACTOR_DEVICE);
    assert_int_equal(audit_actor_kind_parse("nobody"), AUDIT_ACTOR_NONE);
    assert_string_equal(audit_decision_name(AUDIT_DENY), "deny");
}

/* ---- append and the citizen's view ---- */

static void append_and_list(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 7; i++) {
        struct audit_event ev = base_event("p-1", i);
        record(f->s, &ev);
    }
    struct audit_event other = base_event("p-2", 0);
    record(f->s, &other);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry"), 8);
    assert_int_equal(fx_count(f, "SELECT seq FROM audit_head WHERE subject = 'p-1'"), 7);

    struct audit_page p;
    struct err e = {0};
    assert_int_equal(audit_list_for_subject(f->s, "p-1", NULL, 3, f->a, &p, &e), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.items[0].seq, 7);
    assert_int_equal(p.items[2].seq, 5);
    assert_int_equal(p.next_before_seq, 5);
    const struct audit_event *ev = &p.items[0].ev;
    assert_string_equal(ev->subject, "p-1");
    assert_int_equal(ev->time_ms, T0 + 6000);
    assert_int_equal(ev->actor_kind, AUDIT_ACTOR_CLIENT);
    assert_null(ev->actor_org);
    assert_string_equal(ev->reason, "会津 reason");
    assert_string_equal(ev->category, "vitals");
    assert_int_equal(strlen(p.items[0].entry_hash), AUDIT_HEX_LEN);
    assert_string_equal(p.items[0].prev_hash, p.items[1].entry_hash); /* the chain */

    struct audit_filter fl = {.before_seq = p.next_before_seq};
    assert_int_equal(audit_list_for_subject(f->s, "p-1", &fl, 3, f->a, &p, &e), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.items[0].seq, 4);
    fl.before_seq = p.next_before_seq;
    assert_int_equal(audit_list_for_subject(f->s, "p-1", &fl, 3, f->a, &p, &e), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.items[0].seq, 1);
    assert_int_equal(p.next_before_seq, 0);
    /* an exact page has no next cursor */
    assert_int_equal(audit_list_for_subject(f->s, "p-2", NULL, 1, f->a, &p, &e), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.next_before_seq, 0);

    /* filters: decision, category, organisation, actor, period */
    fl = (struct audit_filter){.decision = AUDIT_DENY};
    assert_int_equal(audit_list_for_subject(f->s, "p-1", &fl, 50, f->a, &p, &e), 0);
    assert_int_equal(p.n, 1); /* i = 3 */
    assert_int_equal(p.items[0].seq, 4);
    assert_int_equal(p.items[0].ev.decision, AUDIT_DENY);
    fl = (struct audit_filter){.category = "medications"};
    assert_int_equal(audit_list_for_subject(f->s, "p-1", &fl, 50, f->a, &p, &e), 0);
    assert_int_equal(p.n, 2); /* i = 1, 4 */
    fl = (struct audit_filter){.actor_org = "org-clinic"};
    assert_int_equal(audit_list_for_subject(f->s, "p-1", &fl, 50, f->a, &p, &e), 0);
    assert_int_equal(p.n, 3); /* i = 1, 3, 5 */
    fl = (struct audit_filter){.actor_id = "app-health", .decision = AUDIT_PERMIT};
    assert_int_equal(audit_list_for_subject(f->s, "p-1", &fl, 50, f->a, &p, &e), 0);
    assert_int_equal(p.n, 4); /* i = 0, 2, 4, 6 */
    fl = (struct audit_filter){.from_ms = T0 + 2000, .until_ms = T0 + 4000};
    assert_int_equal(audit_list_for_subject(f->s, "p-1", &fl, 50, f->a, &p, &e), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.items[0].ev.time_ms, T0 + 3000);
    assert_int_equal(audit_list_for_subject(f->s, "nobody", NULL, 50, f->a, &p, &e), 0);
    assert_int_equal(p.n, 0);

    /* refusals */
    assert_int_equal(audit_list_for_subject(f->s, "p-1", NULL, 0, f->a, &p, &e), ERR_INVALID);
    assert_int_equal(audit_list_for_subject(f->s, "p-1", NULL, AUDIT_PAGE_MAX + 1, f->a, &p, &e),
                     ERR_INVALID);
    assert_int_equal(audit_list_for_subject(f->s, "", NULL, 5, f->a, &p, &e), ERR_INVALID);
    fl = (struct audit_filter){.before_seq = -1};
    assert_int_equal(audit_list_for_subject(f->s, "p-1", &fl, 5, f->a, &p, &e), ERR_INVALID);

    /* a bad event stores nothing */
    struct audit_event bad = base_event("p-1", 0);
    bad.action = "DROP";
    assert_int_equal(store_write(f->s, audit_record_fn, &bad, &e), ERR_INVALID);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry"), 8);
}

/* A data change and its audit record: both commit, or neither. */
struct change {
    const char *id;
    int fail_after;
    struct audit_appended got;
};

static int change_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct change *c = ctx;
    struct store_value v[3] = {STORE_TEXT_V(c->id), STORE_INT_V(T0), STORE_TEXT_V("{}")};
    int rc = store_tx_exec(tx,
                           "INSERT INTO notice (id, created_ms, category, doc) "
                           "VALUES (?, ?, 'health', ?)",
                           v, 3, e);
    if (rc < 0)
        return rc;
    struct audit_event ev = base_event("p-9", 0);
    ev.action = "create";
    ev.resource_id = c->id;
    if ((rc = audit_append(tx, &ev, &c->got, e)) != 0)
        return rc;
    return c->fail_after ? err_set(e, ERR_CONFLICT, "on purpose") : 0;
}

static void write_and_record_share_a_transaction(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    struct change ok = {"n-1", 0, {0}}, bad = {"n-2", 1, {0}};
    assert_int_equal(store_write(f->s, change_fn, &ok, &e), 0);
    assert_int_equal(ok.got.seq, 1);
    assert_int_equal(ok.got.time_ms, T0);
    assert_int_equal(store_write(f->s, change_fn, &bad, &e), ERR_CONFLICT);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM notice"), 1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry"), 1);
    assert_int_equal(fx_count(f, "SELECT seq FROM audit_head WHERE subject = 'p-9'"), 1);
    /* the next record continues from the committed head */
    struct change again = {"n-3", 0, {0}};
    assert_int_equal(store_write(f->s, change_fn, &again, &e), 0);
    assert_int_equal(again.got.seq, 2);
}

/* ---- asynchronous records ---- */

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, failed;
};

static void async_done(int status, const struct err *e, void *ctx)
{
    (void)e;
    struct waiter *w = ctx;
    pthread_mutex_lock(&w->mu);
    w->done++;
    if (status != 0)
        w->failed++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void async_records_all_commit(void **state)
{
    struct fx *f = *state;
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    struct err e = {0};
    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        char subject[16], rid[16];
        snprintf(subject, sizeof subject, "p-%d", i % 7);
        snprintf(rid, sizeof rid, "r-%d", i);
        struct audit_event ev = base_event(subject, i);
        ev.request_id = rid; /* copied: the buffer is reused at once */
        ev.time_ms = 0;      /* stamped at the call */
        assert_int_equal(audit_record_async(f->s, &ev, async_done, &w, &e), 0);
    }
    struct audit_event bad = base_event("p-1", 0);
    bad.subject = "";
    assert_int_equal(audit_record_async(f->s, &bad, async_done, &w, &e), ERR_INVALID);
    pthread_mutex_lock(&w.mu);
    while (w.done < N)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    assert_int_equal(w.failed, 0);
    assert_int_equal(w.done, N); /* the refused one never calls done */
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry"), N);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry WHERE time_ms < 1000"), 0);

    /* a search over three subjects: three records in one write, or none */
    struct audit_event many[3] = {base_event("p-x", 0), base_event("p-y", 0), base_event("p-z", 0)};
    many[1].subject = "";
    assert_int_equal(audit_record_many_async(f->s, many, 3, async_done, &w, &e), ERR_INVALID);
    assert_int_equal(audit_record_many_async(f->s, many, 0, async_done, &w, &e), ERR_INVALID);
    many[1].subject = "p-y";
    assert_int_equal(audit_record_many_async(f->s, many, 3, async_done, &w, &e), 0);
    pthread_mutex_lock(&w.mu);
    while (w.done < N + 1)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    assert_int_equal(w.failed, 0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry WHERE subject IN "
                                 "('p-x', 'p-y', 'p-z')"),
                     3);
    /* every copied request id, plus the search's shared one */
    assert_int_equal(fx_count(f, "SELECT COUNT(DISTINCT request_id) FROM audit_entry"), N + 1);
    struct audit_verify_report r;
    assert_int_equal(audit_verify(f->s, NULL, &r, &e), 0);
    assert_true(r.ok);
    assert_int_equal(r.entries, N + 3);
    assert_int_equal(r.chains, 10);
}

/* Holds the writer until opened (at most 20 s), so records queue up behind it. */
struct gate {
    atomic_int entered, open;
};

static int gate_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    (void)tx;
    (void)e;
    struct gate *g = ctx;
    atomic_store(&g->entered, 1);
    for (int i = 0; i < 20000 && !atomic_load(&g->open); i++)
        usleep(1000);
    return 0;
}

static int noop_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    (void)tx;
    (void)ctx;
    (void)e;
    return 0;
}

static void back_pressure_is_reported_not_dropped(void **state)
{
    struct fx *f = *state;
    struct gate g = {0};
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    struct err e = {0};
    assert_int_equal(store_write_async(f->s, gate_fn, &g, NULL, NULL), 0);
    for (int i = 0; i < 20000 && !atomic_load(&g.entered); i++)
        usleep(1000);
    assert_true(atomic_load(&g.entered));
    /* the store queues 100,000 writes: fill it with empty ones and one record, then one record
     * more is refused and its done never runs */
    for (int i = 0; i < 99999; i++)
        assert_int_equal(store_write_async(f->s, noop_fn, NULL, NULL, NULL), 0);
    struct audit_event ev = base_event("p-1", 0);
    assert_int_equal(audit_record_async(f->s, &ev, async_done, &w, &e), 0);
    ev.resource_id = "refused";
    assert_int_equal(audit_record_async(f->s, &ev, async_done, &w, &e), ERR_UNAVAILABLE);
    assert_non_null(strstr(e.msg, "not recorded"));
    atomic_store(&g.open, 1);
    pthread_mutex_lock(&w.mu);
    while (w.done < 1)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    assert_int_equal(w.failed, 0);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry"), 1);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry WHERE resource_id = 'obs-1'"),
                     1);
    usleep(100 * 1000);
    assert_int_equal(w.done, 1); /* the refused record's done was never called */
}

/* ---- a trail on disk: reopen, checkpoints, tampering ---- */

static struct id_keys keys;   /* the "server" key */
static struct id_keys stolen; /* another key, unknown to the verifier */

static int trail_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    memset(&keys, 0, sizeof keys);
    memset(&stolen, 0, sizeof stolen);
    if (id_jose_key_generate(&keys.keys[0], T0) != 0 ||
        id_jose_key_generate(&stolen.keys[0], T0) != 0)
        return -1;
    keys.n = stolen.n = 1;
    return 0;
}

static int trail_teardown(void **state)
{
    (void)state;
    id_keys_release(&keys);
    id_keys_release(&stolen);
    return 0;
}

static struct store *open_at(const char *dir)
{
    struct store *s = NULL;
    struct store_options o = {.data_dir = dir};
    struct err e = {0};
    if (store_open(&s, &o, &e) != 0)
        fail_msg("open %s: %s", dir, e.msg);
    return s;
}

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(in >= 0 && out >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

/* Copies every file of the data folder src into a new folder dst. */
static void copy_dir(const char *src, const char *dst)
{
    assert_int_equal(mkdir(dst, 0750), 0);
    DIR *d = opendir(src);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/%s", src, de->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, de->d_name);
        copy_file(a, b);
    }
    closedir(d);
}

/* Runs each ';'-separated statement of ctx. */
static int sql_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", (const char *)ctx);
    for (char *p = buf, *end; p != NULL && *p != '\0'; p = end) {
        end = strchr(p, ';');
        if (end != NULL)
            *end++ = '\0';
        int rc = store_tx_exec(tx, p, NULL, 0, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The trail every tampering case starts from: subjects p-a (6 entries), p-b (4), p-c (2);
 * checkpoint 1 after the first half, checkpoint 2 after all of them. */
static char trail_base[64], trail_dir[128];

static void make_trail(void)
{
    snprintf(trail_base, sizeof trail_base, "/tmp/cityos-auditt-XXXXXX");
    assert_non_null(mkdtemp(trail_base));
    snprintf(trail_dir, sizeof trail_dir, "%s/data", trail_base);
    struct store *s = open_at(trail_dir);
    struct err e = {0};
    static const char *const who[] = {"p-a", "p-b", "p-c"};
    static const int count[] = {6, 4, 2};
    for (int half = 0; half < 2; half++) {
        for (int k = 0; k < 3; k++)
            for (int i = half * count[k] / 2; i < (half + 1) * count[k] / 2; i++) {
                struct audit_event ev = base_event(who[k], i);
                record(s, &ev);
            }
        struct audit_checkpoint cp;
        assert_int_equal(audit_checkpoint_create(s, &keys.keys[0], T0 + half, &cp, &e), 0);
        assert_int_equal(cp.id, half + 1);
        assert_int_equal(cp.chains, 3);
        assert_int_equal(cp.entries, half ? 12 : 6);
        assert_int_equal(cp.changed, 3);
    }
    store_close(s);
}

/* Copies the trail, applies sql (NULL: nothing), verifies with keys. */
static void verify_copy(const char *sql, struct audit_verify_report *r)
{
    static int n;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/copy-%d", trail_base, n++);
    copy_dir(trail_dir, dir);
    struct store *s = open_at(dir);
    struct err e = {0};
    if (sql != NULL) {
        int rc = store_write(s, sql_fn, (void *)sql, &e);
        if (rc != 0)
            fail_msg("tamper %s: %s", sql, e.msg);
    }
    assert_int_equal(audit_verify(s, &keys, r, &e), 0);
    store_close(s);
}

static void expect_bad(const char *sql, const char *check, const char *subject, int64_t seq,
                       int64_t cp)
{
    struct audit_verify_report r;
    verify_copy(sql, &r);
    if (r.ok)
        fail_msg("not detected: %s", sql);
    if (strcmp(r.check, check) != 0 || strcmp(r.subject, subject) != 0 || r.seq != seq ||
        r.checkpoint_id != cp)
        fail_msg("%s: got check %s at %s/%lld cp %lld (%s); wanted %s at %s/%lld cp %lld", sql,
                 r.check, r.subject, (long long)r.seq, (long long)r.checkpoint_id, r.detail, check,
                 subject, (long long)seq, (long long)cp);
}

static void chains_survive_a_reopen_and_verify(void **state)
{
    (void)state;
    make_trail();
    struct audit_verify_report r;
    verify_copy(NULL, &r);
    assert_true(r.ok);
    assert_null(r.check);
    assert_int_equal(r.chains, 3);
    assert_int_equal(r.entries, 12);
    assert_int_equal(r.checkpoints, 2);

    /* reopen the original: the chain continues from the stored head */
    struct store *s = open_at(trail_dir);
    struct err e = {0};
    struct arena *a = arena_new(0);
    struct audit_page p;
    assert_int_equal(audit_list_for_subject(s, "p-a", NULL, 1, a, &p, &e), 0);
    char head[AUDIT_HEX_LEN + 1];
    memcpy(head, p.items[0].entry_hash, sizeof head);
    struct audit_event ev = base_event("p-a", 50);
    record(s, &ev);
    assert_int_equal(audit_list_for_subject(s, "p-a", NULL, 1, a, &p, &e), 0);
    assert_int_equal(p.items[0].seq, 7);
    assert_string_equal(p.items[0].prev_hash, head);
    /* a third checkpoint moves one head; everything still verifies */
    struct audit_checkpoint cp;
    assert_int_equal(audit_checkpoint_create(s, &keys.keys[0], T0 + 5, &cp, &e), 0);
    assert_int_equal(cp.id, 3);
    assert_int_equal(cp.changed, 1);
    assert_int_equal(cp.entries, 13);
    assert_int_equal(audit_verify(s, &keys, &r, &e), 0);
    assert_true(r.ok);
    assert_int_equal(r.checkpoints, 3);
    /* without the key, checkpoints cannot be trusted */
    assert_int_equal(audit_verify(s, &stolen, &r, &e), 0);
    assert_false(r.ok);
    assert_string_equal(r.check, "key");
    assert_int_equal(r.checkpoint_id, 1);
    /* a key without its secret cannot sign */
    struct id_jose_key pub = keys.keys[0];
    memset(pub.sk, 0, sizeof pub.sk);
    assert_int_equal(audit_checkpoint_create(s, &pub, T0, &cp, &e), ERR_INVALID);
    arena_free(a);
    store_close(s);
    fx_rm_tree(trail_base);
}

/* Every audit field of one entry, changed by one byte, is caught at that entry. */
static void one_byte_in_any_field_is_caught(void **state)
{
    (void)state;
    make_trail();
    static const char *const text_cols[] = {
        "actor_id",      "actor_org",   "actor_role", "client_id", "action",
        "resource_type", "resource_id", "category",   "purpose",   "decided_by",
        "reason",        "request_id",  "source_addr"};
    char sql[512];
    for (size_t i = 0; i < sizeof text_cols / sizeof text_cols[0]; i++) {
        /* seq 4 of p-a is a practitioner's deny: every optional field is set */
        snprintf(sql, sizeof sql,
                 "UPDATE audit_entry SET %s = CASE WHEN substr(%s, 1, 1) = 'z' THEN 'y' "
                 "ELSE 'z' END || substr(%s, 2) WHERE subject = 'p-a' AND seq = 4",
                 text_cols[i], text_cols[i], text_cols[i]);
        expect_bad(sql, "entry_hash", "p-a", 4, 0);
    }
    expect_bad("UPDATE audit_entry SET on_behalf_of = 'x' WHERE subject = 'p-a' AND seq = 4",
               "entry_hash", "p-a", 4, 0);
    expect_bad("UPDATE audit_entry SET time_ms = time_ms + 1 WHERE subject = 'p-b' AND seq = 2",
               "entry_hash", "p-b", 2, 0);
    expect_bad("UPDATE audit_entry SET actor_kind = 'device' WHERE subject = 'p-b' AND seq = 2",
               "entry_hash", "p-b", 2, 0);
    expect_bad("UPDATE audit_entry SET decision = 'permit' WHERE subject = 'p-a' AND seq = 4",
               "entry_hash", "p-a", 4, 0);
    expect_bad("UPDATE audit_entry SET entry_hash = substr(entry_hash, 1, 63) || "
               "CASE WHEN substr(entry_hash, 64) = '0' THEN '1' ELSE '0' END "
               "WHERE subject = 'p-c' AND seq = 1",
               "entry_hash", "p-c", 1, 0);
    expect_bad("UPDATE audit_entry SET prev_hash = substr(prev_hash, 1, 63) || "
               "CASE WHEN substr(prev_hash, 64) = '0' THEN '1' ELSE '0' END "
               "WHERE subject = 'p-a' AND seq = 5",
               "prev_hash", "p-a", 5, 0);
    /* the same value in another storage form: a real number, a blob with a NUL */
    expect_bad("UPDATE audit_entry SET time_ms = time_ms + 0.5 WHERE subject = 'p-b' AND seq = 3",
               "field", "p-b", 3, 0);
    expect_bad("UPDATE audit_entry SET purpose = CAST(purpose || char(0) || 'x' AS BLOB) "
               "WHERE subject = 'p-b' AND seq = 3",
               "field", "p-b", 3, 0);
    expect_bad("UPDATE audit_entry SET actor_org = '' WHERE subject = 'p-a' AND seq = 2", "field",
               "p-a", 2, 0);
    /* moving an entry to another chain */
    expect_bad("UPDATE audit_entry SET subject = 'p-c' WHERE subject = 'p-a' AND seq = 6", "seq",
               "p-c", 3, 0);
    fx_rm_tree(trail_base);
}

static void deleted_swapped_and_cut_entries_are_caught(void **state)
{
    (void)state;
    make_trail();
    expect_bad("DELETE FROM audit_entry WHERE subject = 'p-b' AND seq = 2", "seq", "p-b", 2, 0);
    expect_bad("DELETE FROM audit_entry WHERE subject = 'p-a' AND seq = 1", "seq", "p-a", 1, 0);
    /* swap two entries' places (their seq), keeping their content */
    expect_bad("UPDATE audit_entry SET seq = 1000 WHERE subject = 'p-a' AND seq = 2;"
               "UPDATE audit_entry SET seq = 2 WHERE subject = 'p-a' AND seq = 3;"
               "UPDATE audit_entry SET seq = 3 WHERE subject = 'p-a' AND seq = 1000",
               "prev_hash", "p-a", 2, 0);
    /* swap two entries' content, keeping their seq */
    expect_bad("UPDATE audit_entry SET actor_id = CASE seq WHEN 1 THEN (SELECT actor_id FROM "
               "audit_entry WHERE subject = 'p-a' AND seq = 2) ELSE (SELECT actor_id FROM "
               "audit_entry WHERE subject = 'p-a' AND seq = 1) END "
               "WHERE subject = 'p-a' AND seq IN (1, 2)",
               "entry_hash", "p-a", 1, 0);
    /* cut the tail: the head table remembers */
    expect_bad("DELETE FROM audit_entry WHERE subject = 'p-a' AND seq > 4", "head", "p-a", 4, 0);
    fx_rm_tree(trail_base);
}

static int cut_tail_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    (void)ctx;
    int rc =
        store_tx_exec(tx, "DELETE FROM audit_entry WHERE subject = 'p-a' AND seq > 4", NULL, 0, e);
    if (rc >= 0)
        rc = store_tx_exec(tx,
                           "UPDATE audit_head SET seq = 4, head = (SELECT entry_hash FROM "
                           "audit_entry WHERE subject = 'p-a' AND seq = 4) WHERE subject = 'p-a'",
                           NULL, 0, e);
    if (rc >= 0)
        rc = store_tx_exec(tx, "DELETE FROM audit_entry WHERE subject = 'p-c'", NULL, 0, e);
    if (rc >= 0)
        rc = store_tx_exec(tx, "DELETE FROM audit_head WHERE subject = 'p-c'", NULL, 0, e);
    return rc < 0 ? rc : 0;
}

static void a_cut_covered_by_a_checkpoint_is_caught(void **state)
{
    (void)state;
    make_trail();
    char dir[256];
    snprintf(dir, sizeof dir, "%s/cut", trail_base);
    copy_dir(trail_dir, dir);
    struct store *s = open_at(dir);
    struct err e = {0};
    struct audit_verify_report r;
    assert_int_equal(store_write(s, cut_tail_fn, NULL, &e), 0);
    assert_int_equal(audit_verify(s, &keys, &r, &e), 0);
    assert_false(r.ok);
    assert_string_equal(r.check, "checkpoint_entry");
    /* checkpoint 1 committed p-a up to 3 and p-c up to 1: p-c's entry 1 is gone */
    assert_string_equal(r.subject, "p-c");
    assert_int_equal(r.seq, 1);
    assert_int_equal(r.checkpoint_id, 1);
    /* and a new checkpoint over the shortened chains is refused */
    struct audit_checkpoint cp;
    assert_int_equal(audit_checkpoint_create(s, &keys.keys[0], T0, &cp, &e), ERR_INTERNAL);
    /* a chain whose head row no longer follows it refuses new records (no silent fork) */
    assert_int_equal(
        store_write(s, sql_fn, "DELETE FROM audit_entry WHERE subject = 'p-b' AND seq = 4", &e), 0);
    struct audit_event ev = base_event("p-b", 9);
    assert_int_equal(store_write(s, audit_record_fn, &ev, &e), ERR_INTERNAL);
    assert_non_null(strstr(e.msg, "head table"));
    store_close(s);
    fx_rm_tree(trail_base);
}

static int replace_checkpoint_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    /* a checkpoint over other heads, signed by a key the verifier does not trust */
    const char *sig = ctx;
    struct store_value v[2] = {STORE_TEXT_V(stolen.keys[0].kid), STORE_TEXT_V(sig)};
    int rc = store_tx_exec(tx, "UPDATE audit_checkpoint SET key_id = ?, signature = ? WHERE id = 2",
                           v, 2, e);
    return rc < 0 ? rc : 0;
}

static void replaced_checkpoints_are_caught(void **state)
{
    (void)state;
    make_trail();
    /* another root */
    expect_bad("UPDATE audit_checkpoint SET root = (SELECT root FROM audit_checkpoint WHERE id = "
               "1) WHERE id = 2",
               "signature", "", 0, 2);
    /* one byte of the signature */
    expect_bad("UPDATE audit_checkpoint SET signature = CASE WHEN substr(signature, 1, 1) = '0' "
               "THEN '1' ELSE '0' END || substr(signature, 2) WHERE id = 1",
               "signature", "", 0, 1);
    expect_bad("UPDATE audit_checkpoint SET entries = entries - 1 WHERE id = 2", "signature", "", 0,
               2);
    expect_bad("UPDATE audit_checkpoint SET created_ms = created_ms + 1 WHERE id = 1", "signature",
               "", 0, 1);
    /* the heads it moved: one seq back, or one removed */
    expect_bad("UPDATE audit_checkpoint_head SET seq = seq - 1 WHERE checkpoint_id = 2 AND "
               "subject = 'p-b'",
               "root", "", 0, 2);
    expect_bad("DELETE FROM audit_checkpoint_head WHERE checkpoint_id = 1 AND subject = 'p-c'",
               "root", "", 0, 1);
    /* a whole checkpoint gone */
    expect_bad("DELETE FROM audit_checkpoint_head WHERE checkpoint_id = 1;"
               "DELETE FROM audit_checkpoint WHERE id = 1",
               "checkpoint_id", "", 0, 1);

    /* re-signed by another key: its kid is not trusted */
    char dir[256];
    snprintf(dir, sizeof dir, "%s/resigned", trail_base);
    copy_dir(trail_dir, dir);
    struct store *s = open_at(dir);
    struct err e = {0};
    unsigned char sig[64], root[32], msg[256];
    char hex[129];
    memset(root, 7, sizeof root);
    size_t n = audit_hash_checkpoint_msg(2, T0 + 1, 3, 12, root, msg, sizeof msg);
    crypto_sign_ed25519_detached(sig, NULL, msg, n, stolen.keys[0].sk);
    sodium_bin2hex(hex, sizeof hex, sig, sizeof sig);
    assert_int_equal(store_write(s, replace_checkpoint_fn, hex, &e), 0);
    struct audit_verify_report r;
    assert_int_equal(audit_verify(s, &keys, &r, &e), 0);
    assert_false(r.ok);
    assert_string_equal(r.check, "key");
    assert_int_equal(r.checkpoint_id, 2);
    store_close(s);
    fx_rm_tree(trail_base);
}

/* ---- many at once: one implementation, the same bytes ---- */

/* Every entry and head row of a store as one text, in (subject, seq) order. */
struct dump {
    char *text;
    size_t len, cap;
};

static int dump_row(const struct store_row *r, void *ctx)
{
    struct dump *d = ctx;
    for (int c = 0; c < store_row_columns(r); c++) {
        const char *t = store_row_is_null(r, c) ? "<null>" : store_row_text(r, c, NULL);
        size_t n = strlen(t) + 1;
        if (d->len + n + 1 > d->cap) {
            d->cap = (d->len + n + 1) * 2;
            d->text = realloc(d->text, d->cap);
            assert_non_null(d->text);
        }
        memcpy(d->text + d->len, t, n - 1);
        d->len += n;
        d->text[d->len - 1] = c + 1 < store_row_columns(r) ? '|' : '\n';
        d->text[d->len] = '\0';
    }
    return 0;
}

static char *dump_trail(struct store *s)
{
    struct dump d = {0};
    struct err e = {0};
    assert_int_equal(store_query(s, "SELECT * FROM audit_entry ORDER BY subject, seq", NULL, 0,
                                 dump_row, &d, &e),
                     0);
    assert_int_equal(store_query(s, "SELECT subject, seq, head FROM audit_head ORDER BY subject",
                                 NULL, 0, dump_row, &d, &e),
                     0);
    return d.text;
}

enum { MANY_N = 77 }; /* INSERTs of 32, 32, 8 and five of 1 row */

/* The events both stores get: five subjects, interleaved, two of them with entries already. */
static void many_events(struct audit_event *evs, char (*rid)[16])
{
    static const char *const subjects[] = {"p-a", "p-b", "p-new", "p-a", "p-c", "p-a", "p-b"};
    for (int i = 0; i < MANY_N; i++) {
        evs[i] = base_event(subjects[(i * 5 + i / 7) % 7], i);
        snprintf(rid[i], sizeof rid[i], "req-%d", i);
        evs[i].request_id = rid[i];
        if (i % 5 == 0)
            evs[i].reason = NULL;
    }
}

struct one_by_one {
    const struct audit_event *evs;
    size_t n;
    struct audit_appended *out;
};

static int one_by_one_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct one_by_one *o = ctx;
    for (size_t i = 0; i < o->n; i++) {
        int rc = audit_append(tx, &o->evs[i], &o->out[i], e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int all_at_once_fn(struct store_tx *tx, void *ctx, struct err *e)
{
    struct one_by_one *o = ctx;
    return audit_append_many(tx, o->evs, o->n, o->out, e);
}

static void many_at_once_equals_one_by_one(void **state)
{
    struct fx *f = *state;
    char other[160];
    snprintf(other, sizeof other, "%s/other", f->base);
    struct store *s2 = open_at(other);
    struct audit_event evs[MANY_N];
    char rid[MANY_N][16];
    many_events(evs, rid);
    struct err e = {0};
    /* the same history before: p-a 2 entries, p-b 1, on both */
    struct audit_event pre[3] = {base_event("p-a", 100), base_event("p-b", 101),
                                 base_event("p-a", 102)};
    for (int i = 0; i < 3; i++) {
        record(f->s, &pre[i]);
        record(s2, &pre[i]);
    }
    struct audit_appended one[MANY_N], many[MANY_N];
    struct one_by_one a = {evs, MANY_N, one}, b = {evs, MANY_N, many};
    assert_int_equal(store_write(f->s, one_by_one_fn, &a, &e), 0);
    assert_int_equal(store_write(s2, all_at_once_fn, &b, &e), 0);
    for (int i = 0; i < MANY_N; i++) {
        assert_int_equal(one[i].seq, many[i].seq);
        assert_int_equal(one[i].time_ms, many[i].time_ms);
        assert_string_equal(one[i].entry_hash, many[i].entry_hash);
    }
    char *t1 = dump_trail(f->s), *t2 = dump_trail(s2);
    assert_int_equal(strlen(t1), strlen(t2));
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    struct audit_verify_report r;
    assert_int_equal(audit_verify(s2, NULL, &r, &e), 0);
    assert_true(r.ok);
    assert_int_equal(r.entries, MANY_N + 3);
    assert_int_equal(r.chains, 4);

    /* a bad event anywhere refuses the whole call, nothing written */
    evs[40].action = "Not A Token";
    assert_int_equal(store_write(s2, all_at_once_fn, &b, &e), ERR_INVALID);
    assert_int_equal(audit_append_many(NULL, evs, 0, NULL, &e), ERR_INVALID);
    store_close(s2);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry"), MANY_N + 3);
}

/* Records queued together go in as one group write; a record on a chain whose head row no
 * longer follows it makes the group fail, and then each record is appended alone: that one
 * fails (and a search touching that chain fails whole), every other one commits, with the
 * same bytes one append after another would give. */
static void a_failed_group_falls_back_to_one_by_one(void **state)
{
    struct fx *f = *state;
    struct err e = {0};
    struct audit_event ev = base_event("p-bad", 1);
    record(f->s, &ev);
    ev = base_event("p-bad", 2);
    record(f->s, &ev);
    assert_int_equal(store_write(f->s, sql_fn,
                                 "DELETE FROM audit_entry WHERE subject = 'p-bad' AND seq = 2", &e),
                     0);

    struct gate g = {0};
    struct waiter ok = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    struct waiter bad = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    assert_int_equal(store_write_async(f->s, gate_fn, &g, NULL, NULL), 0);
    for (int i = 0; i < 20000 && !atomic_load(&g.entered); i++)
        usleep(1000);
    assert_true(atomic_load(&g.entered));
    enum { N = 40 }; /* more than one multi-row INSERT (32 rows) */
    for (int i = 0; i < N; i++) {
        struct audit_event x = base_event(i % 2 ? "p-one" : "p-two", i);
        assert_int_equal(audit_record_async(f->s, &x, async_done, &ok, &e), 0);
        if (i == 5) {
            x = base_event("p-bad", 3);
            assert_int_equal(audit_record_async(f->s, &x, async_done, &bad, &e), 0);
        }
        if (i == 9) { /* a search over p-one and p-bad: all or none */
            struct audit_event many[2] = {base_event("p-one", 90), base_event("p-bad", 91)};
            assert_int_equal(audit_record_many_async(f->s, many, 2, async_done, &bad, &e), 0);
        }
    }
    atomic_store(&g.open, 1);
    pthread_mutex_lock(&ok.mu);
    while (ok.done < N)
        pthread_cond_wait(&ok.cv, &ok.mu);
    pthread_mutex_unlock(&ok.mu);
    pthread_mutex_lock(&bad.mu);
    while (bad.done < 2)
        pthread_cond_wait(&bad.cv, &bad.mu);
    pthread_mutex_unlock(&bad.mu);
    assert_int_equal(ok.failed, 0);
    assert_int_equal(bad.failed, 2);
    /* N / 2, not one more: the search's p-one entry was not written either */
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry WHERE subject = 'p-one'"),
                     N / 2);
    assert_int_equal(fx_count(f, "SELECT MAX(seq) FROM audit_entry WHERE subject = 'p-one'"),
                     N / 2);
    assert_int_equal(fx_count(f, "SELECT seq FROM audit_head WHERE subject = 'p-two'"), N / 2);
    assert_int_equal(fx_count(f, "SELECT COUNT(*) FROM audit_entry WHERE subject = 'p-bad'"), 1);
    /* with p-bad's head row put back where its chain ends, the whole trail verifies */
    assert_int_equal(store_write(f->s, sql_fn,
                                 "UPDATE audit_head SET seq = 1, head = (SELECT entry_hash FROM "
                                 "audit_entry WHERE subject = 'p-bad' AND seq = 1) WHERE subject "
                                 "= 'p-bad'",
                                 &e),
                     0);
    struct audit_verify_report r;
    assert_int_equal(audit_verify(f->s, NULL, &r, &e), 0);
    assert_true(r.ok);
    assert_int_equal(r.entries, N + 1);
    /* and the repaired chain takes records again */
    struct audit_event x = base_event("p-bad", 4);
    assert_int_equal(audit_record_async(f->s, &x, async_done, &ok, &e), 0);
    pthread_mutex_lock(&ok.mu);
    while (ok.done < N + 1)
        pthread_cond_wait(&ok.cv, &ok.mu);
    pthread_mutex_unlock(&ok.mu);
    assert_int_equal(ok.failed, 0);
    assert_int_equal(fx_count(f, "SELECT seq FROM audit_head WHERE subject = 'p-bad'"), 2);
}

/* Records queued behind a held writer (one group) give exactly the trail of the same records
 * appended one write at a time on another store. */
static void grouped_records_equal_one_by_one(void **state)
{
    struct fx *f = *state;
    char other[160];
    snprintf(other, sizeof other, "%s/other", f->base);
    struct store *s2 = open_at(other);
    struct audit_event evs[MANY_N];
    char rid[MANY_N][16];
    many_events(evs, rid);
    struct err e = {0};
    struct gate g = {0};
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    assert_int_equal(store_write_async(f->s, gate_fn, &g, NULL, NULL), 0);
    for (int i = 0; i < 20000 && !atomic_load(&g.entered); i++)
        usleep(1000);
    assert_true(atomic_load(&g.entered));
    for (int i = 0; i < MANY_N; i++) {
        if (i % 10 == 9) /* a search: two records in one job */
            assert_int_equal(audit_record_many_async(f->s, &evs[i - 1], 2, async_done, &w, &e), 0);
        else if (i % 10 != 8)
            assert_int_equal(audit_record_async(f->s, &evs[i], async_done, &w, &e), 0);
    }
    atomic_store(&g.open, 1);
    for (int i = 0; i < MANY_N; i++) /* the same order: a search's two right after each other */
        if (i % 10 == 9) {
            record(s2, &evs[i - 1]);
            record(s2, &evs[i]);
        } else if (i % 10 != 8) {
            record(s2, &evs[i]);
        }
    int jobs = MANY_N - MANY_N / 10;
    pthread_mutex_lock(&w.mu);
    while (w.done < jobs)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    assert_int_equal(w.failed, 0);
    char *t1 = dump_trail(f->s), *t2 = dump_trail(s2);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    store_close(s2);
    struct audit_verify_report r;
    assert_int_equal(audit_verify(f->s, NULL, &r, &e), 0);
    assert_true(r.ok);
    assert_int_equal(r.entries, MANY_N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_encoding_has_no_ambiguous_boundaries),
        cmocka_unit_test(hashes_are_domain_separated),
        cmocka_unit_test(events_are_checked),
        cmocka_unit_test_setup_teardown(append_and_list, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(write_and_record_share_a_transaction, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(async_records_all_commit, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(back_pressure_is_reported_not_dropped, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(many_at_once_equals_one_by_one, setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_failed_group_falls_back_to_one_by_one, setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(grouped_records_equal_one_by_one, setup, fx_teardown),
        cmocka_unit_test(chains_survive_a_reopen_and_verify),
        cmocka_unit_test(one_byte_in_any_field_is_caught),
        cmocka_unit_test(deleted_swapped_and_cut_entries_are_caught),
        cmocka_unit_test(a_cut_covered_by_a_checkpoint_is_caught),
        cmocka_unit_test(replaced_checkpoints_are_caught),
    };
    return cmocka_run_group_tests(tests, trail_setup, trail_teardown);
}

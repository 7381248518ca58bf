/* import_cmd.c - `cityos import [--source NAME] [--report FILE] [--format F] FILE...`: the
 * operator's life-stage import (docs/import.md) with a progress bar on a terminal, a summary and
 * the rejected records with their reasons. The logic lives in src/fhir/import*.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/jsonx.h"
#include "cli/cli.h"
#include "fhir/import.h"
#include "store/store.h"

#define FILES_MAX     1024
#define SHOWN_MAX     1000 /* rejections repeated in the summary; the report has them all */
#define DEFAULT_SRC   "operator"
#define TICK_TTY_NS   100000000ULL  /* redraw the bar at most every 0.1 s */
#define TICK_PLAIN_NS 2000000000ULL /* a plain progress line every 2 s */

static void print_import_usage(FILE *out)
{
    fprintf(out,
            "usage: cityos import [--source NAME] [--report FILE] [--format json|ndjson|csv]\n"
            "                     [--data-dir=D ...] FILE...\n\n"
            "  Imports FHIR Bundles (.json), NDJSON (.ndjson, one resource per line) and the\n"
            "  city's check-up CSV files (.csv: docs/import.md) into citizens' records. Each\n"
            "  record (a Bundle entry, a whole transaction Bundle, a line, a row) is written all\n"
            "  or nothing and recorded in the import ledger: rerunning after an interruption\n"
            "  skips what was imported. The citizen's access log shows the import.\n\n"
            "  --source NAME   who supplied the data (ledger key and audit reason; default\n"
            "                  \"" DEFAULT_SRC "\"): use one name per data supplier\n"
            "  --report FILE   also write each rejected record as a JSON line to FILE\n"
            "  --format F      read every FILE as json, ndjson or csv (default: by extension)\n\n"
            "  Exit status: 0 nothing rejected, 1 records rejected or a file/store failure,\n"
            "  2 a usage error.\n\n");
}

struct shown {
    char *file, *where, *reason;
};

struct ui {
    int tty;
    uint64_t last_ns, start_ns;
    int bar_drawn;
    const char *finished; /* the file whose 100% line was printed */
    FILE *report;
    struct shown *shown;
    size_t nshown, more;
};

static void clear_bar(struct ui *u)
{
    if (u->tty && u->bar_drawn) {
        fputs("\r\033[K", stderr);
        u->bar_drawn = 0;
    }
}

static void on_reject(void *ctx, const char *file, const char *where, const char *reason)
{
    struct ui *u = ctx;
    if (u->report != NULL) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "file", file, "where", where, "reason", reason);
        char *line = o != NULL ? jsonx_dumps(o, NULL) : NULL;
        if (line != NULL)
            fprintf(u->report, "%s\n", line);
        free(line);
        json_decref(o);
    }
    if (u->nshown == SHOWN_MAX) {
        u->more++;
        return;
    }
    struct shown *s = &u->shown[u->nshown];
    s->file = strdup(file);
    s->where = strdup(where);
    s->reason = strdup(reason);
    if (s->file == NULL || s->where == NULL || s->reason == NULL) {
        free(s->file);
        free(s->where);
        free(s->reason);
        u->more++;
        return;
    }
    u->nshown++;
}

static void on_progress(void *ctx, const char *file, uint64_t done, uint64_t total,
                        const struct fhir_import_stats *st)
{
    struct ui *u = ctx;
    uint64_t now = clock_mono_ns();
    if (done >= total && file == u->finished)
        return;
    if (now - u->last_ns < (u->tty ? TICK_TTY_NS : TICK_PLAIN_NS) && done < total)
        return;
    if (done >= total)
        u->finished = file;
    u->last_ns = now;
    unsigned pct = total > 0 ? (unsigned)(done * 100 / total) : 100;
    double secs = (double)(now - u->start_ns) / 1e9;
    double rate = secs > 0 ? (double)(st->imported + st->skipped + st->rejected) / secs : 0;
    const char *base = strrchr(file != NULL ? file : "", '/');
    base = base != NULL ? base + 1 : (file != NULL ? file : "");
    if (u->tty) {
        char bar[31];
        unsigned fill = pct * 30 / 100;
        for (unsigned i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr,
                "\r\033[K[%s] %3u%% %.32s  %" PRIu64 " imported, %" PRIu64 " skipped, %" PRIu64
                " rejected  %.0f rec/s",
                bar, pct, base, st->imported, st->skipped, st->rejected, rate);
        u->bar_drawn = 1;
    } else {
        fprintf(stderr,
                "import: %s %u%%: %" PRIu64 " imported, %" PRIu64 " skipped, %" PRIu64
                " rejected (%.0f records/s)\n",
                base, pct, st->imported, st->skipped, st->rejected, rate);
    }
    fflush(stderr);
}

static enum fhir_import_format parse_format(const char *s)
{
    if (strcmp(s, "json") == 0)
        return FHIR_IMPORT_JSON;
    if (strcmp(s, "ndjson") == 0)
        return FHIR_IMPORT_NDJSON;
    if (strcmp(s, "csv") == 0)
        return FHIR_IMPORT_CSV;
    return (enum fhir_import_format) - 1;
}

/* Takes --source, --report, --format and the files out of argv; the rest (options of the table)
 * goes to rest. Returns 0, or 2 after printing the usage error. */
static int split_args(int argc, char **argv, const char **source, const char **report,
                      const char **format, const char **files, int *nfiles, char **rest, int *nrest)
{
    *nfiles = *nrest = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        const char *name = NULL;
        if (strncmp(a, "--source", 8) == 0 && (a[8] == '\0' || a[8] == '='))
            slot = source, name = "source";
        else if (strncmp(a, "--report", 8) == 0 && (a[8] == '\0' || a[8] == '='))
            slot = report, name = "report";
        else if (strncmp(a, "--format", 8) == 0 && (a[8] == '\0' || a[8] == '='))
            slot = format, name = "format";
        if (slot != NULL) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (v == NULL || *v == '\0') {
                fprintf(stderr, "cityos: --%s needs a value\n", name);
                return 2;
            }
            if (*slot != NULL) {
                fprintf(stderr, "cityos: --%s is given twice\n", name);
                return 2;
            }
            *slot = v;
            continue;
        }
        if (strncmp(a, "--", 2) == 0) {
            rest[(*nrest)++] = argv[i];
            /* "--name value": the value goes with it */
            if (strchr(a, '=') == NULL && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                rest[(*nrest)++] = argv[++i];
            continue;
        }
        if (*nfiles == FILES_MAX) {
            fprintf(stderr, "cityos: at most %d files at once\n", FILES_MAX);
            return 2;
        }
        files[(*nfiles)++] = a;
    }
    if (*nfiles == 0) {
        fprintf(stderr, "cityos: import needs at least one FILE\n\n");
        print_import_usage(stderr);
        return 2;
    }
    return 0;
}

static int run(struct store *s, const char *source, enum fhir_import_format fmt, const char **files,
               int nfiles, struct ui *u)
{
    struct err e = {0};
    struct fhir_import_options o = {
        .source = source, .on_reject = on_reject, .on_progress = on_progress, .ctx = u};
    struct fhir_importer *im = fhir_importer_new(s, &o, &e);
    if (im == NULL) {
        fprintf(stderr, "cityos: %s\n", e.msg);
        return 2;
    }
    int failed = 0;
    for (int i = 0; i < nfiles; i++) {
        err_clear(&e);
        int rc = fhir_import_file(im, files[i], fmt, &e);
        if (rc == ERR_INVALID)
            continue; /* reported as a rejected record */
        if (rc != 0) {
            clear_bar(u);
            fprintf(stderr, "cityos: import: %s\n", e.msg);
            failed = 1;
            if (rc == ERR_UNAVAILABLE || rc == ERR_NOMEM)
                break;
        }
    }
    struct fhir_import_stats st;
    fhir_importer_stats(im, &st);
    fhir_importer_free(im);
    clear_bar(u);
    for (size_t i = 0; i < u->nshown; i++)
        fprintf(stderr, "rejected %s %s: %s\n", u->shown[i].file, u->shown[i].where,
                u->shown[i].reason);
    if (u->more > 0)
        fprintf(stderr, "... and %zu more rejected (--report FILE lists them all)\n", u->more);
    double secs = (double)(clock_mono_ns() - u->start_ns) / 1e9;
    fprintf(stderr,
            "import: %" PRIu64 " records: imported %" PRIu64 " (%" PRIu64
            " resources), skipped %" PRIu64 " already imported, rejected %" PRIu64 " (%.1f s)\n",
            st.records, st.imported, st.resources, st.skipped, st.rejected, secs);
    return failed || st.rejected > 0 ? 1 : 0;
}

int cli_import(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_import_usage(stdout);
            config_print_help(stdout, CONFIG_CMD_ADMIN);
            return 0;
        }
    const char *source = NULL, *report = NULL, *format = NULL;
    const char **files = calloc(FILES_MAX, sizeof *files);
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    struct ui u = {0};
    struct store *s = NULL;
    int nfiles = 0, nrest = 0, rc = 2;
    u.shown = calloc(SHOWN_MAX, sizeof *u.shown);
    if (files == NULL || rest == NULL || u.shown == NULL) {
        fprintf(stderr, "cityos: out of memory\n");
        rc = 1;
        goto out;
    }
    if ((rc = split_args(argc, argv, &source, &report, &format, files, &nfiles, rest, &nrest)) != 0)
        goto out;
    enum fhir_import_format fmt = FHIR_IMPORT_AUTO;
    if (format != NULL && (int)(fmt = parse_format(format)) < 0) {
        fprintf(stderr, "cityos: --format: json, ndjson or csv\n");
        rc = 2;
        goto out;
    }
    struct config cfg;
    rc = cli_prepare(&cfg, CONFIG_CMD_ADMIN, nrest, rest);
    if (rc != 0) {
        rc = rc == 1 ? 0 : rc;
        goto out;
    }
    if (report != NULL && (u.report = fopen(report, "w")) == NULL) {
        fprintf(stderr, "cityos: --report: %s cannot be written\n", report);
        rc = 1;
        goto out;
    }
    rc = 1;
    if ((s = cli_open_store(&cfg)) == NULL)
        goto out;
    u.tty = isatty(STDERR_FILENO);
    u.start_ns = u.last_ns = clock_mono_ns();
    rc = run(s, source != NULL ? source : DEFAULT_SRC, fmt, files, nfiles, &u);
out:
    store_close(s);
    if (u.report != NULL && fclose(u.report) != 0 && rc == 0)
        rc = 1;
    for (size_t i = 0; i < u.nshown; i++) {
        free(u.shown[i].file);
        free(u.shown[i].where);
        free(u.shown[i].reason);
    }
    free(u.shown);
    free(files);
    free(rest);
    return rc;
}

/* import_json.c - the FHIR JSON readers of the import: a Bundle (a transaction is one record; a
 * batch's or a collection's entries are one record each), one resource, or NDJSON (one resource
 * per line, one record per line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/jsonx.h"
#include "fhir/import_internal.h"

#define NDJSON_LINE_MAX (16 * 1024 * 1024) /* longest line (one resource) */

/* A record of one resource res (a new reference, stolen): kept id -> update, none -> create. */
static int one_resource(struct fhir_importer *im, const char *file, const char *where,
                        const char *canon, size_t len, json_t *res, uint64_t offset)
{
    struct fhir_import_record *r = fhir_import__record_new(im, file, where, canon, len);
    if (r == NULL) {
        json_decref(res);
        return ERR_NOMEM;
    }
    r->offset = offset;
    if (!json_is_object(res) || !json_is_string(json_object_get(res, "resourceType"))) {
        json_decref(res);
        return fhir_import__reject(r, "not a FHIR resource (no resourceType)");
    }
    enum fhir_write_op op =
        json_object_get(res, "id") != NULL ? FHIR_WRITE_UPDATE : FHIR_WRITE_CREATE;
    if (fhir_import__add(r, res, op) == NULL) {
        fhir_import__reject(r, "out of memory");
        return ERR_NOMEM;
    }
    return fhir_import__submit(r);
}

/* How a batch or transaction entry writes: POST Type (create), PUT Type/id (create or update).
 * Returns the op, or -1 with why. */
static int entry_op(const json_t *entry, const char *rtype, const char **ine, char *why, size_t cap)
{
    const json_t *rq = json_object_get(entry, "request");
    const char *method = json_string_value(json_object_get(rq, "method"));
    const char *url = json_string_value(json_object_get(rq, "url"));
    *ine = json_string_value(json_object_get(rq, "ifNoneExist"));
    if (method == NULL || url == NULL) {
        snprintf(why, cap, "request.method and request.url are required");
        return -1;
    }
    size_t tlen = strlen(rtype);
    if (strcmp(method, "POST") == 0) {
        if (strcmp(url, rtype) != 0) {
            snprintf(why, cap, "a POST entry's url is the resource type");
            return -1;
        }
        return FHIR_WRITE_CREATE;
    }
    if (strcmp(method, "PUT") == 0) {
        if (strncmp(url, rtype, tlen) != 0 || url[tlen] != '/' || *ine != NULL) {
            snprintf(why, cap, "a PUT entry's url is %s/<id>, without ifNoneExist", rtype);
            return -1;
        }
        return FHIR_WRITE_UPDATE;
    }
    snprintf(why, cap, "request.method %.8s: the import only creates and updates (POST, PUT)",
             method);
    return -1;
}

/* Adds a batch/transaction/collection entry's resource to r. Returns 0, 1 (rejected: r freed),
 * or ERR_NOMEM. */
static int add_entry(struct fhir_import_record *r, const json_t *entry, size_t index,
                     const char *btype)
{
    json_t *res = json_object_get(entry, "resource");
    const char *rtype = json_string_value(json_object_get(res, "resourceType"));
    if (!json_is_object(entry) || !json_is_object(res) || rtype == NULL) {
        fhir_import__reject(r, "Bundle.entry[%zu]: an entry with a resource (with resourceType)",
                            index);
        return 1;
    }
    const char *ine = NULL;
    char why[256];
    int op;
    if (strcmp(btype, "collection") == 0) {
        op = json_object_get(res, "id") != NULL ? FHIR_WRITE_UPDATE : FHIR_WRITE_CREATE;
    } else if ((op = entry_op(entry, rtype, &ine, why, sizeof why)) < 0) {
        fhir_import__reject(r, "Bundle.entry[%zu]: %s", index, why);
        return 1;
    }
    if (op == FHIR_WRITE_UPDATE) {
        const char *url =
            json_string_value(json_object_get(json_object_get(entry, "request"), "url"));
        const char *id = json_string_value(json_object_get(res, "id"));
        if (url != NULL && (id == NULL || strcmp(url + strlen(rtype) + 1, id) != 0)) {
            fhir_import__reject(r,
                                "Bundle.entry[%zu]: the resource's id must equal the id in "
                                "request.url",
                                index);
            return 1;
        }
    }
    struct fhir_import_item *it = fhir_import__add(r, json_incref(res), (enum fhir_write_op)op);
    if (it == NULL)
        return ERR_NOMEM;
    it->full_url = json_string_value(json_object_get(entry, "fullUrl"));
    it->if_none_exist = ine;
    it->where = arena_printf(r->a, "Bundle.entry[%zu].resource", index);
    if (it->where == NULL)
        return ERR_NOMEM;
    return 0;
}

static int bundle(struct fhir_importer *im, const char *file, json_t *doc, const char *buf,
                  size_t len, struct err *e)
{
    const char *type = json_string_value(json_object_get(doc, "type"));
    const json_t *entries = json_object_get(doc, "entry");
    if (type == NULL || (strcmp(type, "transaction") != 0 && strcmp(type, "batch") != 0 &&
                         strcmp(type, "collection") != 0))
        return err_set(e, ERR_INVALID,
                       "Bundle.type: the import reads transaction, batch and collection Bundles");
    if (entries != NULL && !json_is_array(entries))
        return err_set(e, ERR_INVALID, "Bundle.entry: an array");
    size_t n = json_array_size(entries);
    if (strcmp(type, "transaction") == 0) {
        struct fhir_import_record *r = fhir_import__record_new(im, file, "Bundle", buf, len);
        if (r == NULL)
            return ERR_NOMEM;
        r->transaction = 1;
        r->offset = len;
        for (size_t i = 0; i < n; i++) {
            int rc = add_entry(r, json_array_get(entries, i), i, type);
            if (rc == 1)
                return 0;
            if (rc != 0) {
                fhir_import__reject(r, "out of memory");
                return rc;
            }
        }
        return fhir_import__submit(r);
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *entry = json_array_get(entries, i);
        size_t clen = 0;
        char *canon = jsonx_dumps(entry, &clen);
        if (canon == NULL)
            return ERR_NOMEM;
        char where[32];
        snprintf(where, sizeof where, "entry %zu", i);
        struct fhir_import_record *r = fhir_import__record_new(im, file, where, canon, clen);
        free(canon);
        if (r == NULL)
            return ERR_NOMEM;
        r->offset = (uint64_t)((double)len * (double)(i + 1) / (double)n);
        int rc = add_entry(r, entry, i, type);
        if (rc == 1)
            continue;
        if (rc != 0) {
            fhir_import__reject(r, "out of memory");
            return rc;
        }
        rc = fhir_import__submit(r);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int fhir_import__json(struct fhir_importer *im, const char *file, const char *buf, size_t len,
                      struct err *e)
{
    struct err pe = {0};
    json_t *doc = jsonx_parse(buf, len, &pe);
    if (doc == NULL)
        return pe.code == ERR_NOMEM ? ERR_NOMEM : err_set(e, ERR_INVALID, "not JSON: %s", pe.msg);
    const char *rt = json_string_value(json_object_get(doc, "resourceType"));
    int rc;
    if (rt != NULL && strcmp(rt, "Bundle") == 0) {
        rc = bundle(im, file, doc, buf, len, e);
        json_decref(doc);
        return rc;
    }
    return one_resource(im, file, "resource", buf, len, doc, len);
}

int fhir_import__ndjson(struct fhir_importer *im, const char *file, const char *buf, size_t len,
                        struct err *e)
{
    (void)e;
    size_t at = 0, line = 0;
    while (at < len) {
        const char *start = buf + at;
        const char *nl = memchr(start, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - start) : len - at;
        at += n + (nl != NULL);
        line++;
        if (n > 0 && start[n - 1] == '\r')
            n--;
        size_t k = 0;
        while (k < n && (start[k] == ' ' || start[k] == '\t'))
            k++;
        if (k == n)
            continue; /* blank lines separate nothing */
        char where[32];
        snprintf(where, sizeof where, "line %zu", line);
        if (n > NDJSON_LINE_MAX) {
            fhir_import__reject_at(im, file, where, "a line longer than %d bytes", NDJSON_LINE_MAX);
            continue;
        }
        struct err pe = {0};
        json_t *res = jsonx_parse(start, n, &pe);
        if (res == NULL) {
            if (pe.code == ERR_NOMEM)
                return ERR_NOMEM;
            fhir_import__reject_at(im, file, where, "not JSON: %s", pe.msg);
            continue;
        }
        int rc = one_resource(im, file, where, start, n, res, at);
        if (rc != 0)
            return rc;
    }
    return 0;
}

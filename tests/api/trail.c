/* trail.c - a person's own audit trail read back in API tests through the real code flow and
 * GET /api/v1/me/access-log. */
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void trail_client_add(struct server *s, char out[64])
{
    char *cmd = str_printf("'%s' client add --name='Trail reader' --kind=public "
                           "--grant-types=authorization_code --redirect-uri=" TRAIL_REDIRECT
                           " --scopes='" TRAIL_SCOPE "' --data-dir='%s' 2>/dev/null",
                           getenv("CITYOS_BIN"), server_data_dir(s));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512];
    out[0] = '\0';
    while (fgets(line, sizeof line, p) != NULL) {
        const char *k = strstr(line, "client_id=");
        if (k != NULL && out[0] == '\0')
            snprintf(out, 64, "%.*s", (int)strcspn(k + 10, " \n"), k + 10);
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(strlen(out), 26);
    free(cmd);
}

char *trail_token(struct server *s, const char *client, const char *email, const char *password)
{
    return oidc_token(s, client, TRAIL_REDIRECT, email, password, "self", TRAIL_SCOPE);
}

json_t *trail_items(struct server *s, const char *token, int limit)
{
    char *auth = str_printf("Authorization: Bearer %s", token);
    char *path = str_printf("/api/v1/me/access-log?limit=%d", limit);
    struct resp r = api(s, "GET", path, LIST(auth), NULL, 0);
    assert_status(&r, 200);
    json_t *items = json_incref(json_object_get(r.json, "items"));
    assert_true(json_is_array(items));
    resp_free(&r);
    free(path);
    free(auth);
    return items;
}

const char *trail_text(const json_t *item, const char *path)
{
    const char *dot = strchr(path, '.');
    if (dot == NULL)
        return json_string_value(json_object_get(item, path));
    char *head = str_printf("%.*s", (int)(dot - path), path);
    const json_t *inner = json_object_get(item, head);
    free(head);
    return trail_text(inner, dot + 1);
}

static int is(const json_t *it, const char *path, const char *want)
{
    const char *v = trail_text(it, path);
    return v != NULL && strcmp(v, want) == 0;
}

json_t *trail_find(json_t *items, const char *action, const char *resource_type)
{
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        if (is(it, "what.action", action) && is(it, "what.resourceType", resource_type))
            return it;
    }
    return NULL;
}

size_t trail_count(json_t *items, const char *action, const char *resource_type)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        n += is(it, "what.action", action) && is(it, "what.resourceType", resource_type);
    }
    return n;
}

/* fuzz_admin_json.c - the identity admin API's bodies: strict JSON parsing, then every body
 * reader (person, organisation, role, family link, client) on the same value, and the renaming
 * of the refusal into a JSON Pointer; what validates must satisfy the readers' promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "identity/admin_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A refusal names a member (or the body) and its renamed form is still one line of text. */
static void check_refusal(const struct err *e)
{
    struct err p;
    if (e->code != ERR_INVALID || e->msg[0] == '\0')
        abort();
    if (e->msg[0] != '/' && strncmp(e->msg, "the body", 8) != 0)
        abort();
    id_admin_pointer_error(e, &p);
    if (strcmp(p.msg, e->msg) != 0) /* already a pointer: unchanged */
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    json_t *in = jsonx_parse((const char *)data, size, &e);
    if (in == NULL)
        return 0;

    struct id_person_new person;
    if (id_admin_person_from_json(in, &person, &e) == 0) {
        if (person.family_name_kanji == NULL || person.birth_date == NULL ||
            person.district == NULL || (unsigned)person.sex > ID_SEX_UNKNOWN)
            abort();
        if (person.coords.set &&
            (person.coords.lat_e6 > 1000000000LL || person.coords.lat_e6 < -1000000000LL))
            abort();
    } else {
        check_refusal(&e);
    }

    struct id_org_new org;
    if (id_admin_org_from_json(in, &org, &e) == 0) {
        if (org.name_ja == NULL || org.district == NULL ||
            (unsigned)org.kind > ID_ORG_RESEARCH_BODY)
            abort();
    } else {
        check_refusal(&e);
    }

    const char *org_id;
    enum id_role_kind role;
    if (id_admin_role_from_json(in, &org_id, &role, &e) == 0) {
        if (org_id == NULL || (unsigned)role > ID_ROLE_AUDITOR)
            abort();
    } else {
        check_refusal(&e);
    }

    struct id_family_link_new link;
    if (id_admin_link_from_json(in, &link, &e) == 0) {
        char text[ID_RIGHTS_TEXT_MAX];
        unsigned again = 0;
        if (link.delegate_id == NULL || link.valid_until_ms < 0 ||
            id_rights_parse(id_rights_format(link.rights, text), &again, NULL) != 0 ||
            again != link.rights)
            abort();
    } else {
        check_refusal(&e);
    }

    struct id_client_new client;
    const char *uris[ID_CLIENT_REDIRECTS_MAX];
    if (id_admin_client_from_json(in, &client, uris, &e) == 0) {
        if (client.name == NULL || client.scopes == NULL || client.grant_types == 0 ||
            client.n_redirect_uris > ID_CLIENT_REDIRECTS_MAX)
            abort();
        for (size_t i = 0; i < client.n_redirect_uris; i++)
            if (id_client_check_uri(client.redirect_uris[i], NULL) != 0)
                abort();
    } else {
        check_refusal(&e);
    }
    json_decref(in);
    return 0;
}

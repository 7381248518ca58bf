/* fuzz_family_json.c - the family API's bodies (src/identity/family_api.c): strict JSON, then
 * the invitation, rights and code readers on the same value. What validates keeps the readers'
 * promises (known rights only, "everything" alone, an end after now, a code of 32 characters
 * of the alphabet); every refusal names a member as a JSON Pointer or the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "identity/family_api.h"
#include "identity/person.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KNOWN_RIGHTS                                                                               \
    (ID_RIGHT_SEE_RECORD | ID_RIGHT_SEE_ALERTS | ID_RIGHT_BOOK_APPOINTMENTS |                      \
     ID_RIGHT_MANAGE_CONSENTS | ID_RIGHT_EVERYTHING)

static void check_refusal(const struct err *e)
{
    if (e->code != ERR_INVALID || (e->msg[0] != '/' && strncmp(e->msg, "the body", 8) != 0))
        abort();
}

static void check_rights(unsigned r)
{
    if (r == 0 || (r & ~KNOWN_RIGHTS) != 0 ||
        ((r & ID_RIGHT_EVERYTHING) != 0 && r != ID_RIGHT_EVERYTHING))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    json_t *in = jsonx_parse((const char *)data, size, &e);
    if (in == NULL)
        return 0;
    const int64_t now = 1796000000000LL;
    unsigned rights = 0;
    int64_t until = 0;
    if (id_family_invite_from_json(in, now, &rights, &until, &e) == 0) {
        check_rights(rights);
        if (until != 0 && until <= now)
            abort();
    } else {
        check_refusal(&e);
    }
    if (id_family_rights_from_json(in, &rights, &e) == 0)
        check_rights(rights);
    else
        check_refusal(&e);
    char code[ID_FAMILY_CODE_LEN + 1];
    if (id_family_code_from_json(in, code, &e) == 0) {
        if (strlen(code) != ID_FAMILY_CODE_LEN ||
            strspn(code, "0123456789abcdefghjkmnpqrstvwxyz") != ID_FAMILY_CODE_LEN)
            abort();
    } else {
        check_refusal(&e);
    }
    json_decref(in);
    return 0;
}

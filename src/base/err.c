/* err.c - filling and naming struct err (see err.h for the convention). */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (e != NULL) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void err_clear(struct err *e)
{
    if (e != NULL) {
        e->code = ERR_OK;
        e->msg[0] = '\0';
    }
}

const char *err_name(int code)
{
    switch (code) {
    case ERR_OK:
        return "ok";
    case ERR_NOMEM:
        return "nomem";
    case ERR_INVALID:
        return "invalid";
    case ERR_NOTFOUND:
        return "notfound";
    case ERR_CONFLICT:
        return "conflict";
    case ERR_IO:
        return "io";
    case ERR_UNAVAILABLE:
        return "unavailable";
    case ERR_TOOBIG:
        return "toobig";
    default:
        return "internal";
    }
}

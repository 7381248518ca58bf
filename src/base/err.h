/* err.h - the one error convention: functions return an int status (0 ok, negative ERR_* code)
 * and, when the caller passes one, fill a caller-owned struct err with a readable reason. */
#ifndef COS_ERR_H
#define COS_ERR_H

enum err_code {
    ERR_OK = 0,
    ERR_NOMEM = -1,       /* out of memory */
    ERR_INVALID = -2,     /* the caller's input is wrong */
    ERR_NOTFOUND = -3,    /* no such thing */
    ERR_CONFLICT = -4,    /* exists already, or a constraint would break */
    ERR_IO = -5,          /* the disk or the OS failed */
    ERR_UNAVAILABLE = -6, /* shutting down, queue closed */
    ERR_INTERNAL = -7,    /* a bug or an unexpected library answer */
    ERR_TOOBIG = -8,      /* a bound was exceeded */
};

struct err {
    int code;      /* an ERR_* value */
    char msg[256]; /* human-readable, NUL-terminated, never personal data */
};

/* Records code and a printf-style reason in e (which may be NULL). Returns code, so a caller can
 * write `return err_set(e, ERR_IO, "open %s: %s", path, strerror(errno));`. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Resets e to ERR_OK with an empty message. e may be NULL. */
void err_clear(struct err *e);

/* A short stable name for an ERR_* code ("invalid", "io", ...). */
const char *err_name(int code);

#endif

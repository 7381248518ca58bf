/* log.h - structured logging: one JSON object per line on stderr. The level is checked before
 * anything is formatted, so a disabled debug line costs one comparison. */
#ifndef COS_LOG_H
#define COS_LOG_H

#include <jansson.h>

enum log_level { LOGL_DEBUG = 0, LOGL_INFO = 1, LOGL_WARN = 2, LOGL_ERROR = 3 };

/* Sets the lowest level written. Returns 0, or ERR_INVALID for an unknown name. */
int log_set_level_name(const char *name);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/* Writes {"ts","level","msg","src"} plus the fields of `fields` (which may be NULL; stolen:
 * the logger decrefs it). Use the macros below, which check the level first. */
void log_write(enum log_level level, const char *file, int line, json_t *fields, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));

#define LOG_AT(lvl, fields, ...)                                                                   \
    do {                                                                                           \
        if (log_enabled(lvl))                                                                      \
            log_write(lvl, __FILE__, __LINE__, fields, __VA_ARGS__);                               \
    } while (0)
#define log_debug(...) LOG_AT(LOGL_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)  LOG_AT(LOGL_INFO, NULL, __VA_ARGS__)
#define log_warn(...)  LOG_AT(LOGL_WARN, NULL, __VA_ARGS__)
#define log_error(...) LOG_AT(LOGL_ERROR, NULL, __VA_ARGS__)

#endif

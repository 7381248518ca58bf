/* log.c - JSON-lines logger on stderr. One fwrite per line under the stdio lock, so lines from
 * different threads never interleave. */
#include "base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/jsonx.h"

static _Atomic int current_level = LOGL_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    atomic_store(&current_level, (int)level);
}

int log_set_level_name(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            log_set_level((enum log_level)i);
            return 0;
        }
    }
    return ERR_INVALID;
}

int log_enabled(enum log_level level)
{
    return (int)level >= atomic_load_explicit(&current_level, memory_order_relaxed);
}

void log_write(enum log_level level, const char *file, int line, json_t *fields, const char *fmt,
               ...)
{
    char msg[1024], ts[32], src[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *base = strrchr(file, '/');
    snprintf(src, sizeof src, "%s:%d", base ? base + 1 : file, line);

    json_t *o = json_object();
    if (o == NULL) {
        json_decref(fields);
        return;
    }
    json_object_set_new(o, "ts", json_string(clock_format_ms(clock_now_ms(), ts, sizeof ts)));
    json_object_set_new(o, "level", json_string(level_names[level]));
    json_object_set_new(o, "msg", json_string(msg));
    if (fields != NULL) {
        json_object_update(o, fields);
        json_decref(fields);
    }
    json_object_set_new(o, "src", json_string(src));
    size_t n = 0;
    char *text = jsonx_dumps(o, &n);
    json_decref(o);
    if (text == NULL)
        return;
    text[n] = '\n'; /* replaces the NUL; the line is written by length */
    flockfile(stderr);
    fwrite(text, 1, n + 1, stderr);
    fflush(stderr);
    funlockfile(stderr);
    text[n] = '\0';
    free(text);
}

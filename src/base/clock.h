/* clock.h - wall-clock and monotonic time, and RFC 3339 timestamps (UTC). */
#ifndef COS_CLOCK_H
#define COS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic nanoseconds, for durations. */
uint64_t clock_mono_ns(void);

/* Wall-clock milliseconds since the Unix epoch. */
int64_t clock_now_ms(void);

/* Writes ms as "2026-11-24T20:24:46.123Z" into buf (at least 25 bytes). Returns buf. */
char *clock_format_ms(int64_t ms, char *buf, size_t size);

/* Parses an RFC 3339 date-time with a zone ("Z" or "+09:00"), seconds required, fraction
 * optional (milliseconds kept). Returns 0 and sets *ms, or ERR_INVALID (also for instants
 * outside years 0000-9999 UTC, which clock_format_ms could not write back). */
int clock_parse_rfc3339(const char *s, int64_t *ms);

#endif

/* problem.h - RFC 9457 problem+json error responses, built here and nowhere else. Each problem
 * type has one row (slug, status, title); the type URI is "/problems/<slug>". */
#ifndef COS_HTTP_PROBLEM_H
#define COS_HTTP_PROBLEM_H

#include "http/request.h"

/* Sets an application/problem+json response of the given type with a printf-style detail (never
 * personal data). An unknown slug becomes a 500 "internal-error". Logs the problem with the
 * caller's file and line at debug level (warn for 5xx). */
void http_problem_at(struct http_request *req, const char *file, int line, const char *slug,
                     const char *detail_fmt, ...) __attribute__((format(printf, 5, 6)));

#define http_problem(req, slug, ...) http_problem_at(req, __FILE__, __LINE__, slug, __VA_ARGS__)

/* Checks that the query holds only names in allowed (NULL-terminated), each once
 * (http_query_only). Returns 1, or answers 400 "invalid-parameter" naming the first unknown or
 * repeated name and returns 0. */
#define http_query_only_or_problem(req, allowed)                                                   \
    http_query_only_or_problem_at(req, __FILE__, __LINE__, allowed)
int http_query_only_or_problem_at(struct http_request *req, const char *file, int line,
                                  const char *const *allowed);

/* Status code of a problem type, or 0 for an unknown slug. */
int http_problem_status(const char *slug);

/* Builds a problem body without a request (for the server's own early answers). Returns a
 * malloc'ed NUL-terminated string the caller frees, or NULL. */
char *http_problem_body(const char *slug, const char *detail, const char *instance,
                        const char *request_id);

#endif

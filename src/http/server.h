/* server.h - the HTTP server on libmicrohttpd: a thread pool, keep-alive, bounded headers and
 * bodies, timeouts, request ids, one access-log line per request, graceful draining. */
#ifndef COS_HTTP_SERVER_H
#define COS_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "http/router.h"

struct http_server_options {
    const char *listen;     /* numeric IPv4 or IPv6 address */
    int port;               /* 0: any free port (see http_server_port) */
    int threads;            /* worker threads, >= 1 */
    size_t body_limit;      /* bytes; larger bodies get 413 */
    size_t header_limit;    /* bytes of request line plus headers; more gets 431 */
    int connection_timeout; /* seconds idle before a connection is closed */
    int request_timeout;    /* seconds to receive one whole request */
};

struct http_server;

/* Binds the socket and starts serving r (which must outlive the server). On success *out is
 * owned by the caller (http_server_stop). Fails with ERR_IO and a message such as
 * "cannot listen on 127.0.0.1:8080: Address already in use". */
int http_server_start(struct http_server **out, const struct http_server_options *o,
                      struct http_router *r, struct err *e);

/* The port actually bound. */
int http_server_port(const struct http_server *s);

/* Requests received but not yet answered and logged. */
uint64_t http_server_inflight(const struct http_server *s);

/* Is the server draining (for /health)? */
int http_server_draining(const struct http_server *s);

/* Stops accepting connections, answers further requests on open connections with
 * "Connection: close", and waits up to grace_seconds for in-flight requests to finish.
 * Returns the number still in flight when it gave up (0 when all finished). */
uint64_t http_server_drain(struct http_server *s, int grace_seconds);

/* Stops the threads, closes every connection and frees the server. NULL is fine. */
void http_server_stop(struct http_server *s);

#endif

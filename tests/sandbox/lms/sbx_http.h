/* sbx_http: the libmicrohttpd server: a thread pool with epoll, request
 * bodies collected up to a cap, latency faults served by suspending the
 * connection (sbx_delay) so no worker thread waits. */
#ifndef SBX_HTTP_H
#define SBX_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sbx_world.h"

struct sbx_server;

/* Starts serving w (borrowed until sbx_server_stop) on addr. threads is the
 * MHD thread pool size. NULL with err set on failure. */
struct sbx_server *sbx_server_start(struct sbx_world *w, const struct sockaddr *addr,
                                    unsigned threads, char *err, size_t errlen);
uint16_t sbx_server_port(const struct sbx_server *s);
/* Stops accepting, answers delayed requests at once, stops and frees. */
void sbx_server_stop(struct sbx_server *s);

#endif

/* ksb_control: the HTTP control endpoint of kafka-sandbox (fault injection
 * and status, JSON answers). Requests are served one at a time by one
 * libmicrohttpd thread, the only caller of the ksb_cluster while it runs.
 * The routes are documented in README.md. */
#ifndef KSB_CONTROL_H
#define KSB_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "ksb_cluster.h"

typedef struct ksb_control ksb_control;

/* Starts serving on IPv4 address `host` (dotted quad) and `port` (0 = pick
 * a free one). `cluster` is borrowed until ksb_control_destroy(). Returns
 * NULL with a message in errbuf. */
ksb_control *ksb_control_new(ksb_cluster *cluster, const char *host, uint16_t port, char *errbuf,
                             size_t errlen);

/* The port actually bound. */
uint16_t ksb_control_port(const ksb_control *ctl);

/* Stops serving (waits for the request in progress) and frees. Accepts
 * NULL; returns NULL. */
ksb_control *ksb_control_destroy(ksb_control *ctl);

#endif

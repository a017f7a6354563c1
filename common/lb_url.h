/* lb_url: the URL rules of the event contract and of the configuration.
 * Pure functions. */
#ifndef LB_URL_H
#define LB_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "lb_strbuf.h"

/* The event contract's https URL: `https://host[:port][/?#...]`, host of
 * letters, digits, dots and dashes, no whitespace, at most 2048 characters
 * (schemas/ has the same rule as a pattern;
 * white space includes the Unicode spaces of the schema's regex dialect). */
bool lb_url_is_https_link(const char *url);

/* An endpoint the configuration may name (api_base_url, token_url,
 * base_url, logo): https, or http when the host is a loopback address
 * (127.0.0.0/8, localhost, [::1]). No user info, no fragment; a query is
 * allowed only when allow_query is true. On failure writes why to `why`. */
bool lb_url_is_endpoint(const char *url, bool allow_query, char *why, size_t whylen);

/* True for 127.0.0.0/8, "localhost" and "[::1]" hosts (host text only). */
bool lb_url_host_is_loopback(const char *host, size_t len);

/* Appends `s` percent-encoded for a query value (RFC 3986 unreserved
 * characters kept) to `b`. Returns 0 or -1 (buffer refused). */
int lb_url_append_encoded(lb_strbuf *b, const char *s);

#endif

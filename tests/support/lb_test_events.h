/* Test support: events for the mapping tests, written as JSON text and
 * parsed by lb_event; a text that does not parse fails the test. Release
 * what they fill with lb_catalog_event_release(). */
#ifndef LB_TEST_EVENTS_H
#define LB_TEST_EVENTS_H

#include "lb_event.h"

/* A catalog.v1 event of `event_type` (event_id "e1", version 7, occurred
 * 2026-01-02T03:04:05Z) whose content object has the members `content`
 * (JSON text without the braces). */
void lb_test_catalog_event(lb_catalog_event *ev, const char *event_type, const char *content);

/* lb_test_catalog_event() for content item "9" of `type`: title "T",
 * description "D", url https://x.example/9, technology null, 4 hours, then
 * the members `extra` ("" or text starting with a comma). */
void lb_test_catalog_item(lb_catalog_event *ev, const char *event_type, const char *type,
                          const char *extra);

#endif

#include "lb_test_events.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

void lb_test_catalog_event(lb_catalog_event *ev, const char *event_type, const char *content)
{
  char buf[4096], err[256];
  snprintf(buf, sizeof(buf),
           "{\"schema\":\"catalog.v1\",\"event_id\":\"e1\",\"event_type\":\"%s\","
           "\"occurred_at\":\"2026-01-02T03:04:05Z\",\"version\":7,\"content\":{%s}}",
           event_type, content);
  if (lb_catalog_event_parse(ev, buf, strlen(buf), err, sizeof(err)) != LB_E_OK)
    fail_msg("bad test event: %s", err);
}

void lb_test_catalog_item(lb_catalog_event *ev, const char *event_type, const char *type,
                          const char *extra)
{
  char content[512];
  snprintf(content, sizeof(content),
           "\"id\":\"9\",\"type\":\"%s\",\"title\":\"T\",\"description\":\"D\","
           "\"url\":\"https://x.example/9\",\"technology\":null,\"duration_hours\":4%s",
           type, extra);
  lb_test_catalog_event(ev, event_type, content);
}

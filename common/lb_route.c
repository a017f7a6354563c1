#include "lb_route.h"

#include <string.h>

lb_route lb_route_catalog(const lb_integration *in, const lb_catalog_event *ev, const char **why)
{
  lb_content_type t = ev->content.type;
  if (t == LB_CT_CUSTOM_TRACK) {
    if (in->provider_level || strcmp(in->organization, ev->content.organization_id) != 0) {
      *why = "custom track of another organization";
      return LB_ROUTE_NONE;
    }
    if (!in->catalog_custom_tracks) {
      *why = "custom tracks are off for this integration (catalog.custom_tracks)";
      return LB_ROUTE_OFF;
    }
    return LB_ROUTE_SEND;
  }
  if (!in->catalog_public) {
    *why = "public content is off for this integration (catalog.public)";
    return LB_ROUTE_NONE;
  }
  if (!(in->catalog_types & LB_CT_BIT(t))) {
    *why = "content type not selected for this integration (catalog.types)";
    return LB_ROUTE_OFF;
  }
  return LB_ROUTE_SEND;
}

lb_route lb_route_completion(const lb_integration *in, const lb_completion_event *ev,
                             const char **why)
{
  if (in->provider_level || strcmp(in->organization, ev->organization_id) != 0) {
    *why = "completion of another organization";
    return LB_ROUTE_NONE;
  }
  if (!in->completions) {
    *why = "completions are off for this integration";
    return LB_ROUTE_OFF;
  }
  if (ev->skipped) {
    *why = "learner tested out (skipped): not sent to any LMS";
    return LB_ROUTE_SKIP;
  }
  if (!lb_content_type_has_completion(ev->content.type)) {
    *why = "content type has no completions (tracks)";
    return LB_ROUTE_SKIP;
  }
  return LB_ROUTE_SEND;
}

#include "lb_plan.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_connector.h"
#include "lb_dlq.h"
#include "lb_event.h"
#include "lb_route.h"

void lb_plan_release(lb_plan *plan)
{
  if (!plan)
    return;
  for (size_t i = 0; i < plan->n; i++)
    lb_request_list_release(&plan->items[i].requests);
  free(plan->items);
  free(plan->event_id);
  free(plan->item_key);
  free(plan->dlq_message);
  *plan = (lb_plan){ 0 };
}

static lb_plan_item *add_item(lb_plan *plan, size_t cap, const lb_integration *in)
{
  if (!plan->items && !(plan->items = calloc(cap ? cap : 1, sizeof(lb_plan_item))))
    return NULL;
  lb_plan_item *it = &plan->items[plan->n++];
  it->integration = in;
  lb_request_list_init(&it->requests);
  return it;
}

/* Adds the item a routing decision calls for: NULL for LB_ROUTE_NONE
 * (*failed false) or out of memory (*failed true); a skip is complete. */
static lb_plan_item *routed_item(lb_plan *plan, size_t cap, const lb_integration *in, lb_route r,
                                 const char *why, bool *failed)
{
  *failed = false;
  if (r == LB_ROUTE_NONE)
    return NULL;
  lb_plan_item *it = add_item(plan, cap, in);
  if (!it) {
    *failed = true;
    return NULL;
  }
  if (r == LB_ROUTE_SKIP || r == LB_ROUTE_OFF) {
    it->skip = true;
    it->quiet = r == LB_ROUTE_OFF;
    it->reason = why;
  }
  return it;
}

/* The integration candidates[k] names: cfg's lookups (lb_config_by_organization,
 * lb_config_public_catalog) answer NULL for "every integration" when cfg
 * has no index. */
static const lb_integration *candidate(const lb_config *cfg, const size_t *candidates, size_t k)
{
  return &cfg->integrations[candidates ? candidates[k] : k];
}

/* LB_E_OK, or LB_E_NOMEM when the message cannot be kept */
static lb_err dead_letter(lb_plan *plan, const char *cls, const char *msg)
{
  plan->dead_letter = true;
  plan->dlq_class = cls;
  plan->dlq_message = strndup(msg, LB_PLAN_DLQ_MESSAGE_MAX - 1);
  return plan->dlq_message ? LB_E_OK : LB_E_NOMEM;
}

lb_err lb_plan_catalog(const lb_config *cfg, const char *value, size_t len, int64_t now_ms,
                       lb_plan *ret)
{
  char err[400], key[160];
  lb_catalog_event ev;
  lb_err rc;

  *ret = (lb_plan){ 0 };
  rc = lb_catalog_event_parse(&ev, value, len, err, sizeof(err));
  if (rc == LB_E_EVENT)
    return dead_letter(ret, lb_dlq_reasons[LB_DLQ_INVALID_EVENT], err);
  if (rc != LB_E_OK)
    return rc;
  ret->event_id = strdup(ev.event_id);
  ret->item_key = strdup(lb_content_external_id(ev.content.type, ev.content.id, key, sizeof(key)));
  ret->version = ev.version;
  ret->archived = ev.event_type == LB_CATALOG_ARCHIVED;
  rc = LB_E_NOMEM;
  if (!ret->event_id || !ret->item_key)
    goto out;
  /* the integrations lb_route_catalog may not answer LB_ROUTE_NONE for:
   * a custom track's organization's, or those taking public content */
  size_t n;
  const size_t *candidates = ev.content.type == LB_CT_CUSTOM_TRACK
                                 ? lb_config_by_organization(cfg, ev.content.organization_id, &n)
                                 : lb_config_public_catalog(cfg, &n);
  for (size_t i = 0; i < n; i++) {
    const lb_integration *in = candidate(cfg, candidates, i);
    const lb_connector *k = lb_connector_of(in->type);
    const char *why = NULL;
    bool failed;
    if (!k->map_catalog)
      continue; /* a connector of completions only */
    lb_route r = lb_route_catalog(in, &ev, &why);
    lb_plan_item *it = routed_item(ret, n, in, r, why, &failed);
    if (failed)
      goto out;
    if (!it || it->skip)
      continue;
    why = NULL;
    if (k->map_catalog(&ev, in, &cfg->provider, now_ms, &it->requests, &why) != LB_E_OK)
      goto out;
    if (it->requests.n == 0) {
      it->skip = true;
      it->reason = why ? why : "not sent by the connector";
    }
  }
  rc = LB_E_OK;
out:
  lb_catalog_event_release(&ev);
  if (rc != LB_E_OK)
    lb_plan_release(ret);
  return rc;
}

lb_err lb_plan_completion(const lb_config *cfg, const char *value, size_t len, int64_t now_ms,
                          lb_plan *ret)
{
  char err[400];
  lb_completion_event ev;
  lb_err rc;

  *ret = (lb_plan){ 0 };
  rc = lb_completion_event_parse(&ev, value, len, err, sizeof(err));
  if (rc == LB_E_EVENT)
    return dead_letter(ret, lb_dlq_reasons[LB_DLQ_INVALID_EVENT], err);
  if (rc != LB_E_OK)
    return rc;
  rc = LB_E_NOMEM;
  if (!(ret->event_id = strdup(ev.event_id)))
    goto out;
  /* the integrations lb_route_completion may not answer LB_ROUTE_NONE
   * for: the event's organization's */
  size_t n;
  const size_t *candidates = lb_config_by_organization(cfg, ev.organization_id, &n);
  for (size_t i = 0; i < n; i++) {
    const lb_integration *in = candidate(cfg, candidates, i);
    const lb_connector *k = lb_connector_of(in->type);
    const char *why = NULL;
    bool failed;
    if (!k->map_completion)
      continue; /* a connector of catalogs only */
    lb_route r = lb_route_completion(in, &ev, &why);
    lb_plan_item *it = routed_item(ret, n, in, r, why, &failed);
    if (failed)
      goto out;
    if (!it || it->skip)
      continue;
    why = NULL;
    if (k->map_completion(&ev, in, &cfg->provider, now_ms, &it->requests, &why) != LB_E_OK)
      goto out;
    if (it->requests.n == 0) {
      it->skip = true;
      it->reason = why ? why : "not sent by the connector";
    }
  }
  rc = LB_E_OK;
out:
  lb_completion_event_release(&ev);
  if (rc != LB_E_OK)
    lb_plan_release(ret);
  return rc;
}

#include "lb_connector.h"

#include <stdio.h>
#include <string.h>

#include "lb_conn_degreed.h"
#include "lb_conn_successfactors.h"
#include "lb_conn_xapi.h"

/* Indexed by lb_integ_type. */
static const lb_connector *const connectors[] = {
  [LB_INTEG_DEGREED] = &lb_conn_degreed,
  [LB_INTEG_SUCCESSFACTORS] = &lb_conn_successfactors,
  [LB_INTEG_XAPI] = &lb_conn_xapi,
};
_Static_assert(sizeof(connectors) / sizeof(connectors[0]) == LB_INTEG__COUNT,
               "one connector per integration type");

const lb_connector *lb_connector_of(lb_integ_type type)
{
  return (unsigned)type < LB_INTEG__COUNT ? connectors[type] : NULL;
}

const lb_connector *lb_connector_find(const char *name)
{
  for (size_t i = 0; name && i < LB_INTEG__COUNT; i++)
    if (strcmp(connectors[i]->name, name) == 0)
      return connectors[i];
  return NULL;
}

const lb_connector *const *lb_connector_all(size_t *ret_n)
{
  *ret_n = LB_INTEG__COUNT;
  return connectors;
}

const char *lb_connector_names(void)
{
  static char names[256];
  if (!names[0]) {
    size_t len = 0;
    for (size_t i = 0; i < LB_INTEG__COUNT; i++) {
      const char *sep = i == 0 ? "" : i + 1 == LB_INTEG__COUNT ? " or " : ", ";
      int n = snprintf(names + len, sizeof(names) - len, "%s%s", sep, connectors[i]->name);
      if (n > 0 && (size_t)n < sizeof(names) - len)
        len += (size_t)n;
    }
  }
  return names;
}

lb_verdict lb_connector_classify(const lb_connector *k, lb_step step, int status, const char *body,
                                 size_t len)
{
  lb_verdict v = lb_classify(step, status, body, len);
  if (k && k->classify)
    k->classify(step, status, body, len, &v);
  return v;
}

void lb_connector_take_oauth_client(lb_config_reader *r, const lb_config_group *g,
                                    const char *prefix, lb_integration *in)
{
  in->auth = LB_AUTH_OAUTH2;
  lb_config_take_credential(r, g, prefix, "client_id", false, false, &in->client_id,
                            &in->client_id_ref);
  lb_config_take_credential(r, g, prefix, "client_secret", true, true, &in->client_secret,
                            &in->client_secret_ref);
}

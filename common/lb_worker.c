/* lb_worker: the two daemons' descriptors. Their names, default topics and
 * scopes are contracts (docs/configuration.md) shared by the daemons and
 * dlq-replay; the checks keep one daemon off the other's topics. */
#include <stdlib.h>
#include <string.h>

#include "lb_strbuf.h"
#include "lb_worker.h"

static const char *catalog_foreign(const char *value, size_t len);
static const char *completion_foreign(const char *value, size_t len);

const lb_worker lb_worker_catalog = {
  .name = "catalog-worker",
  .default_topic = "catalog-events",
  .default_scopes = "content:read,content:write",
  .summary = "Consumes catalog-events and keeps the provider's catalog in "
             "every customer's Degreed and SuccessFactors (OCN).",
  .plan = lb_plan_catalog,
  .foreign_event = catalog_foreign,
  .keeps_state = true,
};

const lb_worker lb_worker_completion = {
  .name = "completion-worker",
  .default_topic = "completion-events",
  .default_scopes = "completions:write",
  .skill_ratings_scope = "skill_ratings:write",
  .summary = "Consumes completion-events and records each learner's "
             "completion in their employer's Degreed or SuccessFactors.",
  .plan = lb_plan_completion,
  .foreign_event = completion_foreign,
};

const lb_worker *const lb_worker_all[] = { &lb_worker_catalog, &lb_worker_completion, NULL };

/* Whether `value` is a valid event of o: o's planner, given no
 * integrations, dead-letters only what it cannot parse. */
static bool valid_for(const lb_worker *o, const char *value, size_t len)
{
  static const lb_config none;
  lb_plan plan;
  if (o->plan(&none, value, len, 0, &plan) != LB_E_OK)
    return false;
  bool valid = !plan.dead_letter;
  lb_plan_release(&plan);
  return valid;
}

/* The name of the other daemon whose valid event `value` is, else NULL. */
static const char *foreign_of(const lb_worker *w, const char *value, size_t len)
{
  for (size_t i = 0; lb_worker_all[i]; i++)
    if (lb_worker_all[i] != w && valid_for(lb_worker_all[i], value, len))
      return lb_worker_all[i]->name;
  return NULL;
}

static const char *catalog_foreign(const char *value, size_t len)
{
  return foreign_of(&lb_worker_catalog, value, len);
}

static const char *completion_foreign(const char *value, size_t len)
{
  return foreign_of(&lb_worker_completion, value, len);
}

const lb_worker *lb_worker_find(const char *name)
{
  for (size_t i = 0; name && lb_worker_all[i]; i++)
    if (strcmp(lb_worker_all[i]->name, name) == 0)
      return lb_worker_all[i];
  return NULL;
}

/* Whether `topic` is o's topic, retry, dead-letter or state topic by
 * default. */
static bool others_topic(const lb_worker *o, const char *topic)
{
  size_t n = strlen(o->default_topic);
  return topic && strncmp(topic, o->default_topic, n) == 0 &&
         (topic[n] == '\0' || strcmp(topic + n, LB_CONFIG_RETRY_SUFFIX) == 0 ||
          strcmp(topic + n, LB_CONFIG_DLQ_SUFFIX) == 0 ||
          strcmp(topic + n, LB_CONFIG_STATE_SUFFIX) == 0);
}

static void finding(lb_strbuf *b, const lb_config *cfg, const lb_worker *w, const lb_worker *o,
                    const char *key, const char *value, const char *what)
{
  lb_strbuf_appendf(b, "%s: %s: \"%s\" is %s's %s, not %s's\n",
                    cfg->path ? cfg->path : "configuration", key, value, o->name, what, w->name);
}

lb_err lb_worker_check_config(const lb_worker *w, const lb_config *cfg, char **ret_errors)
{
  lb_strbuf b;
  lb_err rc = LB_E_OK;
  lb_strbuf_init(&b, 64 * 1024);
  for (size_t k = 0; w && lb_worker_all[k]; k++) {
    const lb_worker *o = lb_worker_all[k];
    size_t before = b.len;
    if (o == w)
      continue;
    if (cfg->kafka.group_id && strcmp(cfg->kafka.group_id, o->name) == 0)
      finding(&b, cfg, w, o, "kafka.group_id", cfg->kafka.group_id, "consumer group");
    for (size_t i = 0; i < cfg->kafka.ntopics; i++)
      if (others_topic(o, cfg->kafka.topics[i]))
        finding(&b, cfg, w, o, "kafka.topics", cfg->kafka.topics[i], "topic");
    if (others_topic(o, cfg->kafka.retry_topic))
      finding(&b, cfg, w, o, "kafka.retry_topic", cfg->kafka.retry_topic, "topic");
    if (others_topic(o, cfg->kafka.dlq_topic))
      finding(&b, cfg, w, o, "kafka.dlq_topic", cfg->kafka.dlq_topic, "topic");
    if (others_topic(o, cfg->kafka.state_topic))
      finding(&b, cfg, w, o, "kafka.state_topic", cfg->kafka.state_topic, "topic");
    if (b.len > before)
      lb_strbuf_appendf(&b,
                        "%s: kafka: this looks like %s's file: start %s with it, or give %s "
                        "its own (by default group_id \"%s\", topics [\"%s\"])\n",
                        cfg->path ? cfg->path : "configuration", o->name, o->name, w->name, w->name,
                        w->default_topic);
  }
  if (w && !w->keeps_state && cfg->kafka.state_topic && b.len == 0)
    lb_strbuf_appendf(&b,
                      "%s: kafka.state_topic: %s keeps no catalog state: only %s has a "
                      "state topic; remove the key\n",
                      cfg->path ? cfg->path : "configuration", w->name, lb_worker_catalog.name);
  if (b.overflow) {
    /* out of memory (the cap is far above two daemons' findings): say so,
     * as lb_config_load does, in the little memory freed by dropping the rest */
    lb_strbuf_release(&b);
    if (lb_strbuf_appendf(&b, "%s: out of memory\n", cfg->path ? cfg->path : "configuration") == 0)
      *ret_errors = lb_strbuf_detach(&b);
    rc = LB_E_NOMEM;
  } else if (b.len > 0) {
    *ret_errors = lb_strbuf_detach(&b);
    rc = LB_E_CONFIG;
  }
  lb_strbuf_release(&b);
  return rc;
}

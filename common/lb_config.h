/* lb_config: one libconfig file per daemon (docs/configuration.md), parsed
 * and validated once at start-up, immutable afterwards. Secret references
 * are resolved here (see lb_secret.h). Every problem found is reported as
 * "file:line: key: what", all of them, not only the first. */
#ifndef LB_CONFIG_H
#define LB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lb_content.h"
#include "lb_error.h"
#include "lb_log.h"

/* The LMS type of an integration: which connector (lb_connector.h) serves
 * it. */
typedef enum { LB_INTEG_DEGREED, LB_INTEG_SUCCESSFACTORS, LB_INTEG_XAPI } lb_integ_type;
#define LB_INTEG__COUNT (LB_INTEG_XAPI + 1)
/* How requests to an LMS authenticate: an OAuth2 client-credentials token
 * (token_url, client_id, client_secret) or HTTP Basic (username,
 * password). */
typedef enum { LB_AUTH_OAUTH2, LB_AUTH_BASIC } lb_auth_kind;
typedef enum { LB_DC_US, LB_DC_EU, LB_DC_CA } lb_datacenter;
/* Which learner identifier an integration sends. */
typedef enum {
  LB_UID_EMAIL,
  LB_UID_SSO_NAMEID,
  LB_UID_LMS_USERNAME,
} lb_user_id_kind;

/* A name/value pair; `ref` is the "@env:..."/"@file:..." reference the
 * value was read from (the value is then a secret), NULL for literals. */
typedef struct {
  char *name;
  char *value;
  char *ref;
} lb_config_pair;

typedef struct {
  char *id;
  lb_integ_type type;
  char *organization;  /* "*" for the provider-level integration */
  bool provider_level; /* organization == "*" */
  int line;            /* where it is defined, for messages */

  /* Endpoints, without a trailing slash. For Degreed, api_base_url is the
   * datacenter's API host (or the override), token_url its OAuth URL; for
   * SuccessFactors api_base_url is base_url. */
  lb_datacenter datacenter;
  char *api_base_url;
  char *token_url;
  char *scopes; /* Degreed: comma-separated OAuth scopes */

  lb_auth_kind auth;
  char *client_id;
  char *client_secret;
  char *client_id_ref;     /* reference it was read from, or NULL */
  char *client_secret_ref; /* always a reference */
  char *username;          /* LB_AUTH_BASIC */
  char *password;
  char *username_ref; /* reference it was read from, or NULL */
  char *password_ref; /* always a reference */

  /* Catalog filter. `types` applies to public content; custom tracks of
   * the integration's organization follow `custom_tracks`. */
  bool catalog_public;
  bool catalog_custom_tracks;
  unsigned catalog_types; /* LB_CT_BIT mask */

  bool completions;
  bool skill_ratings;       /* Degreed: push assessment skill scores */
  char *skill_ratings_path; /* Degreed: appended to api_base_url */
  lb_user_id_kind user_identifier;

  /* SuccessFactors. */
  char *company_id;
  char *admin_user;
  int batch_size;
  int batch_linger_ms;
  int min_post_interval_s;

  int rate_limit_per_minute; /* 0 = none */
  int max_in_flight;

  /* What the integration's connector keeps besides the above (its own
   * settings), freed by its release function; NULL for none. */
  void *conn_data;
} lb_integration;

typedef struct {
  char *code;
  char *ocn_provider_id;
  char *logo_url;
  lb_config_pair *thumbnails; /* technology -> image URL */
  size_t nthumbnails;
  int assessment_num_questions;
  char *activity_iri_base; /* xAPI activity ids start with it; NULL: unset */
} lb_provider;

typedef struct {
  char *path; /* the file it came from */
  char *worker;

  struct {
    char *brokers;
    char *group_id;
    /* group.instance.id (static membership, KIP-345), NULL: none; its
     * reference ("@env:POD_NAME") when it came from one. In kafka-only
     * mode a reference is only checked: the value stays NULL. */
    char *group_instance_id;
    char *group_instance_id_ref;
    char **topics;
    size_t ntopics;
    char *dlq_topic;
    char *retry_topic;
    char *state_topic;          /* the catalog state (lb_state); NULL for a worker
                                   that keeps none (lb_config_defaults.keeps_state) */
    lb_config_pair *properties; /* passed to librdkafka as they are */
    size_t nproperties;
  } kafka;

  lb_provider provider;

  struct {
    int max_in_flight;
    int max_attempts;
    int backoff_initial_ms;
    int backoff_max_ms;
    int retry_budget_s;
    int request_timeout_ms;
    char *ca_bundle; /* NULL: the system's */
  } delivery;

  struct {
    char *listen;
    lb_log_level log_level;
  } observability;

  lb_integration *integrations;
  size_t nintegrations;

  /* Integrations by id and by organization, and those taking public
   * content: built once by lb_config_load, so the per-event lookups do not
   * walk every integration. NULL in a configuration assembled by hand (the
   * lookups then walk them all). Owned; freed by lb_config_release. */
  struct lb_config_index *index;
} lb_config;

/* kafka.dlq_topic and kafka.retry_topic default to the first topic with
 * these appended. */
#define LB_CONFIG_DLQ_SUFFIX ".dlq"
#define LB_CONFIG_RETRY_SUFFIX ".retry"
/* kafka.state_topic defaults to the first topic with this appended (for a
 * worker that keeps the catalog state). */
#define LB_CONFIG_STATE_SUFFIX ".state"

/* Which daemon is loading: its name is the default group id, its topic
 * the default of kafka.topics (dlq/retry topics derive from it). */
typedef struct {
  const char *worker;         /* "catalog-worker" */
  const char *default_topic;  /* "catalog-events" */
  const char *default_scopes; /* Degreed scopes this worker needs */
  /* Scope added to the default scopes of Degreed integrations that push
   * skill ratings (NULL for a worker that sends none). */
  const char *skill_ratings_scope;
  /* Kafka only (dlq-replay, which never talks to an LMS): the credentials
   * of integrations (client_id, client_secret) are not resolved, so their
   * environment variables and files need not exist where it runs. Their
   * form is still checked (client_secret must be a reference) and the
   * reference kept in client_id_ref / client_secret_ref; client_secret,
   * and client_id when it is a reference, stay NULL. Everything else,
   * Kafka properties' references included, is loaded as usual. */
  bool kafka_only;
  /* The worker keeps the catalog state in Kafka (catalog-worker):
   * kafka.state_topic defaults to the first topic + ".state". Else it has
   * no default (NULL unless the file sets it, which lb_worker_check_config
   * refuses). */
  bool keeps_state;
} lb_config_defaults;

/* Loads and validates `path` into *cfg. On failure returns LB_E_CONFIG (or
 * LB_E_NOMEM), leaves *cfg empty, and writes the problems, one per line, as
 * "file:line: key: what" into *ret_errors (a new string, free() it). */
lb_err lb_config_load(lb_config *cfg, const char *path, const lb_config_defaults *defaults,
                      char **ret_errors);

/* Whether libconfig reads the file at `path` (syntax only), read in a
 * child process: libconfig 1.5 leaks the text of a string its parser
 * refuses (a file holding only "" leaks a byte; a stray string, its
 * length), and a daemon that is sent SIGHUP with a broken file, again and
 * again, must not grow. LB_E_CONFIG with the "file:line: (syntax): why"
 * line in *ret_errors (new, free() it), as lb_config_load reports it;
 * LB_E_IO when the child cannot be made. */
lb_err lb_config_syntax_check(const char *path, char **ret_errors);
void lb_config_release(lb_config *cfg);

const lb_integration *lb_config_integration(const lb_config *cfg, const char *id);
/* The integrations whose `organization` is `org` ("*": the provider-level
 * ones), in the file's order: *n indices into cfg->integrations, borrowed
 * from cfg. Without an index (cfg->index NULL) the answer is NULL with *n
 * = cfg->nintegrations, meaning every integration, for the caller to
 * judge; with one, NULL means none. */
const size_t *lb_config_by_organization(const lb_config *cfg, const char *org, size_t *n);
/* The integrations with catalog.public true, in the file's order, as
 * lb_config_by_organization answers. */
const size_t *lb_config_public_catalog(const lb_config *cfg, size_t *n);
/* Whether kafka.properties sets `name`. */
bool lb_config_property_given(const lb_config *cfg, const char *name);
/* Image for a technology (case-insensitive), else the provider logo. */
const char *lb_provider_thumbnail(const lb_provider *p, const char *technology);

const char *lb_integ_type_name(lb_integ_type t);
const char *lb_user_id_kind_name(lb_user_id_kind k);

/* ---- Reading an integration's settings, for connectors ----
 * A connector's load function (lb_connector.h) reads its settings with
 * these; problems are reported as "file:line: <prefix>.<name>: what" and
 * loading goes on, so that every problem is reported. */
typedef struct lb_config_reader lb_config_reader;
typedef struct config_setting_t lb_config_group; /* libconfig's */

/* Member `name` of g as a string: NULL when absent (reported when
 * required), not a string or empty while required (reported). Borrowed
 * from libconfig until lb_config_load returns. */
const char *lb_config_get_str(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                              const char *name, bool required);
/* Copies a string member into *out (freeing the default it held); keeps
 * *out when the member is absent. */
void lb_config_take_str(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                        const char *name, bool required, char **out);
void lb_config_take_int(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                        const char *name, long long min, long long max, int *out);
void lb_config_take_bool(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                         const char *name, bool *out);
/* One of `words` (NULL-ended): its index, `dflt` when the member is absent,
 * -1 when it is another word or not a string (reported as unknown `what`,
 * listing the words). */
int lb_config_take_word(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                        const char *name, const char *what, const char *const *words, int dflt);
/* A required credential: a "@env:"/"@file:" reference is resolved (*ret_ref
 * gets a copy of it; a secret is registered for log redaction), a literal
 * is refused when must_be_ref, else copied. For dlq-replay
 * (lb_config_defaults.kafka_only) a reference is only checked. */
void lb_config_take_credential(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                               const char *name, bool must_be_ref, bool secret, char **ret,
                               char **ret_ref);
/* Reports a problem with member `name` (at its line, or at g's when
 * absent; g may be NULL). */
void lb_config_fail(lb_config_reader *r, const lb_config_group *g, const char *prefix,
                    const char *name, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Whether g has member `name`. */
bool lb_config_has(const lb_config_group *g, const char *name);
/* A copy of s (owned by the caller); NULL and the load fails when out of
 * memory. */
char *lb_config_dup(lb_config_reader *r, const char *s);
/* Drops the trailing '/'s of a URL's path (never those of "scheme://"). */
void lb_config_strip_slash(char *url);

/* Prints what --check-config shows: every setting, secrets as
 * "<secret from @env:NAME>", never their values. */
void lb_config_print_summary(const lb_config *cfg, FILE *out);

#endif

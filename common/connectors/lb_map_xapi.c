#include "lb_map_xapi.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "lb_content.h"
#include "lb_json_write.h"
#include "lb_strbuf.h"
#include "lb_time.h"

#define VERB_COMPLETED "http://adlnet.gov/expapi/verbs/completed"
#define ACTIVITY_ASSESSMENT "http://adlnet.gov/expapi/activities/assessment"
#define ACTIVITY_COURSE "http://adlnet.gov/expapi/activities/course"

#define LB_MAP_XAPI_WORD(e, word) word,
static const char *const version_words[] = { LB_MAP_XAPI_VERSION_MAP(LB_MAP_XAPI_WORD) };
static const char *const actor_words[] = { LB_MAP_XAPI_ACTOR_MAP(LB_MAP_XAPI_WORD) };
static const char *const account_name_words[] = { LB_MAP_XAPI_ACCOUNT_NAME_MAP(LB_MAP_XAPI_WORD) };
#undef LB_MAP_XAPI_WORD

/* The header each version sends, in the order of version_words. */
#define LB_MAP_XAPI_HEADER(e, word) "X-Experience-API-Version: " word,
static const char *const version_headers[] = { LB_MAP_XAPI_VERSION_MAP(LB_MAP_XAPI_HEADER) };
#undef LB_MAP_XAPI_HEADER

#define NWORDS(a) (sizeof(a) / sizeof((a)[0]))

static const char *word_of(const char *const *words, size_t n, unsigned i)
{
  return i < n ? words[i] : "?";
}

static int word_parse(const char *const *words, size_t n, const char *s, unsigned *ret)
{
  for (unsigned i = 0; s && i < n; i++) {
    if (strcmp(s, words[i]) == 0) {
      *ret = i;
      return 0;
    }
  }
  return -1;
}

const char *lb_map_xapi_version_name(lb_map_xapi_version v)
{
  return word_of(version_words, NWORDS(version_words), (unsigned)v);
}

int lb_map_xapi_version_parse(const char *s, lb_map_xapi_version *ret)
{
  unsigned i;
  if (word_parse(version_words, NWORDS(version_words), s, &i) != 0)
    return -1;
  *ret = (lb_map_xapi_version)i;
  return 0;
}

const char *lb_map_xapi_actor_name(lb_map_xapi_actor a)
{
  return word_of(actor_words, NWORDS(actor_words), (unsigned)a);
}

int lb_map_xapi_actor_parse(const char *s, lb_map_xapi_actor *ret)
{
  unsigned i;
  if (word_parse(actor_words, NWORDS(actor_words), s, &i) != 0)
    return -1;
  *ret = (lb_map_xapi_actor)i;
  return 0;
}

const char *lb_map_xapi_account_name_name(lb_map_xapi_account_name n)
{
  return word_of(account_name_words, NWORDS(account_name_words), (unsigned)n);
}

int lb_map_xapi_account_name_parse(const char *s, lb_map_xapi_account_name *ret)
{
  unsigned i;
  if (word_parse(account_name_words, NWORDS(account_name_words), s, &i) != 0)
    return -1;
  *ret = (lb_map_xapi_account_name)i;
  return 0;
}

void lb_map_xapi_request_init(lb_map_xapi_request *r)
{
  *r = (lb_map_xapi_request){ 0 };
}

void lb_map_xapi_request_release(lb_map_xapi_request *r)
{
  if (!r)
    return;
  free(r->url);
  free(r->body);
  free(r->key);
  *r = (lb_map_xapi_request){ 0 };
}

lb_err lb_map_xapi_statement_id(const char *integration_id, const char *event_id,
                                char ret[LB_MAP_XAPI_ID_SIZE])
{
  uuid_t ns, id;
  lb_strbuf name;
  lb_err rc = LB_E_INVALID;

  lb_strbuf_init(&name, 0);
  if (!integration_id || !event_id || uuid_parse(LB_MAP_XAPI_NAMESPACE, ns) != 0)
    goto out;
  rc = LB_E_NOMEM;
  if (lb_strbuf_appendf(&name, "lmsbridge:%s:%s", integration_id, event_id) != 0)
    goto out;
  uuid_generate_sha1(id, ns, name.buf, name.len);
  uuid_unparse_lower(id, ret);
  rc = LB_E_OK;
out:
  lb_strbuf_release(&name);
  return rc;
}

char *lb_map_xapi_duration(double hours, char *buf, size_t len)
{
  char sec[24] = "";
  /* up to 1e9 h (3.6e14 cs) fits int64; events stop at 10000 h */
  if (!(hours >= 0.0) || hours > 1e9)
    return NULL;
  int64_t cs = llround(hours * 360000.0);
  int64_t h = cs / 360000;
  int m = (int)(cs % 360000 / 6000);
  int s = (int)(cs % 6000 / 100), frac = (int)(cs % 100);
  if (frac % 10)
    snprintf(sec, sizeof(sec), "%d.%02dS", s, frac);
  else if (frac)
    snprintf(sec, sizeof(sec), "%d.%dS", s, frac / 10);
  else if (s || cs == 0)
    snprintf(sec, sizeof(sec), "%dS", s);
  char hpart[24] = "", mpart[8] = "";
  if (h)
    snprintf(hpart, sizeof(hpart), "%lldH", (long long)h);
  if (m)
    snprintf(mpart, sizeof(mpart), "%dM", m);
  int n = snprintf(buf, len, "PT%s%s%s", hpart, mpart, sec);
  return n >= 0 && (size_t)n < len ? buf : NULL;
}

/* completed_at as the event wrote it (RFC 3339, already checked), unless
 * it is later than now (sent as now), or has an offset -00:mm or a leap
 * second: those are sent as the same instant in UTC, milliseconds. */
static const char *timestamp(const lb_completion_event *ev, int64_t now_ms, char *buf, size_t len)
{
  const char *t = ev->completed_at;
  size_t n = t ? strlen(t) : 0;
  if (ev->completed_at_ms > now_ms)
    return lb_time_format_rfc3339(now_ms, buf, len);
  if (n < 20 || t[17] == '6' || (t[n - 1] != 'Z' && strncmp(t + n - 6, "-00", 3) == 0))
    return lb_time_format_rfc3339(ev->completed_at_ms, buf, len);
  return t;
}

/* The user field the options name, NULL when the event has none (an
 * empty string counts as none). Borrowed from ev. */
static const char *learner(const lb_completion_event *ev, const lb_map_xapi_options *opt,
                           const char **skip_reason)
{
  const char *v = NULL;
  if (opt->actor == LB_MAP_XAPI_ACTOR_MBOX) {
    v = ev->user.email;
    *skip_reason = "learner has no email, the identifier this integration "
                   "needs (actor mbox)";
  } else if (opt->account_name == LB_MAP_XAPI_NAME_SSO_NAMEID) {
    v = ev->user.sso_nameid;
    *skip_reason = "learner has no sso_nameid, the identifier this "
                   "integration needs (actor account)";
  } else if (opt->account_name == LB_MAP_XAPI_NAME_LMS_USERNAME) {
    v = ev->user.lms_username;
    *skip_reason = "learner has no lms_username, the identifier this "
                   "integration needs (actor account)";
  } else {
    v = ev->user.id;
    *skip_reason = "learner has no id, the identifier this integration "
                   "needs (actor account)";
  }
  return v && *v ? v : NULL;
}

/* {"objectType":"Agent", "mbox":"mailto:..."} or {..., "account":{...}}.
 * False when out of memory. */
static bool actor(lb_json_writer *w, const lb_map_xapi_options *opt, const char *who)
{
  bool ok = true;
  lb_json_write_object_begin(w);
  lb_json_write_name(w, "objectType");
  lb_json_write_string(w, "Agent");
  if (opt->actor == LB_MAP_XAPI_ACTOR_MBOX) {
    lb_strbuf mbox;
    lb_strbuf_init(&mbox, 0);
    lb_strbuf_append(&mbox, "mailto:");
    lb_strbuf_append(&mbox, who);
    ok = !mbox.overflow;
    lb_json_write_name(w, "mbox");
    lb_json_write_string_len(w, ok ? mbox.buf : "", ok ? mbox.len : 0);
    lb_strbuf_release(&mbox);
  } else {
    lb_json_write_name(w, "account");
    lb_json_write_object_begin(w);
    lb_json_write_name(w, "homePage");
    lb_json_write_string(w, opt->account_home_page);
    lb_json_write_name(w, "name");
    lb_json_write_string(w, who);
    lb_json_write_object_end(w);
  }
  lb_json_write_object_end(w);
  return ok;
}

/* `s` without its trailing '/'s, as a length. */
static int trimmed(const char *s)
{
  size_t n = strlen(s);
  while (n > 0 && s[n - 1] == '/')
    n--;
  return (int)n;
}

/* The statement (keys in the order of the mapping rules). New text,
 * NULL on out of memory. */
static char *statement(const lb_completion_event *ev, const lb_map_xapi_options *opt,
                       const char *who, const char *when)
{
  char dur[32];
  lb_strbuf iri, body;
  lb_json_writer w;
  bool assessment = ev->content.type == LB_CT_ASSESSMENT;
  char *text = NULL;

  /* the event contract keeps content ids to letters, digits and ._:-,
   * all of them valid in an IRI path as they are */
  lb_strbuf_init(&iri, 0);
  lb_strbuf_init(&body, 0);
  lb_strbuf_appendf(&iri, "%.*s/%s/%s", trimmed(opt->activity_iri_base), opt->activity_iri_base,
                    lb_content_type_name(ev->content.type), ev->content.id);
  lb_json_write_init(&w, &body);
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "actor");
  if (!actor(&w, opt, who) || iri.overflow)
    goto out;

  lb_json_write_name(&w, "verb");
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "id");
  lb_json_write_string(&w, VERB_COMPLETED);
  lb_json_write_name(&w, "display");
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "en-US");
  lb_json_write_string(&w, "completed");
  lb_json_write_object_end(&w);
  lb_json_write_object_end(&w);

  lb_json_write_name(&w, "object");
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "objectType");
  lb_json_write_string(&w, "Activity");
  lb_json_write_name(&w, "id");
  lb_json_write_string_len(&w, iri.buf, iri.len);
  lb_json_write_name(&w, "definition");
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "type");
  lb_json_write_string(&w, assessment ? ACTIVITY_ASSESSMENT : ACTIVITY_COURSE);
  lb_json_write_object_end(&w);
  lb_json_write_object_end(&w);

  lb_json_write_name(&w, "result");
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "completion");
  lb_json_write_bool(&w, true);
  if (ev->has_duration && lb_map_xapi_duration(ev->duration_hours, dur, sizeof(dur))) {
    lb_json_write_name(&w, "duration");
    lb_json_write_string(&w, dur);
  }
  if (ev->has_score) {
    lb_json_write_name(&w, "score");
    lb_json_write_object_begin(&w);
    lb_json_write_name(&w, "scaled");
    lb_json_write_number(&w, ev->score / 100.0);
    lb_json_write_name(&w, "raw");
    lb_json_write_number(&w, ev->score);
    lb_json_write_name(&w, "min");
    lb_json_write_int64(&w, 0);
    lb_json_write_name(&w, "max");
    lb_json_write_int64(&w, 100);
    lb_json_write_object_end(&w);
  }
  lb_json_write_object_end(&w);

  lb_json_write_name(&w, "timestamp");
  lb_json_write_string(&w, when);
  lb_json_write_name(&w, "context");
  lb_json_write_object_begin(&w);
  lb_json_write_name(&w, "platform");
  lb_json_write_string(&w, opt->platform);
  lb_json_write_object_end(&w);
  lb_json_write_object_end(&w);
  if (lb_json_write_finish(&w) == LB_E_OK)
    text = lb_strbuf_detach(&body);
out:
  lb_strbuf_release(&iri);
  lb_strbuf_release(&body);
  return text;
}

static bool options_valid(const lb_map_xapi_options *opt)
{
  return opt && opt->integration_id && opt->endpoint && opt->platform && opt->activity_iri_base &&
         (unsigned)opt->version < NWORDS(version_words) &&
         (unsigned)opt->actor < NWORDS(actor_words) &&
         (unsigned)opt->account_name < NWORDS(account_name_words) &&
         (opt->actor != LB_MAP_XAPI_ACTOR_ACCOUNT ||
          (opt->account_home_page && *opt->account_home_page));
}

lb_err lb_map_xapi_completion(const lb_completion_event *ev, const lb_map_xapi_options *opt,
                              int64_t now_ms, lb_map_xapi_request *ret, const char **skip_reason)
{
  char ext[160], when[32];
  const char *why = NULL;
  lb_map_xapi_request r;
  lb_strbuf url;
  lb_err rc;

  lb_map_xapi_request_init(&r);
  lb_strbuf_init(&url, 0);
  if (!ev || !options_valid(opt)) {
    rc = LB_E_INVALID;
    goto out;
  }
  if (ev->skipped) {
    *skip_reason = "learner tested out (skipped): not sent to any LMS";
    rc = LB_E_OK;
    goto out;
  }
  if (lb_content_type_is_track(ev->content.type)) {
    *skip_reason = "tracks are not sent as xAPI statements";
    rc = LB_E_OK;
    goto out;
  }
  const char *who = learner(ev, opt, &why);
  if (!who) {
    *skip_reason = why;
    rc = LB_E_OK;
    goto out;
  }

  if ((rc = lb_map_xapi_statement_id(opt->integration_id, ev->event_id, r.statement_id)) != LB_E_OK)
    goto out;
  rc = LB_E_NOMEM;
  lb_strbuf_appendf(&url, "%.*s/statements?statementId=%s", trimmed(opt->endpoint), opt->endpoint,
                    r.statement_id);
  r.body = statement(ev, opt, who, timestamp(ev, now_ms, when, sizeof(when)));
  lb_content_external_id(ev->content.type, ev->content.id, ext, sizeof(ext));
  if (url.overflow || !r.body || !(r.key = strdup(ext)) || !(r.url = lb_strbuf_detach(&url)))
    goto out;
  r.method = "PUT";
  r.headers[0] = version_headers[opt->version];
  r.headers[1] = "Content-Type: application/json";
  r.nheaders = LB_MAP_XAPI_NHEADERS;
  *ret = r;
  lb_map_xapi_request_init(&r); /* now owned by *ret */
  *skip_reason = NULL;
  rc = LB_E_OK;
out:
  lb_strbuf_release(&url);
  lb_map_xapi_request_release(&r);
  return rc;
}

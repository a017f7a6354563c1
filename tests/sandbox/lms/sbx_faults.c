#include "sbx_faults.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sbx_request.h"

#define MAX_LATENCY_MS 600000u

void sbx_faults_clear(struct sbx_faults *f)
{
  memset(f, 0, sizeof(*f));
}

static bool parse_apis(json_object *o, const char *where, bool token_only, unsigned *ret, char *err,
                       size_t errlen)
{
  const char *s;

  if (!o) {
    *ret = token_only ? SBX_API_TOKENS : SBX_API_ALL;
    return true;
  }
  if (!json_object_is_type(o, json_type_string)) {
    snprintf(err, errlen, "%s.api: must be a string", where);
    return false;
  }
  s = json_object_get_string(o);
  if (strcmp(s, "all") == 0)
    *ret = token_only ? SBX_API_TOKENS : SBX_API_ALL;
  else if (strcmp(s, "token") == 0)
    *ret = SBX_API_TOKENS;
  else if (strcmp(s, "degreed") == 0)
    *ret = token_only ? SBX_API_DEGREED_TOKEN : SBX_API_DEGREED;
  else if (strcmp(s, "sf") == 0)
    *ret = token_only ? SBX_API_SF_TOKEN : SBX_API_SF;
  else if (strcmp(s, "xapi") == 0)
    *ret = token_only ? SBX_API_XAPI_TOKEN : SBX_API_XAPI;
  else if (strcmp(s, "degreed_token") == 0)
    *ret = SBX_API_DEGREED_TOKEN;
  else if (strcmp(s, "sf_token") == 0)
    *ret = SBX_API_SF_TOKEN;
  else if (strcmp(s, "xapi_token") == 0)
    *ret = SBX_API_XAPI_TOKEN;
  else {
    snprintf(err, errlen, "%s.api: unknown api '%s' (expected degreed, sf, xapi, token or all)",
             where, s);
    return false;
  }
  return true;
}

static const char *apis_name(unsigned apis)
{
  switch (apis) {
  case SBX_API_ALL:
    return "all";
  case SBX_API_DEGREED:
    return "degreed";
  case SBX_API_SF:
    return "sf";
  case SBX_API_XAPI:
    return "xapi";
  case SBX_API_TOKENS:
    return "token";
  case SBX_API_DEGREED_TOKEN:
    return "degreed_token";
  case SBX_API_SF_TOKEN:
    return "sf_token";
  case SBX_API_XAPI_TOKEN:
    return "xapi_token";
  }
  return "mixed";
}

/* Checks that object o (named where) has only the listed keys. */
static bool only_keys(json_object *o, const char *where, const char *const *keys, char *err,
                      size_t errlen)
{
  if (!json_object_is_type(o, json_type_object)) {
    snprintf(err, errlen, "%s: must be an object or null", where);
    return false;
  }
  json_object_object_foreach(o, key, val)
  {
    size_t i;
    bool ok = false;

    (void)val;
    for (i = 0; keys[i]; i++)
      if (strcmp(keys[i], key) == 0)
        ok = true;
    if (!ok && key[0] != '_') {
      snprintf(err, errlen, "%s: unknown key '%s'", where, key);
      return false;
    }
  }
  return true;
}

static bool get_number(json_object *o, const char *key, const char *where, double min, double max,
                       bool integer, bool required, double *ret, char *err, size_t errlen)
{
  json_object *v = NULL;
  double d;

  if (!json_object_object_get_ex(o, key, &v) || !v) {
    if (required) {
      snprintf(err, errlen, "%s.%s: required", where, key);
      return false;
    }
    return true;
  }
  if (integer
          ? !json_object_is_type(v, json_type_int)
          : !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
    snprintf(err, errlen, "%s.%s: must be %s", where, key, integer ? "an integer" : "a number");
    return false;
  }
  d = json_object_get_double(v);
  if (!isfinite(d) || d < min || d > max) {
    snprintf(err, errlen, "%s.%s: must be between %g and %g", where, key, min, max);
    return false;
  }
  *ret = d;
  return true;
}

static bool parse_mode(json_object *o, const char *where, bool *ret_spread, char *err,
                       size_t errlen)
{
  json_object *v = NULL;
  const char *s;

  *ret_spread = false;
  if (!json_object_object_get_ex(o, "mode", &v) || !v)
    return true;
  s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
  if (strcmp(s, "random") == 0)
    return true;
  if (strcmp(s, "spread") == 0) {
    *ret_spread = true;
    return true;
  }
  snprintf(err, errlen, "%s.mode: must be \"random\" or \"spread\"", where);
  return false;
}

static bool parse_fraction(json_object *o, const char *where, bool with_status,
                           struct sbx_fault_fraction *out, char *err, size_t errlen)
{
  static const char *const keys_status[] = { "rate", "status", "api", "retry_after", "mode", NULL };
  static const char *const keys_plain[] = { "rate", "api", "mode", NULL };
  json_object *api = NULL;
  double rate = 0, status = 500, retry = 0;

  if (!only_keys(o, where, with_status ? keys_status : keys_plain, err, errlen))
    return false;
  if (!get_number(o, "rate", where, 0, 1, false, true, &rate, err, errlen))
    return false;
  if (with_status &&
      (!get_number(o, "status", where, 400, 599, true, false, &status, err, errlen) ||
       !get_number(o, "retry_after", where, 0, 86400, true, false, &retry, err, errlen)))
    return false;
  json_object_object_get_ex(o, "api", &api);
  memset(out, 0, sizeof(*out));
  if (!parse_apis(api, where, false, &out->apis, err, errlen) ||
      !parse_mode(o, where, &out->spread, err, errlen))
    return false;
  out->on = true;
  out->rate = rate;
  out->status = (int)status;
  out->retry_after_s = (uint32_t)retry;
  /* a 429 carries Retry-After as Degreed's do, unless "retry_after":0
   * asks for a bare one (a client's fallback is tested with it) */
  if (with_status && out->status == 429 && out->retry_after_s == 0 &&
      !json_object_object_get_ex(o, "retry_after", NULL))
    out->retry_after_s = 1;
  return true;
}

/* A hostile fault: {"rate": 0..1 (default 1), "count" (at most that many
 * requests, default no limit), "api", "mode"} plus the kind's own keys
 * (`keys` lists them all); status (when with_status, a 3xx, default 302)
 * goes in out->status. */
static bool parse_hostile(json_object *o, const char *where, const char *const *keys,
                          bool with_status, struct sbx_fault_fraction *out, char *err,
                          size_t errlen)
{
  json_object *api = NULL;
  double rate = 1, status = 302, count = -1;

  if (!only_keys(o, where, keys, err, errlen) ||
      !get_number(o, "rate", where, 0, 1, false, false, &rate, err, errlen) ||
      !get_number(o, "count", where, 0, 1e9, true, false, &count, err, errlen) ||
      (with_status && !get_number(o, "status", where, 300, 399, true, false, &status, err, errlen)))
    return false;
  json_object_object_get_ex(o, "api", &api);
  memset(out, 0, sizeof(*out));
  if (!parse_apis(api, where, false, &out->apis, err, errlen) ||
      !parse_mode(o, where, &out->spread, err, errlen))
    return false;
  out->on = true;
  out->rate = rate;
  out->status = with_status ? (int)status : 200;
  out->counted = count >= 0;
  out->remaining = count >= 0 ? (uint32_t)count : 0;
  return true;
}

static bool parse_time(json_object *v, const char *where, const char *key, int64_t *ret, char *err,
                       size_t errlen)
{
  if (json_object_is_type(v, json_type_string)) {
    if (sbx_parse_iso8601(json_object_get_string(v), ret))
      return true;
  } else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
    double d = json_object_get_double(v);

    if (isfinite(d) && d >= 0 && d < 1e11) {
      *ret = (int64_t)(d * 1000.0);
      return true;
    }
  }
  snprintf(err, errlen, "%s.%s: must be an ISO 8601 UTC time or epoch seconds", where, key);
  return false;
}

static bool apply_one(struct sbx_faults *f, const char *key, json_object *v, int64_t now, char *err,
                      size_t errlen)
{
  char where[64];
  json_object *api = NULL;

  snprintf(where, sizeof(where), "faults.%s", key);
  if (strcmp(key, "latency") == 0) {
    static const char *const keys[] = { "ms", "jitter_ms", "api", NULL };
    double ms = 0, jitter = 0;

    if (!v) {
      memset(&f->latency, 0, sizeof(f->latency));
      return true;
    }
    if (!only_keys(v, where, keys, err, errlen) ||
        !get_number(v, "ms", where, 0, MAX_LATENCY_MS, true, true, &ms, err, errlen) ||
        !get_number(v, "jitter_ms", where, 0, MAX_LATENCY_MS, true, false, &jitter, err, errlen))
      return false;
    json_object_object_get_ex(v, "api", &api);
    if (!parse_apis(api, where, false, &f->latency.apis, err, errlen))
      return false;
    f->latency.on = true;
    f->latency.ms = (uint32_t)ms;
    f->latency.jitter_ms = (uint32_t)jitter;
    return true;
  }
  if (strcmp(key, "error_rate") == 0) {
    if (!v) {
      memset(&f->error_rate, 0, sizeof(f->error_rate));
      return true;
    }
    return parse_fraction(v, where, true, &f->error_rate, err, errlen);
  }
  if (strcmp(key, "connection_reset") == 0) {
    if (!v) {
      memset(&f->connection_reset, 0, sizeof(f->connection_reset));
      return true;
    }
    return parse_fraction(v, where, false, &f->connection_reset, err, errlen);
  }
  if (strcmp(key, "outage") == 0) {
    static const char *const keys[] = { "seconds", "from", "to", "status", "api", NULL };
    json_object *from = NULL, *to = NULL;
    double secs = -1, status = 503;

    if (!v) {
      memset(&f->outage, 0, sizeof(f->outage));
      return true;
    }
    if (!only_keys(v, where, keys, err, errlen) ||
        !get_number(v, "seconds", where, 0.001, 31536000, false, false, &secs, err, errlen) ||
        !get_number(v, "status", where, 400, 599, true, false, &status, err, errlen))
      return false;
    json_object_object_get_ex(v, "from", &from);
    json_object_object_get_ex(v, "to", &to);
    json_object_object_get_ex(v, "api", &api);
    if (!parse_apis(api, where, false, &f->outage.apis, err, errlen))
      return false;
    if (secs > 0 && (from || to)) {
      snprintf(err, errlen, "%s: give either seconds or from/to", where);
      return false;
    }
    if (secs > 0) {
      f->outage.from_wall_ms = now;
      f->outage.to_wall_ms = now + (int64_t)(secs * 1000.0);
    } else {
      if (!to) {
        snprintf(err, errlen, "%s: needs seconds or to", where);
        return false;
      }
      f->outage.from_wall_ms = now;
      if ((from && !parse_time(from, where, "from", &f->outage.from_wall_ms, err, errlen)) ||
          !parse_time(to, where, "to", &f->outage.to_wall_ms, err, errlen))
        return false;
      if (f->outage.to_wall_ms <= f->outage.from_wall_ms) {
        snprintf(err, errlen, "%s: to must be after from", where);
        return false;
      }
    }
    f->outage.on = true;
    f->outage.status = (int)status;
    return true;
  }
  if (strcmp(key, "token_failures") == 0) {
    static const char *const keys[] = { "count", "status", "api", NULL };
    double count = 0, status = 500;

    if (!v) {
      memset(&f->token_failures, 0, sizeof(f->token_failures));
      return true;
    }
    if (!only_keys(v, where, keys, err, errlen) ||
        !get_number(v, "count", where, 0, 1e9, true, true, &count, err, errlen) ||
        !get_number(v, "status", where, 400, 599, true, false, &status, err, errlen))
      return false;
    json_object_object_get_ex(v, "api", &api);
    if (!parse_apis(api, where, true, &f->token_failures.apis, err, errlen))
      return false;
    f->token_failures.on = true;
    f->token_failures.remaining = (uint32_t)count;
    f->token_failures.status = (int)status;
    return true;
  }
  if (strcmp(key, "rate_limit") == 0) {
    static const char *const keys[] = { "per_minute", "limit", "window_s", NULL };
    double per_minute = -1, limit = -1, window = 60;

    if (!v) {
      memset(&f->rate_limit, 0, sizeof(f->rate_limit));
      return true;
    }
    if (!only_keys(v, where, keys, err, errlen) ||
        !get_number(v, "per_minute", where, 1, 1e9, true, false, &per_minute, err, errlen) ||
        !get_number(v, "limit", where, 1, 1e9, true, false, &limit, err, errlen) ||
        !get_number(v, "window_s", where, 1, 86400, true, false, &window, err, errlen))
      return false;
    if ((per_minute > 0) == (limit > 0)) {
      snprintf(err, errlen, "%s: give per_minute, or limit (and window_s)", where);
      return false;
    }
    if (per_minute > 0 && window != 60) {
      snprintf(err, errlen, "%s: window_s goes with limit, not per_minute", where);
      return false;
    }
    f->rate_limit.on = true;
    f->rate_limit.per_window = (uint32_t)(per_minute > 0 ? per_minute : limit);
    f->rate_limit.window_s = (uint32_t)window;
    return true;
  }
  if (strcmp(key, "ocn_min_post_interval_s") == 0) {
    double d = 0;
    json_object *wrap;

    if (!v) {
      memset(&f->ocn_min_post_interval, 0, sizeof(f->ocn_min_post_interval));
      return true;
    }
    wrap = json_object_new_object();
    json_object_object_add(wrap, key, json_object_get(v));
    if (!get_number(wrap, key, "faults", 0, 86400, true, true, &d, err, errlen)) {
      json_object_put(wrap);
      return false;
    }
    json_object_put(wrap);
    f->ocn_min_post_interval.on = true;
    f->ocn_min_post_interval.seconds = (uint32_t)d;
    return true;
  }
  if (strcmp(key, "redirect") == 0) {
    static const char *const keys[] = {
      "rate", "count", "status", "location", "api", "mode", NULL
    };
    struct sbx_fault_fraction fr;
    json_object *loc = NULL;
    const char *l;

    if (!v) {
      memset(&f->redirect, 0, sizeof(f->redirect));
      return true;
    }
    if (!parse_hostile(v, where, keys, true, &fr, err, errlen))
      return false;
    json_object_object_get_ex(v, "location", &loc);
    l = loc && json_object_is_type(loc, json_type_string) ? json_object_get_string(loc) : "";
    if (!*l || strlen(l) >= SBX_LOCATION_MAX || strpbrk(l, "\r\n")) {
      snprintf(err, errlen, "%s.location: required, a URL of at most %d characters on one line",
               where, SBX_LOCATION_MAX - 1);
      return false;
    }
    f->redirect.fr = fr;
    snprintf(f->redirect.location, sizeof(f->redirect.location), "%s", l);
    return true;
  }
  if (strcmp(key, "html_200") == 0 || strcmp(key, "drop_mid_response") == 0) {
    static const char *const keys[] = { "rate", "count", "api", "mode", NULL };
    struct sbx_fault_fraction *fr =
        strcmp(key, "html_200") == 0 ? &f->html_200 : &f->drop_mid_response;

    if (!v) {
      memset(fr, 0, sizeof(*fr));
      return true;
    }
    return parse_hostile(v, where, keys, false, fr, err, errlen);
  }
  if (strcmp(key, "huge_body") == 0) {
    static const char *const keys[] = { "rate", "count", "bytes", "api", "mode", NULL };
    struct sbx_fault_fraction fr;
    double bytes = 1024.0 * 1024 * 1024;

    if (!v) {
      memset(&f->huge_body, 0, sizeof(f->huge_body));
      return true;
    }
    if (!parse_hostile(v, where, keys, false, &fr, err, errlen) ||
        !get_number(v, "bytes", where, 1, 1099511627776.0, true, false, &bytes, err, errlen))
      return false;
    f->huge_body.fr = fr;
    f->huge_body.bytes = (uint64_t)bytes;
    return true;
  }
  snprintf(err, errlen, "faults: unknown fault '%s'", key);
  return false;
}

bool sbx_faults_apply_json(struct sbx_faults *f, json_object *o, int64_t now_wall_ms, char *err,
                           size_t errlen)
{
  struct sbx_faults tmp = *f;

  if (!json_object_is_type(o, json_type_object)) {
    snprintf(err, errlen, "faults: must be an object");
    return false;
  }
  json_object_object_foreach(o, key, val)
  {
    if (strcmp(key, "tenant") == 0 || key[0] == '_')
      continue;
    if (!apply_one(&tmp, key, val, now_wall_ms, err, errlen))
      return false;
  }
  *f = tmp;
  return true;
}

uint32_t sbx_faults_latency(struct sbx_faults *f, unsigned api)
{
  uint32_t ms;

  if (!f->latency.on || !(f->latency.apis & api))
    return 0;
  ms = f->latency.ms;
  if (f->latency.jitter_ms)
    ms += (uint32_t)(sbx_random_unit() * (f->latency.jitter_ms + 1.0));
  if (ms)
    f->stats.delayed++;
  return ms;
}

static bool fraction_hit(struct sbx_fault_fraction *fr)
{
  if (fr->rate <= 0)
    return false;
  if (fr->rate >= 1)
    return true;
  if (fr->spread) {
    fr->acc += fr->rate;
    if (fr->acc >= 1.0) {
      fr->acc -= 1.0;
      return true;
    }
    return false;
  }
  return sbx_random_unit() < fr->rate;
}

enum sbx_fault_action sbx_faults_decide(struct sbx_faults *f, unsigned api, int64_t now,
                                        int *ret_status, uint32_t *ret_retry_after,
                                        const char **ret_name)
{
  *ret_retry_after = 0;
  if (f->connection_reset.on && (f->connection_reset.apis & api) &&
      fraction_hit(&f->connection_reset)) {
    f->stats.resets++;
    *ret_name = "connection_reset";
    return SBX_FAULT_RESET;
  }
  if (f->outage.on && (f->outage.apis & api) && now >= f->outage.from_wall_ms &&
      now < f->outage.to_wall_ms) {
    int64_t left = f->outage.to_wall_ms - now;

    f->stats.outage_responses++;
    *ret_status = f->outage.status;
    *ret_retry_after = (uint32_t)((left + 999) / 1000);
    *ret_name = "outage";
    return SBX_FAULT_RESPOND;
  }
  if (f->token_failures.on && f->token_failures.remaining > 0 && (f->token_failures.apis & api)) {
    f->token_failures.remaining--;
    f->stats.token_failures++;
    *ret_status = f->token_failures.status;
    *ret_name = "token_failure";
    return SBX_FAULT_RESPOND;
  }
  if (f->error_rate.on && (f->error_rate.apis & api) && fraction_hit(&f->error_rate)) {
    f->stats.errors++;
    *ret_status = f->error_rate.status;
    *ret_retry_after = f->error_rate.retry_after_s;
    *ret_name = "error_rate";
    return SBX_FAULT_RESPOND;
  }
  return SBX_FAULT_NONE;
}

static const char maintenance_page[] =
    "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>"
    "<h1>We'll be back soon</h1><p>The learning platform is down for maintenance.</p>"
    "</body></html>\n";

static bool hostile_hit(struct sbx_fault_fraction *fr, unsigned api)
{
  if (!fr->on || !(fr->apis & api) || (fr->counted && fr->remaining == 0) || !fraction_hit(fr))
    return false;
  if (fr->counted)
    fr->remaining--;
  return true;
}

bool sbx_faults_hostile(struct sbx_faults *f, unsigned api, struct sbx_response *resp,
                        const char **ret_name)
{
  if (hostile_hit(&f->redirect.fr, api)) {
    f->stats.redirects++;
    sbx_response_text(resp, f->redirect.fr.status, "<html><body>Moved</body></html>\n");
    resp->content_type = "text/html";
    sbx_response_header(resp, "Location", "%s", f->redirect.location);
    *ret_name = "redirect";
    return true;
  }
  if (hostile_hit(&f->html_200, api)) {
    f->stats.html_pages++;
    sbx_response_text(resp, 200, maintenance_page);
    resp->content_type = "text/html";
    *ret_name = "html_200";
    return true;
  }
  if (hostile_hit(&f->huge_body.fr, api)) {
    f->stats.huge_bodies++;
    sbx_response_empty(resp, 200);
    resp->content_type = "application/json";
    resp->stream_bytes = f->huge_body.bytes;
    *ret_name = "huge_body";
    return true;
  }
  return false;
}

bool sbx_faults_drop(struct sbx_faults *f, unsigned api)
{
  if (!hostile_hit(&f->drop_mid_response, api))
    return false;
  f->stats.drops++;
  return true;
}

/* A hostile fault's common members, then a comma. */
static void hostile_json(struct sbx_buf *b, const char *name, const struct sbx_fault_fraction *fr)
{
  sbx_buf_printf(b, "\"%s\":{\"rate\":%g,\"api\":\"%s\",\"mode\":\"%s\"", name, fr->rate,
                 apis_name(fr->apis), fr->spread ? "spread" : "random");
  if (fr->counted)
    sbx_buf_printf(b, ",\"remaining\":%u", fr->remaining);
}

void sbx_faults_to_json(const struct sbx_faults *f, int64_t now, struct sbx_buf *b)
{
  char t1[40], t2[40];

  sbx_buf_putc(b, '{');
  if (f->latency.on)
    sbx_buf_printf(b, "\"latency\":{\"ms\":%u,\"jitter_ms\":%u,\"api\":\"%s\"},", f->latency.ms,
                   f->latency.jitter_ms, apis_name(f->latency.apis));
  if (f->error_rate.on)
    sbx_buf_printf(b,
                   "\"error_rate\":{\"rate\":%g,\"status\":%d,\"api\":\"%s\","
                   "\"retry_after\":%u,\"mode\":\"%s\"},",
                   f->error_rate.rate, f->error_rate.status, apis_name(f->error_rate.apis),
                   f->error_rate.retry_after_s, f->error_rate.spread ? "spread" : "random");
  if (f->connection_reset.on)
    sbx_buf_printf(b, "\"connection_reset\":{\"rate\":%g,\"api\":\"%s\",\"mode\":\"%s\"},",
                   f->connection_reset.rate, apis_name(f->connection_reset.apis),
                   f->connection_reset.spread ? "spread" : "random");
  if (f->outage.on) {
    sbx_iso8601(f->outage.from_wall_ms, 3, t1, sizeof(t1));
    sbx_iso8601(f->outage.to_wall_ms, 3, t2, sizeof(t2));
    sbx_buf_printf(b,
                   "\"outage\":{\"from\":\"%s\",\"to\":\"%s\",\"status\":%d,"
                   "\"api\":\"%s\",\"active\":%s},",
                   t1, t2, f->outage.status, apis_name(f->outage.apis),
                   now >= f->outage.from_wall_ms && now < f->outage.to_wall_ms ? "true" : "false");
  }
  if (f->token_failures.on)
    sbx_buf_printf(b, "\"token_failures\":{\"remaining\":%u,\"status\":%d,\"api\":\"%s\"},",
                   f->token_failures.remaining, f->token_failures.status,
                   apis_name(f->token_failures.apis));
  if (f->rate_limit.on)
    sbx_buf_printf(b, "\"rate_limit\":{\"limit\":%u,\"window_s\":%u},", f->rate_limit.per_window,
                   f->rate_limit.window_s);
  if (f->ocn_min_post_interval.on)
    sbx_buf_printf(b, "\"ocn_min_post_interval_s\":%u,", f->ocn_min_post_interval.seconds);
  if (f->redirect.fr.on) {
    hostile_json(b, "redirect", &f->redirect.fr);
    sbx_buf_printf(b, ",\"status\":%d,\"location\":", f->redirect.fr.status);
    sbx_buf_json_str(b, f->redirect.location);
    sbx_buf_puts(b, "},");
  }
  if (f->html_200.on) {
    hostile_json(b, "html_200", &f->html_200);
    sbx_buf_puts(b, "},");
  }
  if (f->huge_body.fr.on) {
    hostile_json(b, "huge_body", &f->huge_body.fr);
    sbx_buf_printf(b, ",\"bytes\":%llu},", (unsigned long long)f->huge_body.bytes);
  }
  if (f->drop_mid_response.on) {
    hostile_json(b, "drop_mid_response", &f->drop_mid_response);
    sbx_buf_puts(b, "},");
  }
  sbx_buf_printf(b,
                 "\"stats\":{\"delayed\":%llu,\"errors\":%llu,\"outage_responses\":%llu,"
                 "\"resets\":%llu,\"token_failures\":%llu,\"redirects\":%llu,"
                 "\"html_pages\":%llu,\"huge_bodies\":%llu,\"drops\":%llu}}",
                 (unsigned long long)f->stats.delayed, (unsigned long long)f->stats.errors,
                 (unsigned long long)f->stats.outage_responses, (unsigned long long)f->stats.resets,
                 (unsigned long long)f->stats.token_failures,
                 (unsigned long long)f->stats.redirects, (unsigned long long)f->stats.html_pages,
                 (unsigned long long)f->stats.huge_bodies, (unsigned long long)f->stats.drops);
}

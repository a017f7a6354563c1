/* sbx_faults: per-tenant fault injection: latency, error rate, outage
 * windows, connection resets, token endpoint failures, a custom Degreed
 * rate limit and a minimum interval between OCN course POSTs; and hostile
 * answers: redirects, 200 HTML pages, huge bodies, answers cut halfway.
 *
 * Plain value type embedded in a tenant; not thread-safe (the caller holds
 * the world lock). The JSON shape is documented in README.md. */
#ifndef SBX_FAULTS_H
#define SBX_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "sbx_request.h"
#include "sbx_util.h"

#define SBX_LOCATION_MAX 300

struct sbx_fault_fraction {
  bool on;
  double rate;            /* 0..1 */
  int status;             /* error_rate only */
  unsigned apis;          /* enum sbx_api bits */
  uint32_t retry_after_s; /* 0: no Retry-After (error_rate only) */
  bool spread;            /* deterministic spreading instead of random */
  double acc;             /* accumulator for spread mode */
  bool counted;           /* hostile faults: act on `remaining` more requests */
  uint32_t remaining;
};

struct sbx_faults {
  struct {
    bool on;
    uint32_t ms;
    uint32_t jitter_ms;
    unsigned apis;
  } latency;
  struct sbx_fault_fraction error_rate;
  struct sbx_fault_fraction connection_reset;
  struct {
    bool on;
    int64_t from_wall_ms;
    int64_t to_wall_ms;
    int status;
    unsigned apis;
  } outage;
  struct {
    bool on;
    uint32_t remaining;
    int status;
    unsigned apis; /* SBX_API_DEGREED_TOKEN and/or SBX_API_SF_TOKEN */
  } token_failures;
  struct {
    bool on;
    uint32_t per_window;
    uint32_t window_s;
  } rate_limit;
  struct {
    bool on;
    uint32_t seconds;
  } ocn_min_post_interval;
  struct {
    struct sbx_fault_fraction fr; /* fr.status: 3xx */
    char location[SBX_LOCATION_MAX];
  } redirect;
  struct sbx_fault_fraction html_200;
  struct {
    struct sbx_fault_fraction fr;
    uint64_t bytes;
  } huge_body;
  struct sbx_fault_fraction drop_mid_response;
  struct {
    uint64_t delayed;
    uint64_t errors;
    uint64_t outage_responses;
    uint64_t resets;
    uint64_t token_failures;
    uint64_t redirects;
    uint64_t html_pages;
    uint64_t huge_bodies;
    uint64_t drops;
  } stats;
};

enum sbx_fault_action {
  SBX_FAULT_NONE,
  SBX_FAULT_RESET,   /* close the connection without a response */
  SBX_FAULT_RESPOND, /* answer with *ret_status */
};

void sbx_faults_clear(struct sbx_faults *f);
/* Merges a fault object ({"latency":{...}, "outage":null, ...}) into f:
 * keys present replace that fault, null removes it. Key "tenant" and keys
 * starting with '_' are ignored. On error f is unchanged and err says why. */
bool sbx_faults_apply_json(struct sbx_faults *f, json_object *o, int64_t now_wall_ms, char *err,
                           size_t errlen);
/* Latency to add to a request of api (0 = none); counts it. */
uint32_t sbx_faults_latency(struct sbx_faults *f, unsigned api);
/* Decides the other faults for one request of api. For SBX_FAULT_RESPOND
 * *ret_status and *ret_retry_after (0 = none) are set; *ret_name is a
 * static fault name for the request log. */
enum sbx_fault_action sbx_faults_decide(struct sbx_faults *f, unsigned api, int64_t now_wall_ms,
                                        int *ret_status, uint32_t *ret_retry_after,
                                        const char **ret_name);
/* The hostile faults that answer in place of the API (redirect, html_200,
 * huge_body), decided after sbx_faults_decide() found none: true when one
 * hits, with resp filled and *ret_name set (static). */
bool sbx_faults_hostile(struct sbx_faults *f, unsigned api, struct sbx_response *resp,
                        const char **ret_name);
/* drop_mid_response, decided after the API handled the request: true when
 * its answer is to be cut halfway (counts it). */
bool sbx_faults_drop(struct sbx_faults *f, unsigned api);
void sbx_faults_to_json(const struct sbx_faults *f, int64_t now_wall_ms, struct sbx_buf *b);

#endif

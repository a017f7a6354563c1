/* sbx_tokens: OAuth access tokens issued by the sandbox (both APIs).
 * Tokens are random opaque strings; each also has a small number shown in
 * the request log as "token#<n>" so the token itself is never printed.
 * Bounded: beyond max tokens the expired ones, then the oldest, are
 * dropped. Not thread-safe: the caller holds the world lock. */
#ifndef SBX_TOKENS_H
#define SBX_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbx_map.h"

struct sbx_tenant;

enum sbx_token_kind {
  SBX_TOKEN_DEGREED = 1,
  SBX_TOKEN_SF = 2,
  SBX_TOKEN_XAPI = 3,
};

#define SBX_TOKEN_LEN 40

struct sbx_token {
  char token[SBX_TOKEN_LEN + 1];
  uint64_t id;
  struct sbx_tenant *tenant; /* borrowed: tokens are dropped with it */
  enum sbx_token_kind kind;
  char *client_id;
  char **scopes; /* Degreed: granted scopes */
  size_t n_scopes;
  char *user_id; /* SF: scope.userId */
  bool admin;    /* SF: scope.userType == "admin" */
  uint64_t expires_mono_ms;
  struct sbx_token *prev, *next;
};

struct sbx_tokens {
  struct sbx_map by_token;
  struct sbx_token *head, *tail; /* oldest first */
  size_t count;
  size_t max;
  uint64_t next_id;
};

void sbx_tokens_init(struct sbx_tokens *t, size_t max);
void sbx_tokens_release(struct sbx_tokens *t);
/* New token (owned by t) for tenant; the caller fills scopes/user. */
struct sbx_token *sbx_tokens_issue(struct sbx_tokens *t, struct sbx_tenant *tenant,
                                   enum sbx_token_kind kind, const char *client_id,
                                   uint64_t expires_mono_ms, uint64_t now_mono_ms);
void sbx_token_add_scope(struct sbx_token *tok, const char *scope);
/* Adds each of scopes[0..n) the token does not have yet. */
void sbx_token_add_scopes(struct sbx_token *tok, char *const *scopes, size_t n);
bool sbx_token_has_scope(const struct sbx_token *tok, const char *scope);
/* Borrowed until the next call that changes t, or NULL. */
struct sbx_token *sbx_tokens_find(struct sbx_tokens *t, const char *token);
/* Drops the tokens of tenant (NULL: all tokens). */
void sbx_tokens_drop(struct sbx_tokens *t, const struct sbx_tenant *tenant);
/* Makes the tokens of tenant (NULL: all) expire now; returns how many. */
size_t sbx_tokens_expire(struct sbx_tokens *t, const struct sbx_tenant *tenant,
                         uint64_t now_mono_ms);

#endif

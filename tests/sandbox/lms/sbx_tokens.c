#include "sbx_tokens.h"

#include <stdlib.h>
#include <string.h>

#include "sbx_util.h"

void sbx_tokens_init(struct sbx_tokens *t, size_t max)
{
  memset(t, 0, sizeof(*t));
  sbx_map_init(&t->by_token);
  t->max = max ? max : 1;
  t->next_id = 1;
}

static void token_free(struct sbx_token *tok)
{
  size_t i;

  free(tok->client_id);
  for (i = 0; i < tok->n_scopes; i++)
    free(tok->scopes[i]);
  free(tok->scopes);
  free(tok->user_id);
  free(tok);
}

static void unlink_token(struct sbx_tokens *t, struct sbx_token *tok)
{
  sbx_map_remove(&t->by_token, tok->token);
  if (tok->prev)
    tok->prev->next = tok->next;
  else
    t->head = tok->next;
  if (tok->next)
    tok->next->prev = tok->prev;
  else
    t->tail = tok->prev;
  t->count--;
  token_free(tok);
}

void sbx_tokens_release(struct sbx_tokens *t)
{
  while (t->head)
    unlink_token(t, t->head);
  sbx_map_release(&t->by_token, NULL);
}

static void make_room(struct sbx_tokens *t, uint64_t now)
{
  struct sbx_token *tok, *next;

  if (t->count < t->max)
    return;
  for (tok = t->head; tok; tok = next) {
    next = tok->next;
    if (now >= tok->expires_mono_ms)
      unlink_token(t, tok);
  }
  while (t->count >= t->max && t->head)
    unlink_token(t, t->head);
}

struct sbx_token *sbx_tokens_issue(struct sbx_tokens *t, struct sbx_tenant *tenant,
                                   enum sbx_token_kind kind, const char *client_id,
                                   uint64_t expires_mono_ms, uint64_t now)
{
  struct sbx_token *tok;

  make_room(t, now);
  tok = sbx_xcalloc(1, sizeof(*tok));
  do
    sbx_random_alnum(tok->token, SBX_TOKEN_LEN);
  while (sbx_map_get(&t->by_token, tok->token));
  tok->id = t->next_id++;
  tok->tenant = tenant;
  tok->kind = kind;
  tok->client_id = sbx_xstrdup(client_id);
  tok->expires_mono_ms = expires_mono_ms;
  tok->prev = t->tail;
  if (t->tail)
    t->tail->next = tok;
  else
    t->head = tok;
  t->tail = tok;
  t->count++;
  sbx_map_put(&t->by_token, tok->token, tok);
  return tok;
}

void sbx_token_add_scope(struct sbx_token *tok, const char *scope)
{
  tok->scopes = sbx_xrealloc(tok->scopes, (tok->n_scopes + 1) * sizeof(char *));
  tok->scopes[tok->n_scopes++] = sbx_xstrdup(scope);
}

void sbx_token_add_scopes(struct sbx_token *tok, char *const *scopes, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (!sbx_token_has_scope(tok, scopes[i]))
      sbx_token_add_scope(tok, scopes[i]);
}

bool sbx_token_has_scope(const struct sbx_token *tok, const char *scope)
{
  size_t i;

  for (i = 0; i < tok->n_scopes; i++)
    if (strcmp(tok->scopes[i], scope) == 0)
      return true;
  return false;
}

struct sbx_token *sbx_tokens_find(struct sbx_tokens *t, const char *token)
{
  return sbx_map_get(&t->by_token, token);
}

void sbx_tokens_drop(struct sbx_tokens *t, const struct sbx_tenant *tenant)
{
  struct sbx_token *tok, *next;

  for (tok = t->head; tok; tok = next) {
    next = tok->next;
    if (!tenant || tok->tenant == tenant)
      unlink_token(t, tok);
  }
}

size_t sbx_tokens_expire(struct sbx_tokens *t, const struct sbx_tenant *tenant, uint64_t now)
{
  struct sbx_token *tok;
  size_t n = 0;

  for (tok = t->head; tok; tok = tok->next) {
    if ((!tenant || tok->tenant == tenant) && tok->expires_mono_ms > now) {
      tok->expires_mono_ms = now;
      n++;
    }
  }
  return n;
}

#include "lb_request.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const char *lb_method_name(lb_method m)
{
  static const char *const names[] = { "GET", "POST", "PATCH", "DELETE", "PUT" };
  return (unsigned)m <= LB_PUT ? names[m] : "?";
}

const char *lb_step_name(lb_step s)
{
  static const char *const names[] = { "create",     "lookup",       "update",
                                       "completion", "skill_rating", "ocn_course" };
  return (unsigned)s <= LB_STEP_OCN_COURSE ? names[s] : "?";
}

void lb_request_list_init(lb_request_list *l)
{
  *l = (lb_request_list){ 0 };
}

void lb_request_list_release(lb_request_list *l)
{
  if (!l)
    return;
  for (size_t i = 0; i < l->n; i++) {
    free(l->items[i].url);
    free(l->items[i].body);
    free(l->items[i].key);
    for (size_t h = 0; h < l->items[i].nheaders; h++)
      free(l->items[i].headers[h]);
  }
  free(l->items);
  *l = (lb_request_list){ 0 };
}

static char *dup_opt(const char *s, bool *failed)
{
  if (!s)
    return NULL;
  char *d = strdup(s);
  if (!d)
    *failed = true;
  return d;
}

lb_err lb_request_list_add(lb_request_list *l, lb_step step, lb_method method, const char *url,
                           const char *body, const char *key)
{
  bool failed = false;
  if (l->n == l->cap) {
    /* most lists hold one request (a completion), and a backlog holds
     * thousands of lists */
    size_t cap = l->cap ? l->cap * 2 : 1;
    lb_request *grown = realloc(l->items, cap * sizeof(*grown));
    if (!grown)
      return LB_E_NOMEM;
    l->items = grown;
    l->cap = cap;
  }
  lb_request r = { .step = step, .method = method };
  r.url = dup_opt(url, &failed);
  r.body = dup_opt(body, &failed);
  r.key = dup_opt(key, &failed);
  if (failed) {
    free(r.url);
    free(r.body);
    free(r.key);
    return LB_E_NOMEM;
  }
  l->items[l->n++] = r;
  return LB_E_OK;
}

lb_err lb_request_list_add_header(lb_request_list *l, const char *header)
{
  if (!l->n || !header || l->items[l->n - 1].nheaders == LB_REQUEST_MAX_HEADERS)
    return LB_E_INVALID;
  lb_request *r = &l->items[l->n - 1];
  if (!(r->headers[r->nheaders] = strdup(header)))
    return LB_E_NOMEM;
  r->nheaders++;
  return LB_E_OK;
}

/* lb_request: the HTTP requests a mapping produces for one integration.
 * Plain values: the mapping decides what to send, the delivery client how. */
#ifndef LB_REQUEST_H
#define LB_REQUEST_H

#include <stddef.h>

#include "lb_error.h"

typedef enum { LB_GET, LB_POST, LB_PATCH, LB_DELETE, LB_PUT } lb_method;

/* Headers a request may add to those every request carries. */
#define LB_REQUEST_MAX_HEADERS 4

/* What a request is for; the delivery client chains them (a Degreed
 * upsert is create, then on 409 lookup, then update). */
typedef enum {
  LB_STEP_CREATE,       /* POST a new item */
  LB_STEP_LOOKUP,       /* GET by external id to learn the LMS id */
  LB_STEP_UPDATE,       /* PATCH the item whose LMS id the lookup found */
  LB_STEP_COMPLETION,   /* POST a learner's completion */
  LB_STEP_SKILL_RATING, /* POST a learner's skill rating */
  LB_STEP_OCN_COURSE,   /* one course of an OcnCourses batch POST */
} lb_step;

typedef struct {
  lb_step step;
  lb_method method;
  char *url;  /* absolute; "{id}" stands for the LMS id in UPDATE steps */
  char *body; /* JSON text, NULL for none */
  char *key;  /* the item key: the external id (courseID) */
  /* "Name: value" headers of this request besides Authorization, Accept
   * and Content-Type: application/json (a connector's protocol version,
   * say); owned */
  char *headers[LB_REQUEST_MAX_HEADERS];
  size_t nheaders;
} lb_request;

typedef struct {
  lb_request *items;
  size_t n;
  size_t cap;
} lb_request_list;

const char *lb_method_name(lb_method m);
const char *lb_step_name(lb_step s);

void lb_request_list_init(lb_request_list *l);
void lb_request_list_release(lb_request_list *l);
/* Appends a request; url, body and key are copied. */
lb_err lb_request_list_add(lb_request_list *l, lb_step step, lb_method method, const char *url,
                           const char *body, const char *key);

/* Adds a "Name: value" header (copied) to the last request of l.
 * LB_E_INVALID when l is empty or the request has LB_REQUEST_MAX_HEADERS. */
lb_err lb_request_list_add_header(lb_request_list *l, const char *header);

#endif

/* lb_conn_xapi: the connector of integrations of type "xapi"
 * (xAPI Learning Record Stores), registered in lb_connector.c. */
#ifndef LB_CONN_XAPI_H
#define LB_CONN_XAPI_H

#include "lb_connector.h"

extern const lb_connector lb_conn_xapi;

#endif

/* lb_conn_degreed: the connector of integrations of type "degreed"
 * (Degreed API v2), registered in lb_connector.c. */
#ifndef LB_CONN_DEGREED_H
#define LB_CONN_DEGREED_H

#include "lb_connector.h"

extern const lb_connector lb_conn_degreed;

#endif

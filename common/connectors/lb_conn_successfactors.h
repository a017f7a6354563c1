/* lb_conn_successfactors: the connector of integrations of type "successfactors"
 * (SAP SuccessFactors Learning, OCN), registered in lb_connector.c. */
#ifndef LB_CONN_SUCCESSFACTORS_H
#define LB_CONN_SUCCESSFACTORS_H

#include "lb_connector.h"

extern const lb_connector lb_conn_successfactors;

#endif

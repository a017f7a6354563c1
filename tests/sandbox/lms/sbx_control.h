/* sbx_control: the inspection and control API under /_sandbox/ (request
 * log, state, reset, faults, tenants, token expiry). Takes the world lock
 * itself. */
#ifndef SBX_CONTROL_H
#define SBX_CONTROL_H

#include "sbx_request.h"
#include "sbx_world.h"

#define SBX_REQUESTS_DEFAULT_LIMIT 100000
#define SBX_REQUESTS_MAX_LIMIT 1000000

void sbx_control_handle(struct sbx_world *w, struct sbx_request *req, struct sbx_response *resp);

#endif

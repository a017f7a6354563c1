/* lb_map_ocn: docs/mapping.md for SuccessFactors OCN as pure
 * functions. No I/O; `now_ms` is passed in where the rules need the time. */
#ifndef LB_MAP_OCN_H
#define LB_MAP_OCN_H

#include <stdint.h>

#include "lb_config.h"
#include "lb_event.h"
#include "lb_request.h"

/* The mapping functions have the connector's mapping signature
 * (lb_connector.h). */

/* One OCN course object (an LB_STEP_OCN_COURSE request whose body is the
 * course, keyed by courseID); batches are built by lb_map_ocn_batch. */
lb_err lb_map_ocn_course(const lb_catalog_event *ev, const lb_integration *in,
                         const lb_provider *pv, int64_t now_ms, lb_request_list *out,
                         const char **skip_reason);

/* {"ocnCourses":[c0,c1,...]} from course object texts. New string. */
lb_err lb_map_ocn_batch(const char *const *courses, size_t n, char **ret);

/* OCNLearningEvents body for one completion; completedTimestamp is capped
 * at now_ms. Skips (sets *skip_reason) when the learner lacks the
 * integration's identifier. */
lb_err lb_map_ocn_learning_event(const lb_completion_event *ev, const lb_integration *in,
                                 const lb_provider *pv, int64_t now_ms, lb_request_list *out,
                                 const char **skip_reason);

/* SuccessFactors locale name ("English", "German"...) for a BCP 47 tag. */
const char *lb_map_ocn_locale(const char *language);

#endif

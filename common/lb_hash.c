#include "lb_hash.h"

uint64_t lb_hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  return h;
}

#include "ksb_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ERR_PREFIX "RD_KAFKA_RESP_ERR_"
/* Longest item of a comma list we look at; longer ones are invalid. */
#define ITEM_MAX 64

static const struct {
  int16_t key;
  const char *name;
} api_keys[] = {
  { 0, "Produce" },          { 1, "Fetch" },
  { 2, "ListOffsets" },      { 3, "Metadata" },
  { 8, "OffsetCommit" },     { 9, "OffsetFetch" },
  { 10, "FindCoordinator" }, { 11, "JoinGroup" },
  { 12, "Heartbeat" },       { 13, "LeaveGroup" },
  { 14, "SyncGroup" },       { 18, "ApiVersion" },
  { 22, "InitProducerId" },  { 24, "AddPartitionsToTxn" },
  { 25, "AddOffsetsToTxn" }, { 26, "EndTxn" },
  { 28, "TxnOffsetCommit" },
};

int ksb_parse_long(const char *s, long min, long max, long *ret)
{
  char *end = NULL;
  long v;

  if (!s || !*s)
    return -1;
  /* strtol skips leading blanks and accepts '+': we want digits only. */
  if (!(*s == '-' || (*s >= '0' && *s <= '9')))
    return -1;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || *end != '\0' || v < min || v > max)
    return -1;
  *ret = v;
  return 0;
}

int ksb_parse_api_key(const char *s, int16_t *ret)
{
  long v;
  size_t i;

  if (!s)
    return -1;
  for (i = 0; i < sizeof(api_keys) / sizeof(api_keys[0]); i++) {
    if (!strcasecmp(s, api_keys[i].name)) {
      *ret = api_keys[i].key;
      return 0;
    }
  }
  if (ksb_parse_long(s, 0, 99, &v) < 0)
    return -1;
  *ret = (int16_t)v;
  return 0;
}

const char *ksb_api_key_name(int16_t api_key)
{
  size_t i;

  for (i = 0; i < sizeof(api_keys) / sizeof(api_keys[0]); i++)
    if (api_keys[i].key == api_key)
      return api_keys[i].name;
  return NULL;
}

int ksb_parse_error(const char *s, rd_kafka_resp_err_t *ret)
{
  const struct rd_kafka_err_desc *descs;
  size_t cnt, i;
  long num;
  bool by_number;

  if (!s || !*s)
    return -1;
  if (!strncasecmp(s, ERR_PREFIX, strlen(ERR_PREFIX)))
    s += strlen(ERR_PREFIX);
  by_number = ksb_parse_long(s, -1000, 1000, &num) == 0;

  rd_kafka_get_err_descs(&descs, &cnt);
  for (i = 0; i < cnt; i++) {
    const char *name = descs[i].name;

    /* Gaps in the table have no name; _BEGIN and _END are markers. */
    if (!name || descs[i].code == RD_KAFKA_RESP_ERR__BEGIN ||
        descs[i].code == RD_KAFKA_RESP_ERR__END)
      continue;
    if (by_number ? (long)descs[i].code == num : !strcasecmp(s, name)) {
      *ret = descs[i].code;
      return 0;
    }
  }
  return -1;
}

/* Copies item [s, s+len) into buf (size ITEM_MAX + 1). -1 when too long. */
static int item_copy(char *buf, const char *s, size_t len)
{
  if (len > ITEM_MAX)
    return -1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  return 0;
}

int ksb_parse_error_list(const char *s, rd_kafka_resp_err_t *out, size_t max, const char **bad,
                         size_t *bad_len)
{
  char item[ITEM_MAX + 1];
  size_t n = 0;
  const char *p = s;

  if (!s)
    return -1;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);

    if (n == max || item_copy(item, p, len) < 0 || ksb_parse_error(item, &out[n]) < 0) {
      *bad = p;
      *bad_len = len;
      return -1;
    }
    n++;
    if (!comma)
      break;
    p = comma + 1;
  }
  return (int)n;
}

int ksb_parse_long_list(const char *s, long min, long max_val, long *out, size_t max)
{
  char item[ITEM_MAX + 1];
  size_t n = 0;
  const char *p = s;

  if (!s)
    return -1;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);

    if (n == max || item_copy(item, p, len) < 0 || ksb_parse_long(item, min, max_val, &out[n]) < 0)
      return -1;
    n++;
    if (!comma)
      break;
    p = comma + 1;
  }
  return (int)n;
}

bool ksb_topic_name_valid(const char *name)
{
  size_t i, len;

  if (!name)
    return false;
  len = strlen(name);
  if (len == 0 || len > KSB_TOPIC_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
    return false;
  for (i = 0; i < len; i++) {
    char c = name[i];

    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  }
  return true;
}

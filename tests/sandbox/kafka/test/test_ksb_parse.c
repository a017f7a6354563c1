/* Table tests of ksb_parse (numbers, API keys, error names, topic names). */
#include <stdio.h>
#include <string.h>

#include "../ksb_parse.h"

static int failures;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

static void test_long(void)
{
  static const struct {
    const char *in;
    long min, max;
    int rc;
    long out;
  } t[] = {
    { "0", 0, 10, 0, 0 },
    { "10", 0, 10, 0, 10 },
    { "11", 0, 10, -1, 0 },
    { "-1", -1, 10, 0, -1 },
    { "-2", -1, 10, -1, 0 },
    { "", 0, 10, -1, 0 },
    { " 1", 0, 10, -1, 0 },
    { "+1", 0, 10, -1, 0 },
    { "1 ", 0, 10, -1, 0 },
    { "1x", 0, 10, -1, 0 },
    { "0x10", 0, 99, -1, 0 },
    { "007", 0, 10, 0, 7 },
    { "99999999999999999999", 0, 10, -1, 0 },
  };
  size_t i;

  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    long out = 12345;
    int rc = ksb_parse_long(t[i].in, t[i].min, t[i].max, &out);

    CHECK(rc == t[i].rc);
    CHECK(out == (rc == 0 ? t[i].out : 12345)); /* untouched on failure */
  }
  CHECK(ksb_parse_long(NULL, 0, 1, &(long){ 0 }) == -1);
}

static void test_api_key(void)
{
  static const struct {
    const char *in;
    int rc;
    int16_t out;
  } t[] = {
    { "Produce", 0, 0 },
    { "produce", 0, 0 },
    { "Fetch", 0, 1 },
    { "ListOffsets", 0, 2 },
    { "Metadata", 0, 3 },
    { "OffsetCommit", 0, 8 },
    { "OFFSETFETCH", 0, 9 },
    { "FindCoordinator", 0, 10 },
    { "JoinGroup", 0, 11 },
    { "Heartbeat", 0, 12 },
    { "LeaveGroup", 0, 13 },
    { "SyncGroup", 0, 14 },
    { "InitProducerId", 0, 22 },
    { "8", 0, 8 },
    { "99", 0, 99 },
    { "100", -1, 0 },
    { "-1", -1, 0 },
    { "Nope", -1, 0 },
    { "", -1, 0 },
  };
  size_t i;

  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    int16_t out = -7;
    int rc = ksb_parse_api_key(t[i].in, &out);

    CHECK(rc == t[i].rc);
    CHECK(out == (rc == 0 ? t[i].out : -7));
  }
  CHECK(!strcmp(ksb_api_key_name(8), "OffsetCommit"));
  CHECK(ksb_api_key_name(77) == NULL);
}

static void test_error(void)
{
  static const struct {
    const char *in;
    int rc;
    rd_kafka_resp_err_t out;
  } t[] = {
    { "REQUEST_TIMED_OUT", 0, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT },
    { "request_timed_out", 0, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT },
    { "RD_KAFKA_RESP_ERR_NOT_COORDINATOR", 0, RD_KAFKA_RESP_ERR_NOT_COORDINATOR },
    { "_TRANSPORT", 0, RD_KAFKA_RESP_ERR__TRANSPORT },
    { "NO_ERROR", 0, RD_KAFKA_RESP_ERR_NO_ERROR },
    { "7", 0, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT },
    { "-195", 0, RD_KAFKA_RESP_ERR__TRANSPORT },
    { "0", 0, RD_KAFKA_RESP_ERR_NO_ERROR },
    { "TRANSPORT", -1, 0 },
    { "_BEGIN", -1, 0 },
    { "_END", -1, 0 },
    { "99999", -1, 0 },
    { "", -1, 0 },
  };
  rd_kafka_resp_err_t list[4];
  const char *bad = NULL;
  size_t bad_len = 0, i;

  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    rd_kafka_resp_err_t out = RD_KAFKA_RESP_ERR__FAIL;
    int rc = ksb_parse_error(t[i].in, &out);

    CHECK(rc == t[i].rc);
    CHECK(out == (rc == 0 ? t[i].out : RD_KAFKA_RESP_ERR__FAIL));
  }

  CHECK(ksb_parse_error_list("NOT_COORDINATOR,7,_TRANSPORT", list, 4, &bad, &bad_len) == 3);
  CHECK(list[0] == RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
  CHECK(list[1] == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  CHECK(list[2] == RD_KAFKA_RESP_ERR__TRANSPORT);
  CHECK(ksb_parse_error_list("7,BOGUS,8", list, 4, &bad, &bad_len) == -1);
  CHECK(bad_len == 5 && !strncmp(bad, "BOGUS", 5));
  CHECK(ksb_parse_error_list("7,", list, 4, &bad, &bad_len) == -1);
  CHECK(bad_len == 0);
  CHECK(ksb_parse_error_list("1,1,1,1,1", list, 4, &bad, &bad_len) == -1);
}

static void test_long_list(void)
{
  long out[3];

  CHECK(ksb_parse_long_list("5", 0, 10, out, 3) == 1 && out[0] == 5);
  CHECK(ksb_parse_long_list("1,2,3", 0, 10, out, 3) == 3 && out[2] == 3);
  CHECK(ksb_parse_long_list("1,2,3,4", 0, 10, out, 3) == -1);
  CHECK(ksb_parse_long_list("1,,3", 0, 10, out, 3) == -1);
  CHECK(ksb_parse_long_list("1,11", 0, 10, out, 3) == -1);
  CHECK(ksb_parse_long_list("", 0, 10, out, 3) == -1);
}

static void test_topic_name(void)
{
  char longest[KSB_TOPIC_NAME_MAX + 2];

  CHECK(ksb_topic_name_valid("catalog-events"));
  CHECK(ksb_topic_name_valid("completion-events.dlq"));
  CHECK(ksb_topic_name_valid("A_b-9.x"));
  CHECK(ksb_topic_name_valid("..."));
  CHECK(!ksb_topic_name_valid("."));
  CHECK(!ksb_topic_name_valid(".."));
  CHECK(!ksb_topic_name_valid(""));
  CHECK(!ksb_topic_name_valid(NULL));
  CHECK(!ksb_topic_name_valid("a/b"));
  CHECK(!ksb_topic_name_valid("a b"));
  CHECK(!ksb_topic_name_valid("caf\xc3\xa9"));
  memset(longest, 'x', KSB_TOPIC_NAME_MAX);
  longest[KSB_TOPIC_NAME_MAX] = '\0';
  CHECK(ksb_topic_name_valid(longest));
  longest[KSB_TOPIC_NAME_MAX] = 'x';
  longest[KSB_TOPIC_NAME_MAX + 1] = '\0';
  CHECK(!ksb_topic_name_valid(longest));
}

int main(void)
{
  test_long();
  test_api_key();
  test_error();
  test_long_list();
  test_topic_name();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all ksb_parse checks passed\n");
  return 0;
}

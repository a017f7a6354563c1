/* lb_token's pure parts: token responses (the reference's test vectors
 * T2/T2b) and the token request of each API. Fetching, caching, expiry and
 * refresh are exercised against lms-sandbox in test_lb_client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lb_token.h"

static void test_parse_token_responses(void **state)
{
  (void)state;
  static const struct {
    const char *body;
    bool ok;
    int64_t expires;
  } cases[] = {
    {"{\"access_token\":\"abc\",\"token_type\":\"bearer\",\"expires_in\":5183999,\"refresh_token\":\"r\"}", true, 5183999},
    {"{\"expires_in\": 1800, \"access_token\": \"access_token\"}", true, 1800},
    {"{\"access_token\":\"abc\",\"expires_in\":1800.5}", true, 1800},
    {"{\"issuedFor\": \"learning_public_api\"}", false, 0},
    {"", false, 0},
    {"not json", false, 0},
    {"[]", false, 0},
    {"{\"access_token\":\"\",\"expires_in\":10}", false, 0},
    {"{\"access_token\":7,\"expires_in\":10}", false, 0},
    {"{\"access_token\":\"abc\"}", false, 0},
    {"{\"access_token\":\"abc\",\"expires_in\":0}", false, 0},
    {"{\"access_token\":\"abc\",\"expires_in\":-5}", false, 0},
    {"{\"access_token\":\"abc\",\"expires_in\":true}", false, 0},
    {"{\"access_token\":\"abc\",\"expires_in\":\"1800\"}", false, 0},
    /* absurd lifetimes are capped at 400 days */
    {"{\"access_token\":\"abc\",\"expires_in\":1e12}", true, 400LL * 86400},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *token = NULL, err[160] = "";
    int64_t expires = -1;
    lb_err rc = lb_token_parse(cases[i].body, strlen(cases[i].body), &token, &expires,
                               err, sizeof(err));
    if ((rc == LB_E_OK) != cases[i].ok)
      fail_msg("case %zu: rc %d (%s)", i, rc, err);
    if (cases[i].ok) {
      assert_int_equal(expires, cases[i].expires);
      assert_non_null(token);
    } else {
      assert_null(token);
      assert_true(strlen(err) > 0);
      assert_int_equal(expires, -1);
    }
    free(token);
  }
}

static void test_request_bodies(void **state)
{
  (void)state;
  char *body = NULL;
  const char *ctype = NULL;
  lb_integration degreed = {.type = LB_INTEG_DEGREED, .client_id = "id 1",
                            .client_secret = "s&e=c+r/t", .scopes = "content:read,content:write"};
  assert_int_equal(lb_token_request_body(&degreed, &body, &ctype), LB_E_OK);
  assert_string_equal(ctype, "application/x-www-form-urlencoded");
  assert_string_equal(body, "grant_type=client_credentials&client_id=id%201"
                            "&client_secret=s%26e%3Dc%2Br%2Ft"
                            "&scope=content%3Aread%2Ccontent%3Awrite");
  free(body);

  lb_integration sf = {.type = LB_INTEG_SUCCESSFACTORS, .client_id = "GLOBEX",
                       .client_secret = "x", .company_id = "GLOBEX", .admin_user = "ocn_admin"};
  assert_int_equal(lb_token_request_body(&sf, &body, &ctype), LB_E_OK);
  assert_string_equal(ctype, "application/json");
  /* the secret travels in the Basic header, never in this body */
  assert_string_equal(body, "{\"grant_type\":\"client_credentials\",\"scope\":{\"userId\":"
                            "\"ocn_admin\",\"companyId\":\"GLOBEX\",\"userType\":\"admin\","
                            "\"resourceType\":\"learning_public_api\"}}");
  free(body);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_token_responses),
    cmocka_unit_test(test_request_bodies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

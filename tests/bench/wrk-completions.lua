-- wrk: POST a new Degreed completion per request (the same request the
-- delivery client sends), with the bearer token given in $BENCH_TOKEN.
local counter = 0
local token = os.getenv("BENCH_TOKEN")
function request()
  counter = counter + 1
  local body = string.format('{"data":{"type":"completions","attributes":{"user-id":"wrk-%d-%d@bench.example","user-identifier-type":"Email","content-id":"course-1","content-id-type":"ExternalId","content-type":"Course","completed-at":"2026-01-02T03:04:05"}}}', math.random(1, 1000000000), counter)
  return wrk.format("POST", nil, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["User-Agent"] = "lmsbridge/0.1.0",
    ["X-Request-Id"] = string.format("lb-0000wrk0-%d", counter)}, body)
end

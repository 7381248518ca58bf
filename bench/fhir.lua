-- fhir.lua - the wrk request of one bench/fhir.sh row, from the environment:
--   FHIR_METHOD  GET or POST (default GET)
--   FHIR_TOKEN   a bearer access token, sent as "Authorization: Bearer ..." (none when unset)
--   FHIR_BODY    a file whose content is the POST body, sent as application/fhir+json
-- The URL (path and query) is wrk's own argument. Ends every run with one machine-readable line
-- (the same as bench/lib.sh's report_lua), latencies in microseconds; "non2xx" is wrk's
-- errors.status: answers with a status >= 400.
--
--   FHIR_METHOD=POST FHIR_TOKEN=... FHIR_BODY=obs.json \
--     wrk -t2 -c32 -d10s --latency -s bench/fhir.lua http://127.0.0.1:8080/fhir/Observation

wrk.method = os.getenv("FHIR_METHOD") or "GET"
wrk.headers["Accept"] = "application/fhir+json"

local token = os.getenv("FHIR_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local body_file = os.getenv("FHIR_BODY")
if body_file ~= nil and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"), "FHIR_BODY: cannot open " .. body_file)
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/fhir+json"
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%.0f duration_us=%.0f bytes=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f " ..
    "max_us=%.0f non2xx=%.0f connect=%.0f read=%.0f write=%.0f timeout=%.0f\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end

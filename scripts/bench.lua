-- wrk script for scripts/bench.sh and scripts/bench-matrix.sh: sends
-- $COOKIE and $AUTHORIZATION (when set) with every request, and prints one
-- line the script reads at the end:
--   RESULT <requests/s> <p50 ms> <p95 ms> <p99 ms> <non-2xx/3xx> <socket errors> <requests>
local cookie = os.getenv("COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end
local authorization = os.getenv("AUTHORIZATION")
if authorization and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.2f %.2f %.2f %d %d %d\n",
    summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout, summary.requests))
end

-- Idempotent POSTs for bench/stores.mjs: every request carries a new
-- Idempotency-Key (a per-thread random prefix and a counter), so each one
-- runs the callback and stores its response. Prints one JSON line at the
-- end for bench/lib.mjs, as report.lua does.
local counter = 0
local prefix = string.format("%x%x", os.time(), math.random(0, 0x7fffffff))

request = function()
  counter = counter + 1
  return wrk.format("POST", "/pay", {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format('"%s-%d"', prefix, counter),
  }, '{"amount":10}')
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nWRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"mean":%.1f,"p50":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), latency.max))
end

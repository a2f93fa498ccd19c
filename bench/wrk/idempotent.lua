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

-- The end-of-run JSON line: report.lua's `done`, loaded from beside this script.
dofile((debug.getinfo(1, "S").source:sub(2):match("^(.*[/\\])") or "") .. "report.lua")

-- Pipelined wrk run: each write carries N GET requests (N from `-- N`,
-- default 16); wrk waits for all N responses before writing the next batch
-- and counts every response. Prints one JSON line at the end for bench/lib.mjs.
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end

request = function()
  return req
end

-- The end-of-run JSON line: report.lua's `done`, loaded from beside this script.
dofile((debug.getinfo(1, "S").source:sub(2):match("^(.*[/\\])") or "") .. "report.lua")

-- Shared by every scenario script: the scenario's data, counting of answers that are not 2xx,
-- and a done() that prints the result as one JSON line (the driver reads the last such line).
--
-- The driver writes the scenario's data as a Lua file returning a table and names it in
-- BENCH_DATA: token, and whatever the scenario needs (paths, ids, catalog entries, ...).

bench = {}
bench.data = dofile(os.getenv("BENCH_DATA"))

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

-- Per thread (each thread has a Lua state of its own): answers outside 2xx, and the first one.
non2xx = 0
first_error = ""

function bench.init()
   math.randomseed(os.time() * 1000 + (thread_number or 0))
   wrk.headers["Accept"] = "application/json"
   if bench.data.token then
      wrk.headers["Authorization"] = "Bearer " .. bench.data.token
   end
end

function bench.count(status, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if first_error == "" then
         first_error = tostring(status) .. " " .. string.sub(body or "", 1, 400)
      end
      return false
   end
   return true
end

-- The default: count every answer. A scenario that reads its answers defines its own response().
function response(status, headers, body)
   bench.count(status, body)
end

local function json_string(value)
   local escaped = string.gsub(value, '[%c"\\]', function(c)
      if c == '"' then return '\\"' end
      if c == "\\" then return "\\\\" end
      return string.format("\\u%04x", string.byte(c))
   end)
   return '"' .. escaped .. '"'
end

function done(summary, latency, requests)
   local failed, sample = 0, ""
   for _, thread in ipairs(threads) do
      failed = failed + (thread:get("non2xx") or 0)
      local first = thread:get("first_error")
      if sample == "" and first and first ~= "" then sample = first end
   end
   local e = summary.errors
   local seconds = summary.duration / 1e6
   local ms = function(us) return us / 1000 end
   io.write(string.format(
      '{"requests":%d,"duration_s":%.3f,"rps":%.2f,"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,'
         .. '"non2xx":%d,"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"bytes":%d,'
         .. '"first_error":%s}\n',
      summary.requests, seconds, summary.requests / seconds,
      ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)), ms(latency.max),
      failed, e.connect, e.read, e.write, e.timeout, summary.bytes, json_string(sample)))
end

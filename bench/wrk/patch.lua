-- PATCH /api/v1/records/{id} with If-Match: the record's version as last answered.
--
-- data.records holds {id, version} pairs of records an Inspector may still edit (not closed);
-- the driver gives each wrk thread a share of its own (data.shares[thread_number]), so threads
-- never touch each other's records. Within a thread a record is taken by one request at a time
-- (it is busy until its answer, which names its id and new version, comes back), so no two
-- changes of one record cross and every change names the version it was made on.

dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local data = bench.data
local records = {}   -- index -> {id, version}
local by_id = {}     -- id -> entry
local free = {}      -- stack of free entries

function init(args)
   bench.init()
   wrk.headers["Content-Type"] = "application/json"
   for _, pair in ipairs(data.shares[thread_number]) do
      local entry = {id = pair[1], version = pair[2]}
      table.insert(records, entry)
      by_id[entry.id] = entry
      table.insert(free, entry)
   end
end

function request()
   local entry
   if #free > 0 then
      entry = table.remove(free, math.random(#free))
   else
      -- Every record of the thread waits for an answer that never named it (an error): take any.
      entry = records[math.random(#records)]
   end
   local body = string.format('{"quantity":%d,"serial_number":"SN-%d"}', math.random(1, 40), math.random(100000, 999999))
   -- wrk.format sends only the headers given (and Host): the common ones are copied in.
   local headers = {["If-Match"] = '"' .. entry.version .. '"'}
   for name, value in pairs(wrk.headers) do headers[name] = value end
   return wrk.format("PATCH", "/api/v1/records/" .. entry.id, headers, body)
end

function response(status, headers, body)
   bench.count(status, body)
   local id = tonumber(string.match(body or "", '^%s*{%s*"id"%s*:%s*(%d+)'))
   local entry = id and by_id[id]
   if not entry then
      return -- an error answer, counted above; its record stays taken
   end
   local etag = headers["ETag"] or headers["etag"] or headers["Etag"]
   local version = tonumber(etag and string.match(etag, "(%d+)") or string.match(body, '"version"%s*:%s*(%d+)'))
   if version then entry.version = version end
   table.insert(free, entry)
end

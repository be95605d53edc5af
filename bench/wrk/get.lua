-- GET one path again and again. data.path may hold "{n}", replaced on each request by a random
-- value of data.values, or a random whole number from data.low to data.high (a record id).

dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local data = bench.data

function init(args)
   bench.init()
end

function request()
   local path = data.path
   if data.values then
      path = string.gsub(path, "{n}", tostring(data.values[math.random(#data.values)]))
   elseif data.low then
      path = string.gsub(path, "{n}", tostring(math.random(data.low, data.high)))
   end
   return wrk.format("GET", path)
end

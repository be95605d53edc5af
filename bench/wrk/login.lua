-- POST /api/v1/auth/login with a demo user's password (argon2id checks it: slow on purpose).

dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local data = bench.data

function init(args)
   bench.init()
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   local user = data.users[math.random(#data.users)]
   local body = string.format('{"username":"%s","password":"%s"}', user[1], user[2])
   return wrk.format("POST", data.path, nil, body)
end

-- POST /api/v1/records: a new record from an Inspector, with real catalog entries picked at
-- random (data.catalogs: kind -> ids) and a defect description in one of the three languages.

dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local data = bench.data

local DEFECTS = {
   {"en", "Porosity cluster on the mounting face"},
   {"en", "Slot width 0.04 mm under the drawing"},
   {"es", "Grieta en la zona de la mazarota"},
   {"es", "Rebaba en el canto de la brida"},
   {"zh", "安装面有密集气孔"},
   {"zh", "法兰边缘有毛刺"},
}
local OPERATIONS = {"OP-10 wax", "OP-30 pour", "OP-70 machine"}

local function pick(kind)
   local ids = data.catalogs[kind]
   return ids[math.random(#ids)]
end

function init(args)
   bench.init()
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   local defect = DEFECTS[math.random(#DEFECTS)]
   local body = string.format(
      '{"part_number_id":%d,"work_center_id":%d,"customer_id":%d,"level_id":%d,"area_id":%d,'
         .. '"prepared_by_id":%d,"operation":"%s","quantity":%d,"serial_number":"SN-%d","date":"%s",'
         .. '"inspection_item_id":%d,"process_code_id":%d,"defect_description":"%s","language":"%s"}',
      pick("part-numbers"), pick("work-centers"), pick("customers"), pick("levels"), pick("areas"),
      pick("prepared-by"), OPERATIONS[math.random(#OPERATIONS)], math.random(1, 40),
      math.random(100000, 999999), data.date, pick("inspection-items"), pick("process-codes"),
      defect[2], defect[1])
   return wrk.format("POST", "/api/v1/records", nil, body)
end

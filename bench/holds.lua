-- wrk script: POST /holds on distinct slots of the benchmark data set.
-- Each wrk thread takes its own block of rooms, so no two requests ask for the same slot.
-- Needs the data from `escape-room-server seed --bench 100x2000`. An optional argument (after
-- `--`) skips that many slots of each thread's block, so runs one after the other on the same data
-- take fresh slots (scripts/benchmark passes 0, 30000, 60000).
local threads = {}
local slots_per_room = 2000
local rooms_per_thread = 50

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = tonumber(args[1]) or 0
end

function request()
  local n = counter
  counter = counter + 1
  local room = tid * rooms_per_thread + 1 + math.floor(n / slots_per_room)
  local slot = n % slots_per_room + 1
  local body = string.format('{"slot_id":"s-bench-%d-%d","user_id":"u-bench-%d"}', room, slot, slot)
  return wrk.format("POST", "/holds", { ["Content-Type"] = "application/json" }, body)
end

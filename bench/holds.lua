-- wrk script: POST /holds on distinct slots of the benchmark data set.
-- Each wrk thread takes its own block of rooms, so no two requests ask for the same slot.
-- Needs the data from `escape-room-server seed --bench 100x2000`. Optional arguments (after `--`):
-- how many slots of each thread's block to skip, so runs one after the other on the same data take
-- fresh slots, and the slots per room of the data set (default 2000).
local threads = {}
slots_per_room = 2000
local rooms_per_thread = 50

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = tonumber(args[1]) or 0
  slots_per_room = tonumber(args[2]) or 2000
end

function request()
  local n = counter
  counter = counter + 1
  local room = tid * rooms_per_thread + 1 + math.floor(n / slots_per_room)
  local slot = n % slots_per_room + 1
  local body = string.format('{"slot_id":"s-bench-%d-%d","user_id":"u-bench-%d"}', room, slot, slot)
  return wrk.format("POST", "/holds", { ["Content-Type"] = "application/json" }, body)
end

-- wrk script: the player-auth comparison of bench/benchmark.py (`player-auth`): the same requests
-- to a server in trusted mode (the player named by `user_id`) and in guest mode (the player's
-- signed token in `Authorization: Bearer`). Arguments (after `--`): `list` or `holds`; the file
-- of guest tokens, one a line (`-`: trusted mode, no token); for `holds`, how many slots of each
-- thread's block to skip and the slots per room, as bench/holds.lua.
local threads = {}
local rooms_per_thread = 50

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  holds = args[1] == "holds"
  tokens = {}
  if args[2] and args[2] ~= "-" then
    for line in io.lines(args[2]) do
      if #line > 0 then table.insert(tokens, line) end
    end
  end
  counter = tonumber(args[3]) or 0
  slots_per_room = tonumber(args[4]) or 2000
  sent = 0
end

function request()
  sent = sent + 1
  local headers = {}
  local player = ""
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(sent + tid * 7) % #tokens + 1]
  end
  if not holds then
    local path = "/slots?room_id=r-101&limit=16"
    if #tokens == 0 then path = path .. "&user_id=u-bench-" .. (sent % 100 + 1) end
    return wrk.format("GET", path, headers)
  end
  local n = counter
  counter = counter + 1
  local room = tid * rooms_per_thread + 1 + math.floor(n / slots_per_room)
  local slot = n % slots_per_room + 1
  if #tokens == 0 then player = string.format(',"user_id":"u-bench-%d"', slot) end
  headers["Content-Type"] = "application/json"
  local body = string.format('{"slot_id":"s-bench-%d-%d"%s}', room, slot, player)
  return wrk.format("POST", "/holds", headers, body)
end

-- wrk script: the player-auth comparison of bench/benchmark.py (`player-auth`): the same requests
-- by the same players to a server in trusted mode (the player named by `user_id`) and in guest
-- mode (the player's signed token in `Authorization: Bearer`, no `user_id`). Arguments (after
-- `--`): `list` or `holds`; `trusted` or `guest`; the file of players, one a line as
-- `<player id> <token>` (both modes take the players in the same order, so the two servers see
-- the same players and only the credential differs); for `holds`, how many slots of each
-- thread's block to skip and the slots per room, as bench/holds.lua.
local threads = {}
local rooms_per_thread = 50

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  holds = args[1] == "holds"
  guest = args[2] == "guest"
  players, tokens = {}, {}
  for line in io.lines(args[3]) do
    local id, token = line:match("^(%S+) (%S+)$")
    if id then
      table.insert(players, id)
      table.insert(tokens, token)
    end
  end
  counter = tonumber(args[4]) or 0
  slots_per_room = tonumber(args[5]) or 2000
  sent = 0
end

function request()
  sent = sent + 1
  local p = (sent + tid * 7) % #players + 1
  local headers = {}
  local player = ""
  if guest then
    headers["Authorization"] = "Bearer " .. tokens[p]
  end
  if not holds then
    local path = "/slots?room_id=r-101&limit=16"
    if not guest then path = path .. "&user_id=" .. players[p] end
    return wrk.format("GET", path, headers)
  end
  local n = counter
  counter = counter + 1
  local room = tid * rooms_per_thread + 1 + math.floor(n / slots_per_room)
  local slot = n % slots_per_room + 1
  if not guest then player = string.format(',"user_id":"%s"', players[p]) end
  headers["Content-Type"] = "application/json"
  local body = string.format('{"slot_id":"s-bench-%d-%d"%s}', room, slot, player)
  return wrk.format("POST", "/holds", headers, body)
end

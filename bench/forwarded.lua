-- wrk script: the URL's request (GET by default), each from a client address of its own, as a
-- proxy would say it (`X-Forwarded-For`): the rate limits' phase of bench/benchmark.py, where the
-- server runs with TRUST_PROXY=1 at the default limits, so every request is a new key and none is
-- refused. With `holds` as the first argument (after `--`), POST /holds on distinct slots as
-- bench/holds.lua does, the second and third arguments being its skip and slots per room.
local threads = {}
local rooms_per_thread = 50

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  holds = args[1] == "holds"
  counter = tonumber(args[2]) or 0
  slots_per_room = tonumber(args[3]) or 2000
  sent = 0
end

function request()
  sent = sent + 1
  local from = string.format("10.%d.%d.%d", tid, math.floor(sent / 256) % 256, sent % 256)
  local headers = { ["X-Forwarded-For"] = from }
  if not holds then
    return wrk.format(nil, nil, headers)
  end
  local n = counter
  counter = counter + 1
  local room = tid * rooms_per_thread + 1 + math.floor(n / slots_per_room)
  local slot = n % slots_per_room + 1
  headers["Content-Type"] = "application/json"
  local body = string.format('{"slot_id":"s-bench-%d-%d","user_id":"u-bench-%d"}', room, slot, slot)
  return wrk.format("POST", "/holds", headers, body)
end

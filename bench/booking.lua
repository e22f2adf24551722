-- wrk script: bookings, each a POST /holds then a POST /holds/{hold_id}/confirm with a contact,
-- as bench/delivery.py runs it. Run with as many threads as connections (-t16 -c16): a thread's
-- one connection then sends its requests in order, so the confirm follows its own hold.
-- Arguments (after `--`): the run's number (run n books in rooms 16n+1 … 16n+16, one a thread,
-- so no run meets the slots of another) and the contact's e-mail address (`-`: no contact).
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  room = (tonumber(args[1]) or 0) * 16 + tid + 1
  counter = 0
  email = args[2] or "-"
  hold_id = nil
end

function request()
  if hold_id then
    local contact = ""
    if email ~= "-" then
      contact = string.format(',"contact":{"name":"Bench Player","email":"%s"}', email)
    end
    local body = string.format('{"user_id":"u-bench-%d"%s}', tid + 1, contact)
    local path = "/holds/" .. hold_id .. "/confirm"
    hold_id = nil
    return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
  end
  counter = counter + 1
  local body = string.format('{"slot_id":"s-bench-%d-%d","user_id":"u-bench-%d"}', room, counter, tid + 1)
  return wrk.format("POST", "/holds", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status >= 300 then
    io.stderr:write(string.format("answer %d: %s\n", status, body))
  end
  if status == 201 then
    hold_id = string.match(body, '"hold_id"%s*:%s*"([^"]+)"')
  end
end

-- lib.lua - shared by the wrk scripts: the API key and id files the
-- benchmark driver (run.mjs) prepared, passed in the environment.
local M = {}

function M.lines(path)
  local t = {}
  for line in io.lines(path) do t[#t + 1] = line end
  return t
end

M.auth = "Bearer " .. os.getenv("BENCH_KEY")
M.dir = os.getenv("BENCH_DIR")

function M.get(path)
  return wrk.format("GET", path, { ["Authorization"] = M.auth })
end

local seq = 0
function M.post(path, body)
  seq = seq + 1
  local key = string.format("bench-%d-%d-%d", math.random(1e9), seq, os.time())
  return wrk.format("POST", path, {
    ["Authorization"] = M.auth,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, body)
end

function M.customer_body()
  seq = seq + 1
  return string.format('{"email":"bench%d.%d@example.com","name":"Bench Customer","prepay":true}',
    math.random(1e9), seq)
end

function M.mail_body(customer_id)
  return string.format('{"customer_id":"%s","type":"letter","photos":["https://example.com/p.jpg"],'
    .. '"performed_by":"bench"}', customer_id)
end

return M

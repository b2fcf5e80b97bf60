-- scenario.lua - one wrk script for every benchmark scenario, chosen by
-- BENCH_SCENARIO: healthz, customer_get, customer_list, mail_get,
-- usage_page, customer_create, mail_create, mixed (90 % reads, 10 % writes).
package.path = os.getenv("BENCH_SRC") .. "/?.lua;" .. package.path
local lib = require("lib")
local scenario = os.getenv("BENCH_SCENARIO")
local customers, eligible, mail
local list_limit = os.getenv("BENCH_LIST_LIMIT") or "20"

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  customers = lib.lines(lib.dir .. "/customers.txt")
  eligible = lib.lines(lib.dir .. "/eligible.txt")
  mail = lib.lines(lib.dir .. "/mail.txt")
end

local function pick(t) return t[math.random(#t)] end

local handlers = {
  healthz = function() return wrk.format("GET", "/healthz") end,
  customer_get = function() return lib.get("/api/v1/customers/" .. pick(customers)) end,
  customer_list = function() return lib.get("/api/v1/customers?limit=" .. list_limit) end,
  mail_get = function() return lib.get("/api/v1/mail/" .. pick(mail)) end,
  usage_page = function() return lib.get("/api/v1/billing/usage?limit=" .. list_limit) end,
  customer_create = function() return lib.post("/api/v1/customers", lib.customer_body()) end,
  mail_create = function() return lib.post("/api/v1/mail", lib.mail_body(pick(eligible))) end,
}

handlers.mixed = function()
  local r = math.random(100)
  if r <= 50 then return handlers.customer_get() end
  if r <= 75 then return handlers.mail_get() end
  if r <= 90 then return handlers.customer_list() end
  if r <= 95 then return handlers.customer_create() end
  return handlers.mail_create()
end

request = handlers[scenario]

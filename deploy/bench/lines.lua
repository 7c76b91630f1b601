-- wrk: writes of several levels in one request. BENCH_LINES=transfer moves 1 unit of a random product
-- between two random stores (POST /stock/transfers); BENCH_LINES=N sells 1 unit at each of N random
-- levels in one batch (POST /stock/movements/batch). Prints throughput, latency percentiles and errors.
local report = dofile(os.getenv("BENCH_DIR") .. "/report.lua")
local stores, products = {}, {}
local token = os.getenv("BENCH_TOKEN")
local mode = os.getenv("BENCH_LINES") or "transfer"
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }

local function pick(t) return t[math.random(#t)] end

function init(args)
  stores = report.lines(os.getenv("BENCH_STORES"))
  products = report.lines(os.getenv("BENCH_PRODUCTS"))
  report.seed()
end

local function transfer()
  local from, to = pick(stores), pick(stores)
  while to == from and #stores > 1 do to = pick(stores) end
  local body = string.format('{"from_store_id":"%s","to_store_id":"%s","product_id":"%s","quantity":1}',
    from, to, pick(products))
  return wrk.format("POST", "/stock/transfers", headers, body)
end

local function batch(n)
  local movements = {}
  for i = 1, n do
    movements[i] = string.format('{"store_id":"%s","product_id":"%s","type":"SALE","quantity":1}',
      pick(stores), pick(products))
  end
  return wrk.format("POST", "/stock/movements/batch", headers,
    '{"movements":[' .. table.concat(movements, ",") .. ']}')
end

function request()
  if mode == "transfer" then return transfer() end
  return batch(tonumber(mode))
end

setup = report.setup
response = report.response
done = function(summary, latency, requests) report.done(summary, latency) end

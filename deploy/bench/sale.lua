-- wrk: SALE movements of 1 unit. BENCH_HOT=1 sells always the same level; otherwise a random store
-- and product from the seeded lists. BENCH_IDEMPOTENT=1 sends each sale with an Idempotency-Key of
-- its own, as a point-of-sale client that may retry does. Prints throughput, latency percentiles and
-- errors.
local report = dofile(os.getenv("BENCH_DIR") .. "/report.lua")
local stores, products = {}, {}
local token = os.getenv("BENCH_TOKEN")
local hot = os.getenv("BENCH_HOT") == "1"
local idempotent = os.getenv("BENCH_IDEMPOTENT") == "1"
local sent = 0

function init(args)
  stores = report.lines(os.getenv("BENCH_STORES"))
  products = report.lines(os.getenv("BENCH_PRODUCTS"))
  report.seed()
end

function request()
  local s, p = stores[1], products[1]
  if not hot then
    s = stores[math.random(#stores)]
    p = products[math.random(#products)]
  end
  local body = string.format('{"store_id":"%s","product_id":"%s","type":"SALE","quantity":1}', s, p)
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  if idempotent then
    -- Unique across threads and runs: random bits from the thread's own generator, and a count.
    sent = sent + 1
    headers["Idempotency-Key"] = string.format("bench-%08x%08x-%d", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff), sent)
  end
  return wrk.format("POST", "/stock/movements", headers, body)
end

setup = report.setup
response = report.response
done = function(summary, latency, requests) report.done(summary, latency) end

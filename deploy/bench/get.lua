-- wrk: GETs of random paths from the file in BENCH_PATHS (one path per line). With BENCH_ETAG set,
-- each request carries `If-None-Match: <BENCH_ETAG>` (a client revalidating what it holds).
local report = dofile(os.getenv("BENCH_DIR") .. "/report.lua")
local paths = {}
local headers = { ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN") }
local etag = os.getenv("BENCH_ETAG")
if etag and #etag > 0 then headers["If-None-Match"] = etag end

function init(args)
  paths = report.lines(os.getenv("BENCH_PATHS"))
  report.seed()
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

setup = report.setup
response = report.response
done = function(summary, latency, requests) report.done(summary, latency) end

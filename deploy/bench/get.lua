-- wrk: GETs of random paths from the file in BENCH_PATHS (one path per line).
local report = dofile(os.getenv("BENCH_DIR") .. "/report.lua")
local paths = {}
local token = os.getenv("BENCH_TOKEN")

function init(args)
  for line in io.lines(os.getenv("BENCH_PATHS")) do if #line > 0 then paths[#paths + 1] = line end end
  math.randomseed(os.time() + math.random(1000000))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], { ["Authorization"] = "Bearer " .. token })
end

done = function(summary, latency, requests) report(summary, latency) end

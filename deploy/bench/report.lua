-- Shared by the wrk scripts: counts the answers that are not 2xx (per thread, summed at the end) and
-- prints one RESULT line of JSON: requests, good answers, non-2xx answers, socket errors, duration
-- and latency percentiles (of every answer). BENCH_OK_STATUS names one more status that counts as
-- good (304 for revalidations).
local M = {}
local threads = {}
local expected = tonumber(os.getenv("BENCH_OK_STATUS") or "")
non2xx = 0

function M.setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

-- The non-empty lines of the file at `path` (the seeded ids, the paths to GET).
function M.lines(path)
  local t = {}
  for line in io.lines(path) do if #line > 0 then t[#t + 1] = line end end
  return t
end

-- Seeds the thread's random numbers: LuaJIT's generator starts from the same state in every
-- thread and the threads start in the same second, so os.time() alone gives them one sequence.
function M.seed()
  math.randomseed(os.time() * 1000 + (thread_number or 0))
end

function M.response(status, headers, body)
  if (status < 200 or status > 299) and status ~= expected then non2xx = non2xx + 1 end
end

function M.done(summary, latency)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non2xx") or 0) end
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests":%d,"ok":%d,"non_2xx":%d,"socket_errors":%d,"seconds":%.3f,' ..
    '"p50_ms":%.2f,"p99_ms":%.2f,"p999_ms":%.2f}\n',
    summary.requests, summary.requests - bad, bad, socket, secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end

return M

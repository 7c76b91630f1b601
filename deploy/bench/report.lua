-- Shared by the wrk scripts: one RESULT line with throughput, latency percentiles and errors.
return function(summary, latency)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "RESULT throughput=%.0f/s p50=%.2fms p99=%.2fms p99.9=%.2fms requests=%d errors=%d (non-2xx %d, socket %d)\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, summary.requests, e.status + socket, e.status, socket))
end

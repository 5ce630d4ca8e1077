-- wrk script: POSTs a pre-encoded 1,000-row x 25-feature batch with a unique batch_id per request.
-- The body file holds one 16-byte placeholder (QQQQQQQQQQQQQQQQ) where the id goes; ids keep its length,
-- so the msgpack/JSON encoding stays valid. Environment: BODY_FILE, CONTENT_TYPE, INGEST_PATH, RUN_TAG
-- (one letter, distinct per run on one database).
local placeholder = "QQQQQQQQQQQQQQQQ"
local prefix, suffix
local counter = 0
local threads = {}
local tag = os.getenv("RUN_TAG") or "r"

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
  local body = f:read("*all")
  f:close()
  local at = assert(string.find(body, placeholder, 1, true), "placeholder missing")
  prefix = string.sub(body, 1, at - 1)
  suffix = string.sub(body, at + #placeholder)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE")
end

function request()
  counter = counter + 1
  local id = string.format("%s%02d%013d", tag, tid, counter)
  return wrk.format(nil, os.getenv("INGEST_PATH"), nil, prefix .. id .. suffix)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end

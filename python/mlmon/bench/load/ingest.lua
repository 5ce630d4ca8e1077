-- wrk script: POSTs a pre-encoded body with a unique id per request (the batch id of an ingest body, and
-- the rows' request ids of a body that carries them). The body file holds the 16-byte placeholder
-- (QQQQQQQQQQQQQQQQ) wherever the request's id goes: once for a batch id, and as "<placeholder>-00001"
-- etc. for each row's request id, so they stay unique per request. Every occurrence is replaced by the
-- same id; ids keep the placeholder's length, so the msgpack/JSON encoding stays valid. Environment:
-- BODY_FILE, CONTENT_TYPE, INGEST_PATH, RUN_TAG (one letter, distinct per run on one database).
local placeholder = "QQQQQQQQQQQQQQQQ"
local parts
local counter = 0
local threads = {}
local tag = os.getenv("RUN_TAG") or "r"

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

-- The body cut at each occurrence of the placeholder (split once; table.concat joins it per request).
function split(body)
  local out = {}
  local from = 1
  while true do
    local at = string.find(body, placeholder, from, true)
    if not at then break end
    table.insert(out, string.sub(body, from, at - 1))
    from = at + #placeholder
  end
  assert(#out > 0, "placeholder missing")
  table.insert(out, string.sub(body, from))
  return out
end

function init(args)
  local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
  local body = f:read("*all")
  f:close()
  parts = split(body)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE")
end

function request()
  counter = counter + 1
  local id = string.format("%s%02d%013d", tag, tid, counter)
  return wrk.format(nil, os.getenv("INGEST_PATH"), nil, table.concat(parts, id))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end

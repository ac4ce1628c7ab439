-- Shared by the workload scripts (require "bench"): the seeded data, one request builder per operation, MCP error
-- counting and the RESULT line bench/run.sh reads. Set by bench/run.sh in the environment:
--   BENCH_TOKEN    the created write token          BENCH_DATA    directory with projects.txt and task-ids.txt
--   BENCH_THREADS  wrk's thread count                BENCH_PHASE   warmup or measure (they patch disjoint tasks)
--   BENCH_MCP_PROTOCOL, BENCH_MCP_SESSION            from the initialize handshake (the session may be empty)
local bench = {}

local find, format = string.find, string.format
local statuses = { "todo", "doing", "review", "done" }
local threads = {}
local projects, task_ids, touched = {}, {}, {}
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
local warmup = os.getenv("BENCH_PHASE") == "warmup"
local created, rpc_id = 0, 0

local auth = "Bearer " .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set")
local read_headers = { ["Authorization"] = auth, ["Accept"] = "application/json" }
local json_headers = { ["Authorization"] = auth, ["Accept"] = "application/json", ["Content-Type"] = "application/json" }
local mcp_headers = {
  ["Authorization"] = auth,
  ["Accept"] = "application/json, text/event-stream",
  ["Content-Type"] = "application/json",
  ["MCP-Protocol-Version"] = os.getenv("BENCH_MCP_PROTOCOL"),
}
if (os.getenv("BENCH_MCP_SESSION") or "") ~= "" then mcp_headers["Mcp-Session-Id"] = os.getenv("BENCH_MCP_SESSION") end

-- Main state: remember every thread, so done() can add up what they counted.
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_index", #threads)
end

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do lines[#lines + 1] = line end
  return lines
end

-- Thread state, before its first request. Task ids are in project order, 1,000 per project, by number.
function init(args)
  math.randomseed(os.time() * 1000 + thread_index * 7919)
  local data = assert(os.getenv("BENCH_DATA"), "BENCH_DATA is not set")
  projects = read_lines(data .. "/projects.txt")
  if bench.needs_task_ids then task_ids = read_lines(data .. "/task-ids.txt") end
  app_errors, first_error = 0, nil
end

local function random_project() return projects[math.random(#projects)] end

-- A task this thread alone changes in this phase (projects split between threads, warm-up odd numbers, measurement
-- even ones), and a status it is not in: seeded statuses cycle by number (bench/seed.sql), later ones are remembered.
-- So every patch is a real change, never a no-op the api could skip.
local function next_status_change()
  local p = (math.random(0, math.ceil(#projects / thread_count) - 1) * thread_count + thread_index - 1) % #projects
  local n = 2 * math.random(500) - (warmup and 1 or 0)
  local key = p * 1000 + n
  local current = touched[key] or ((n - 1) % 4 + 1)
  local next = current % 4 + 1
  touched[key] = next
  return projects[p + 1] .. "-" .. n, statuses[next]
end

function bench.list()
  return wrk.format("GET", "/api/tasks?project=" .. random_project() .. "&status=todo&limit=50", read_headers)
end

function bench.get()
  return wrk.format("GET", "/api/tasks/" .. task_ids[math.random(#task_ids)], read_headers)
end

function bench.create()
  created = created + 1
  return wrk.format("POST", "/api/tasks", json_headers, format(
    '{"project":"%s","title":"Benchmark task %d-%d","description":"Created by bench/run.sh.","priority":"medium","labels":["bench"]}',
    random_project(), thread_index, created))
end

function bench.patch()
  local task, status = next_status_change()
  return wrk.format("PATCH", "/api/tasks/" .. task, json_headers, '{"status":"' .. status .. '"}')
end

local function tool_call(name, arguments)
  rpc_id = rpc_id + 1
  return wrk.format("POST", "/mcp", mcp_headers, format(
    '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"%s","arguments":%s}}', rpc_id, name, arguments))
end

function bench.mcp_find_tasks()
  return tool_call("find_tasks", '{"project":"' .. random_project() .. '","status":["todo"],"limit":50}')
end

function bench.mcp_update_task()
  local task, status = next_status_change()
  return tool_call("manage_task", '{"action":"update","task":"' .. task .. '","status":"' .. status .. '"}')
end

-- MCP answers 200 for failed calls too: a JSON-RPC error or a tool result with isError counts as an error. (wrk counts
-- HTTP statuses over 399 itself.) Defining response() makes wrk hand every body to Lua, so only MCP scripts use it.
function bench.mcp_response(status, headers, body)
  if status == 200 and (find(body, '"isError":true', 1, true) or find(body, '"error":{', 1, true)) then
    app_errors = app_errors + 1
    first_error = first_error or body:sub(1, 400)
  end
end

function done(summary, latency, requests)
  local errors, sample = 0, nil
  for _, thread in ipairs(threads) do
    errors = errors + (thread:get("app_errors") or 0)
    sample = sample or thread:get("first_error")
  end
  local e = summary.errors
  io.write(format("RESULT requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d app_errors=%d\n",
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout, errors))
  if sample then io.stderr:write("first failed MCP response: " .. sample .. "\n") end
end

return bench

-- Change a random task's status: PATCH /api/tasks/KEY-n {"status": ...}, no If-Match (last writer wins)
local bench = require "bench"
request = bench.patch

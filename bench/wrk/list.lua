-- List 50 todo tasks of a random project: GET /api/tasks?project=KEY&status=todo&limit=50
local bench = require "bench"
request = bench.list

-- Get a random seeded task by id: GET /api/tasks/{id}
local bench = require "bench"
bench.needs_task_ids = true
request = bench.get

-- Create a task in a random project: POST /api/tasks (todo, appended to its column)
local bench = require "bench"
request = bench.create

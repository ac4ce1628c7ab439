-- MCP find_tasks through the mcp server: 50 todo tasks of a random project (the REST equivalent is list.lua)
local bench = require "bench"
request = bench.mcp_find_tasks
response = bench.mcp_response

-- MCP manage_task action=update of a random task's status through the mcp server (the REST equivalent is patch.lua)
local bench = require "bench"
request = bench.mcp_update_task
response = bench.mcp_response

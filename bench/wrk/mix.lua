-- 80 % reads, 20 % writes: 40 % list, 40 % get, 10 % create, 10 % patch, each as in its own workload
local bench = require "bench"
bench.needs_task_ids = true
local operations = { bench.list, bench.list, bench.list, bench.list, bench.get, bench.get, bench.get, bench.get,
                     bench.create, bench.patch }
request = function() return operations[math.random(#operations)]() end

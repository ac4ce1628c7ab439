-- 1,000 tasks in every project of the database (bench/run.sh creates the projects through the REST api first), written
-- straight into the product's schema after the api has migrated it, keeping what the api relies on:
--  * task numbers 1..1000 per project and projects.next_task_number = 1001, as if the api had numbered them;
--  * status cycles todo, doing, review, done by number, so every column holds 250 tasks; positions increase with the
--    number inside each (project, status) column in steps of 1024, the api's gap (1024, 2048, ... 256000);
--  * priorities, labels and assignees mixed; no subtasks, no dependencies, nothing archived (so every status change is
--    allowed), created_by = updated_by = the benchmark token's name, version 1;
--  * one task.created history event per task, with the data the api records, so history agrees with the data.
-- Rows go in project by project, in number order, as if each project had been filled in turn (a project's tasks sit
-- together on disk; tasks created later by the workloads land at the end).
-- Ids are md5('<KEY>-<number>') as a UUID, so bench/pgbench/*.sql can address a task without a lookup.
-- Columns not named here keep their defaults, so a migration that adds a column with a default needs no change here.
--   psql -v actor=<token name> -f bench/seed.sql
\set ON_ERROR_STOP on

BEGIN;

INSERT INTO tasks (id, project_id, number, title, description, status, priority, assignee, labels, position,
                   created_at, created_by, updated_at, updated_by)
SELECT md5(p.key || '-' || n)::uuid, p.id, n,
       (ARRAY['Add', 'Fix', 'Refactor', 'Document', 'Test'])[n % 5 + 1] || ' '
           || (ARRAY['login page', 'export job', 'search index', 'billing report', 'API client', 'settings dialog'])[n % 6 + 1]
           || ' (' || p.key || '-' || n || ')',
       'Part of **' || p.title || '**. Done when it is tested, documented and reviewed.',
       (ARRAY['todo', 'doing', 'review', 'done'])[(n - 1) % 4 + 1],
       (ARRAY['low', 'medium', 'medium', 'high', 'critical'])[n % 5 + 1],
       CASE WHEN n % 3 = 0 THEN (ARRAY['alice', 'bob', 'claude-code', 'copilot'])[n % 4 + 1] END,
       CASE WHEN n % 2 = 0 THEN ARRAY[(ARRAY['backend', 'frontend', 'docs', 'infra', 'bug'])[n % 5 + 1]] ELSE '{}' END,
       ((n - 1) / 4 + 1) * 1024,
       now() - (1001 - n) * interval '1 minute', :'actor',
       now() - (1001 - n) * interval '1 minute', :'actor'
FROM projects p CROSS JOIN generate_series(1, 1000) AS n
ORDER BY p.key, n;

UPDATE projects SET next_task_number = 1001;

-- In task order, as the api would have appended them.
INSERT INTO task_events (occurred_at, actor, kind, project_id, task_id, data)
SELECT t.created_at, :'actor', 'task.created', t.project_id, t.id,
       jsonb_build_object('ref', p.key || '-' || t.number, 'title', t.title, 'status', t.status, 'priority', t.priority,
                          'assignee', t.assignee, 'labels', to_jsonb(t.labels), 'parentId', NULL)
FROM tasks t JOIN projects p ON p.id = t.project_id
ORDER BY p.key, t.number;

COMMIT;

VACUUM ANALYZE;

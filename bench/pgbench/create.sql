-- Ceiling of "create a task": what a create must do, as one statement: take the project's next number (which locks
-- the project row, as the api does), insert the task at the end of its column, record its history event.
\set p random(0, 99)
WITH number AS (
    UPDATE projects SET next_task_number = next_task_number + 1
    WHERE key = 'P' || chr(65 + :p::int / 26) || chr(65 + :p::int % 26) AND archived_at IS NULL
    RETURNING id, key, next_task_number - 1 AS n),
task AS (
    INSERT INTO tasks (id, project_id, number, title, description, status, priority, labels, position, created_by, updated_by)
    SELECT gen_random_uuid(), number.id, number.n, 'Created by pgbench', '', 'todo', 'medium', '{}',
           COALESCE((SELECT max(position) FROM tasks WHERE project_id = number.id AND status = 'todo'), 0) + 1024,
           'pgbench', 'pgbench'
    FROM number
    RETURNING id, project_id, number)
INSERT INTO task_events (actor, kind, project_id, task_id, data)
SELECT 'pgbench', 'task.created', task.project_id, task.id,
       jsonb_build_object('ref', number.key || '-' || task.number, 'title', 'Created by pgbench', 'status', 'todo')
FROM task JOIN number ON true;

-- Ceiling of "patch a task's status": move the task to the next status (always a change) at the end of that column and
-- record its history event, as one statement.
\set p random(0, 99)
\set n random(1, 1000)
WITH target AS (
    SELECT id, project_id, status AS old,
           (ARRAY['todo', 'doing', 'review', 'done'])[array_position(ARRAY['todo', 'doing', 'review', 'done'], status) % 4 + 1] AS new
    FROM tasks
    WHERE id = md5('P' || chr(65 + :p::int / 26) || chr(65 + :p::int % 26) || '-' || :n::int)::uuid),
changed AS (
    UPDATE tasks t SET status = target.new,
        position = COALESCE((SELECT max(c.position) FROM tasks c WHERE c.project_id = target.project_id AND c.status = target.new), 0) + 1024,
        updated_at = now(), updated_by = 'pgbench', version = t.version + 1
    FROM target WHERE t.id = target.id
    RETURNING t.id, t.project_id, target.old, target.new)
INSERT INTO task_events (actor, kind, project_id, task_id, data)
SELECT 'pgbench', 'task.updated', project_id, id,
       jsonb_build_object('changes', jsonb_build_object('status', jsonb_build_object('old', old, 'new', new)))
FROM changed;

-- Ceiling of "list 50 todo tasks of a project": the page in board order, with the project key, in one statement.
-- Projects are P<letter><letter> (bench/run.sh), tasks md5('<KEY>-<number>')::uuid (bench/seed.sql).
\set p random(0, 99)
SELECT t.id, p.key, t.number, t.parent_id, t.title, t.description, t.status, t.priority, t.assignee, t.labels,
       t.due_date, t.position::text, t.archived_at, t.archived_by, t.created_at, t.created_by, t.updated_at,
       t.updated_by, t.version
FROM tasks t JOIN projects p ON p.id = t.project_id
WHERE p.key = 'P' || chr(65 + :p::int / 26) || chr(65 + :p::int % 26)
  AND t.status = 'todo' AND t.archived_at IS NULL AND p.archived_at IS NULL
ORDER BY t.position, t.id
LIMIT 50;

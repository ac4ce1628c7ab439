-- Ceiling of "get a task by id": the task with its project key, in one statement.
\set p random(0, 99)
\set n random(1, 1000)
SELECT t.id, p.key, t.number, t.parent_id, t.title, t.description, t.status, t.priority, t.assignee, t.labels,
       t.due_date, t.position::text, t.archived_at, t.archived_by, t.created_at, t.created_by, t.updated_at,
       t.updated_by, t.version
FROM tasks t JOIN projects p ON p.id = t.project_id
WHERE t.id = md5('P' || chr(65 + :p::int / 26) || chr(65 + :p::int % 26) || '-' || :n::int)::uuid;

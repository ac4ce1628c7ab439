-- A page of one status column is read in board order straight off the index and stops after the page (no sort of
-- the whole column): the index carries the id that breaks ties between equal positions.
CREATE INDEX tasks_column_order_idx ON tasks (project_id, status, position, id);
DROP INDEX tasks_column_idx;

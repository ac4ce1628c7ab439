-- Writes no longer wait for each other at commit, so event ids (taken at insert) need not commit in id order. Each event
-- records the transaction that wrote it; readers order the log by (xact, id) and release an event only once every
-- transaction with a smaller id has finished (below the snapshot's xmin), so a reader resuming after an event can never
-- miss one that commits later. Earlier events all committed in id order under the old global lock: xact 0 keeps them
-- first, in that order.
ALTER TABLE task_events ADD COLUMN xact bigint NOT NULL DEFAULT 0;
ALTER TABLE task_events ALTER COLUMN xact SET DEFAULT pg_current_xact_id()::text::bigint;

DROP INDEX task_events_task_idx;
DROP INDEX task_events_project_idx;
CREATE INDEX task_events_order_idx ON task_events (xact, id);
CREATE INDEX task_events_task_idx ON task_events (task_id, xact, id) WHERE task_id IS NOT NULL;
CREATE INDEX task_events_project_idx ON task_events (project_id, xact, id);

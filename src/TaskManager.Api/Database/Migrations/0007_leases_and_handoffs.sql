-- Leases on claimed work and handoff notes.
--
-- A claim gives the claimer a lease: its id (which the holder's writes may carry, so that a revived agent cannot
-- overwrite its successor), the holder, how long each renewal lasts and when it runs out. A lease without an expiry
-- (a person's, by default) is held until released. lease_expired_* keep who lost the task to expiry, until the next
-- claim, so the board and `leaseExpired` can show work that an agent abandoned.
ALTER TABLE tasks
    ADD COLUMN lease_id           uuid,
    ADD COLUMN lease_holder       text,
    ADD COLUMN lease_seconds      integer CHECK (lease_seconds > 0),
    ADD COLUMN lease_expires_at   timestamptz,
    ADD COLUMN lease_heartbeat_at timestamptz,
    ADD COLUMN lease_expired_holder text,
    ADD COLUMN lease_expired_at   timestamptz;
CREATE INDEX tasks_lease_expiry_idx ON tasks (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
CREATE INDEX tasks_lease_holder_idx ON tasks (lease_holder) WHERE lease_holder IS NOT NULL;

-- How long an agent's lease lasts in each project (renewed by every write or heartbeat of the holder); 0: agents'
-- leases do not expire either.
ALTER TABLE projects ADD COLUMN agent_lease_seconds integer NOT NULL DEFAULT 900
    CHECK (agent_lease_seconds BETWEEN 0 AND 604800);

-- Every write path keeps the lease rules, whichever statement it runs (update, move, archive, plans to come):
-- a task that leaves doing, is archived or is given to someone else (a new assignee outside a claim) has no lease;
-- a write by the holder (a new version with the holder as updated_by) renews a lease that has not run out. A claim
-- sets a new lease id, which is never renewed or ended here.
CREATE FUNCTION tasks_lease_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'doing' OR NEW.archived_at IS NOT NULL
       OR (NEW.lease_id IS NOT DISTINCT FROM OLD.lease_id AND NEW.assignee IS DISTINCT FROM OLD.assignee) THEN
        NEW.lease_id := NULL;
        NEW.lease_holder := NULL;
        NEW.lease_seconds := NULL;
        NEW.lease_expires_at := NULL;
        NEW.lease_heartbeat_at := NULL;
    ELSIF NEW.lease_id IS NOT DISTINCT FROM OLD.lease_id AND NEW.version > OLD.version
          AND NEW.updated_by = OLD.lease_holder AND OLD.lease_expires_at > now() THEN
        NEW.lease_expires_at := now() + make_interval(secs => OLD.lease_seconds);
        NEW.lease_heartbeat_at := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tasks_lease_rules BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION tasks_lease_rules();

-- Handoff notes: a holder releasing a task says what it did and what is left; the next claimer receives the latest.
CREATE TABLE task_handoffs (
    id         uuid PRIMARY KEY,
    task_id    uuid NOT NULL REFERENCES tasks (id),
    author     text NOT NULL,
    summary    text NOT NULL,
    remaining  text NOT NULL DEFAULT '',
    files      text[] NOT NULL DEFAULT '{}',
    branch     text,
    links      text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_handoffs_task_idx ON task_handoffs (task_id, id);

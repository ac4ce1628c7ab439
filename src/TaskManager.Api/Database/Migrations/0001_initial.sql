-- Projects, tasks, dependencies, comments, history (events), credentials and idempotency records.
-- Every row that people or agents change carries who/when and a version for optimistic concurrency.

CREATE TABLE projects (
    id               uuid PRIMARY KEY,
    key              text NOT NULL UNIQUE CHECK (key ~ '^[A-Z]{2,10}$'),
    title            text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description      text NOT NULL DEFAULT '',
    pinned           boolean NOT NULL DEFAULT false,
    next_task_number integer NOT NULL DEFAULT 1,
    archived_at      timestamptz,
    archived_by      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       text NOT NULL,
    version          integer NOT NULL DEFAULT 1,
    search           tsvector GENERATED ALWAYS AS (
                         to_tsvector('simple', key || ' ' || title || ' ' || description)) STORED
);
CREATE INDEX projects_search_idx ON projects USING gin (search);

CREATE TABLE tasks (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id),
    number      integer NOT NULL,
    parent_id   uuid REFERENCES tasks (id),
    title       text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '',
    status      text NOT NULL CHECK (status IN ('todo', 'doing', 'review', 'done')),
    priority    text NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    assignee    text,
    labels      text[] NOT NULL DEFAULT '{}',
    -- Manual order inside a status column. numeric so that a move takes the midpoint of its neighbours
    -- exactly ((a + b) * 0.5 never rounds), and never has to renumber the column.
    position    numeric NOT NULL,
    due_date    date,
    archived_at timestamptz,
    archived_by text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    search      tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('simple', title), 'A') ||
                    setweight(to_tsvector('simple', description), 'B')) STORED,
    UNIQUE (project_id, number)
);
CREATE INDEX tasks_column_idx ON tasks (project_id, status, position);
CREATE INDEX tasks_position_idx ON tasks (position, id);
CREATE INDEX tasks_parent_idx ON tasks (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX tasks_assignee_idx ON tasks (assignee) WHERE assignee IS NOT NULL;
CREATE INDEX tasks_labels_idx ON tasks USING gin (labels);
CREATE INDEX tasks_search_idx ON tasks USING gin (search);

CREATE TABLE task_dependencies (
    task_id    uuid NOT NULL REFERENCES tasks (id),
    blocker_id uuid NOT NULL REFERENCES tasks (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    PRIMARY KEY (task_id, blocker_id),
    CHECK (task_id <> blocker_id)
);
CREATE INDEX task_dependencies_blocker_idx ON task_dependencies (blocker_id);

CREATE TABLE task_comments (
    id         uuid PRIMARY KEY,
    task_id    uuid NOT NULL REFERENCES tasks (id),
    author     text NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_comments_task_idx ON task_comments (task_id, created_at, id);

-- History of every change; also the feed for live updates (NOTIFY in the same transaction).
CREATE TABLE task_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    kind        text NOT NULL,
    project_id  uuid NOT NULL REFERENCES projects (id),
    task_id     uuid REFERENCES tasks (id),
    data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX task_events_task_idx ON task_events (task_id, id) WHERE task_id IS NOT NULL;
CREATE INDEX task_events_project_idx ON task_events (project_id, id);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL
);

-- A create sent with an Idempotency-Key: first a pending claim on the key (status_code NULL), then the response
-- to replay for 24 hours. Keys are per actor, so two tokens cannot see each other's responses.
CREATE TABLE idempotency_keys (
    actor        text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status_code  integer,
    location     text,
    etag         text,
    body         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

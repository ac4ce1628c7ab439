-- Tokens say whether their holder is a person or an agent, so the board can mark agents.
ALTER TABLE api_tokens ADD COLUMN kind text NOT NULL DEFAULT 'agent' CHECK (kind IN ('person', 'agent'));

-- Short-lived, single-use tickets that let a browser's EventSource open /api/events without putting its token in
-- the URL. Only hashes are stored: a ticket grants what the token it was issued for grants, checked again on use.
CREATE TABLE stream_tickets (
    ticket_hash bytea PRIMARY KEY,
    token_hash  bytea NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX stream_tickets_expiry_idx ON stream_tickets (expires_at);

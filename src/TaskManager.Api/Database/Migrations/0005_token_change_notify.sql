-- Every replica caches validated tokens: any change to a token that matters for authentication (revocation, expiry,
-- scopes, deletion), made by the api or by hand in SQL, tells every replica to drop it (payload: the token hash in hex).
-- last_used_at alone is no such change.
CREATE FUNCTION api_tokens_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('api_tokens', encode(OLD.token_hash, 'hex'));
    RETURN NULL;
END $$;

CREATE TRIGGER api_tokens_changed AFTER UPDATE ON api_tokens FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.scopes IS DISTINCT FROM NEW.scopes OR OLD.kind IS DISTINCT FROM NEW.kind
          OR OLD.name IS DISTINCT FROM NEW.name OR OLD.token_hash IS DISTINCT FROM NEW.token_hash)
    EXECUTE FUNCTION api_tokens_changed();
CREATE TRIGGER api_tokens_deleted AFTER DELETE ON api_tokens FOR EACH ROW EXECUTE FUNCTION api_tokens_changed();

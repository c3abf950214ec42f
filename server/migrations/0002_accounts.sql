-- Accounts and tokens (issue 15).

-- A token carries its user's token_version; bumping it (role or password change, logout-all,
-- deletion) revokes every token issued before. Deleted users are kept (missions and commands
-- refer to them) with their e-mail released.
ALTER TABLE users ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN deleted_at TIMESTAMPTZ;

-- Wrong passwords per account (lower-case e-mail, known or not, so a lock does not reveal
-- which accounts exist), shared by every instance.
CREATE TABLE login_failures (
    email         VARCHAR(255) PRIMARY KEY,
    failures      INT NOT NULL,
    last_failure  TIMESTAMPTZ NOT NULL,
    locked_until  TIMESTAMPTZ
);

-- The audit chain is keyed from here on (HMAC-SHA256 with a secret kept outside the
-- database); rows written before keep their plain SHA-256 hash and are marked so.
ALTER TABLE audit_log ADD COLUMN alg TEXT NOT NULL DEFAULT 'sha256'
    CHECK (alg IN ('sha256', 'hmac-sha256'));
-- The head is signed with the same secret: a deleted tail cannot be hidden by rewriting it.
ALTER TABLE audit_head ADD COLUMN signature TEXT NOT NULL DEFAULT '';
-- Signed checkpoints (count + head hash) kept as history, also written to the server log.
CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY,
    hash       TEXT NOT NULL,
    time       TIMESTAMPTZ NOT NULL,
    signature  TEXT NOT NULL
);

-- compatible: yes
-- The first schema. Records and messages are kept as the JSON of
-- internal/state's types, so a field a later release adds to them needs
-- no change here; type and endpoint are columns for people reading the
-- table. File-level fields are one row each in tokenwatch_file.
CREATE TABLE tokenwatch_records (
    name     text PRIMARY KEY,
    type     text NOT NULL,
    endpoint text NOT NULL,
    record   jsonb NOT NULL
);

-- Each notifier's undelivered messages: id gives the order, a lease
-- (owner, until) says who is delivering one, claims counts how often a
-- delivery began (a message claimed more than once outlived a lease).
CREATE TABLE tokenwatch_outbox (
    id          bigserial PRIMARY KEY,
    notifier    text NOT NULL,
    check_name  text NOT NULL,
    message     jsonb NOT NULL,
    lease_owner text,
    lease_until timestamptz,
    claims      integer NOT NULL DEFAULT 0
);
CREATE INDEX tokenwatch_outbox_queue ON tokenwatch_outbox (notifier, check_name, id);
CREATE INDEX tokenwatch_outbox_check ON tokenwatch_outbox (check_name, id);

CREATE TABLE tokenwatch_file (
    key   text PRIMARY KEY,
    value jsonb NOT NULL
);

-- One row per check and schedule slot: the replica that inserts it runs
-- the check in that slot.
CREATE TABLE tokenwatch_slots (
    check_name text NOT NULL,
    slot       timestamptz NOT NULL,
    owner      text NOT NULL,
    PRIMARY KEY (check_name, slot)
);

#include "schema.h"

namespace baton::storage {

namespace {

// Numbered migrations, applied in order inside one transaction each. Never edit one that
// has shipped: add the next number.
//
// A workspace lives in one file (DESIGN §8), so a server-made id is the table's rowid
// (one b-tree, not a table plus a key index), and secondary indexes lead with their
// selective column instead of a workspace_id that every row shares (a quarter of the
// cost of writing a case). Rows still carry workspace_id, without a
// foreign key: the journal writes the one workspace it created at open, and a per-row
// parent check cost more than the rest of a case's insert.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE workspaces (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE TABLE agents (
  workspace_id   TEXT NOT NULL,
  id             TEXT NOT NULL,
  name           TEXT NOT NULL,
  role           TEXT NOT NULL,
  teams          TEXT NOT NULL,   -- JSON array
  skills         TEXT NOT NULL,   -- JSON object skill -> level
  languages      TEXT NOT NULL,   -- JSON array
  capacity       TEXT NOT NULL,   -- JSON object channel -> slots
  presence       TEXT NOT NULL,
  presence_since INTEGER NOT NULL,
  missed_offers  INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;
CREATE TABLE accounts (
  workspace_id TEXT NOT NULL,
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL,
  tier         TEXT NOT NULL,
  segment      TEXT NOT NULL,
  sales_owner  TEXT,
  created_at   INTEGER NOT NULL
);
CREATE TABLE customers (
  workspace_id TEXT NOT NULL,
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL,
  account_id   INTEGER,
  last_agent   TEXT,
  created_at   INTEGER NOT NULL
);
CREATE TABLE identities (
  workspace_id TEXT NOT NULL,
  channel      TEXT NOT NULL,
  address      TEXT NOT NULL,
  customer_id  INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, channel, address)
) WITHOUT ROWID;
CREATE INDEX identities_customer ON identities (customer_id);
CREATE TABLE cases (
  workspace_id       TEXT NOT NULL,
  id                 INTEGER PRIMARY KEY,
  channel            TEXT NOT NULL,
  type               TEXT NOT NULL,
  subject            TEXT NOT NULL,
  status             TEXT NOT NULL,
  priority           INTEGER NOT NULL,
  queue              TEXT NOT NULL,
  customer_id        INTEGER NOT NULL,
  account_id         INTEGER,
  assignee           TEXT,
  offer_id           INTEGER,
  required_skills    TEXT NOT NULL,
  tags               TEXT NOT NULL,
  suggested_handoffs TEXT NOT NULL,
  attributes         TEXT NOT NULL,
  external_ref       TEXT NOT NULL,
  from_handoff       INTEGER,
  first_response_due INTEGER,
  resolution_due     INTEGER,
  first_response_at  INTEGER,
  resolved_at        INTEGER,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  queued_at          INTEGER NOT NULL,
  arrival            INTEGER NOT NULL
);
CREATE INDEX cases_status ON cases (status, id);
CREATE INDEX cases_queue ON cases (queue, status, id);
CREATE INDEX cases_assignee ON cases (assignee, status, id);
CREATE INDEX cases_customer ON cases (customer_id, id);
CREATE TABLE offers (
  workspace_id TEXT NOT NULL,
  id           INTEGER PRIMARY KEY,
  case_id      INTEGER NOT NULL,
  agent_id     TEXT NOT NULL,
  status       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  decided_at   INTEGER,
  reason       TEXT NOT NULL
);
CREATE INDEX offers_agent ON offers (agent_id, status, id);
CREATE INDEX offers_case ON offers (case_id, id);
CREATE TABLE handoffs (
  workspace_id TEXT NOT NULL,
  id           INTEGER PRIMARY KEY,
  from_case    INTEGER NOT NULL,
  to_case      INTEGER NOT NULL,
  from_agent   TEXT,
  target       TEXT NOT NULL,   -- "to" as sent
  to_agent     TEXT,
  reason       TEXT NOT NULL,
  note         TEXT NOT NULL,
  status       TEXT NOT NULL,
  outcome      TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  accepted_at  INTEGER,
  completed_at INTEGER
);
CREATE INDEX handoffs_reason ON handoffs (reason, outcome, id);
CREATE INDEX handoffs_status ON handoffs (status, id);
CREATE INDEX handoffs_from_agent ON handoffs (from_agent, id);
CREATE INDEX handoffs_to_agent ON handoffs (to_agent, id);
CREATE INDEX handoffs_to_case ON handoffs (to_case);
CREATE TABLE case_events (
  workspace_id TEXT NOT NULL,
  id           INTEGER PRIMARY KEY,
  case_id      INTEGER NOT NULL,
  customer_id  INTEGER NOT NULL,   -- the case's customer, for the customer timeline
  type         TEXT NOT NULL,
  at           INTEGER NOT NULL,
  actor        TEXT NOT NULL,
  data         TEXT NOT NULL   -- JSON object
);
CREATE INDEX case_events_case ON case_events (case_id, id);
CREATE INDEX case_events_at ON case_events (at, id);
CREATE INDEX case_events_customer ON case_events (customer_id, at, id);
CREATE TABLE routing_rules (
  workspace_id TEXT NOT NULL,
  version      INTEGER NOT NULL,
  source       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, version)
);
CREATE TABLE tokens (
  hash         TEXT PRIMARY KEY,   -- hex SHA-256 of the token; the token is never stored
  workspace_id TEXT NOT NULL,
  role         TEXT NOT NULL,
  agent_id     TEXT,
  created_at   INTEGER NOT NULL,
  revoked_at   INTEGER
);
CREATE TABLE idempotency_keys (
  workspace_id TEXT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status       INTEGER NOT NULL,
  response     TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_created ON idempotency_keys (created_at);
CREATE TABLE webhook_outbox (
  workspace_id    TEXT NOT NULL,
  id              INTEGER PRIMARY KEY,
  subscription_id INTEGER NOT NULL,
  event_type      TEXT NOT NULL,
  payload         TEXT NOT NULL,
  status          TEXT NOT NULL,   -- pending, delivered, dead
  attempts        INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  created_at      INTEGER NOT NULL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at);
)sql"},
    // Who posted a case: a gateway token reads only the cases it posted.
    {2, R"sql(
ALTER TABLE cases ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
CREATE INDEX cases_created_by ON cases (created_by, id);
CREATE INDEX offers_status ON offers (status, id);
CREATE INDEX tokens_workspace ON tokens (workspace_id, created_at);
)sql"},
    // The customer timeline reads through the customer's cases (cases_customer, then
    // case_events_case) instead of an index of its own: that index took three inserts at
    // random places per case, most of the pages each commit wrote.
    {3, R"sql(
DROP INDEX case_events_customer;
)sql"},
    // SLA clocks that pause while pending, breaches recorded once, escalation progress:
    // each survives a restart.
    {4, R"sql(
ALTER TABLE cases ADD COLUMN sla_paused_at INTEGER;
ALTER TABLE cases ADD COLUMN sla_breached INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN escalation_step INTEGER NOT NULL DEFAULT 0;
)sql"},
    // Customer merges: the merged customer stays as a pointer to the one it joined.
    {5, R"sql(
ALTER TABLE customers ADD COLUMN merged_into INTEGER;
)sql"},
    // Reports: handoffs by the day they were made; sales' view of an account's open cases.
    {6, R"sql(
CREATE INDEX handoffs_created ON handoffs (created_at);
CREATE INDEX cases_account ON cases (account_id, status) WHERE account_id IS NOT NULL;
)sql"},
    // Webhooks: subscriptions, and the outbox naming the event it owes (the body is made
    // at the first attempt and kept), with what the last attempt got.
    {7, R"sql(
CREATE TABLE webhooks (
  workspace_id TEXT NOT NULL,
  id           INTEGER PRIMARY KEY,
  url          TEXT NOT NULL,
  events       TEXT NOT NULL,   -- JSON array of event names
  secret       TEXT NOT NULL,   -- the HMAC key: it signs, so it is kept as given
  active       INTEGER NOT NULL,
  created_at   INTEGER NOT NULL
);
ALTER TABLE webhook_outbox ADD COLUMN event_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_outbox ADD COLUMN case_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_outbox ADD COLUMN last_status INTEGER;
ALTER TABLE webhook_outbox ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_outbox ADD COLUMN delivered_at INTEGER;
CREATE INDEX webhook_outbox_subscription ON webhook_outbox (subscription_id, id);
)sql"},
    // Reports read a case's first and latest acceptance from its row, not by searching its
    // events; cases from before are filled in from their events once, here.
    {8, R"sql(
ALTER TABLE cases ADD COLUMN first_accepted_at INTEGER;
ALTER TABLE cases ADD COLUMN accepted_at INTEGER;
UPDATE cases SET
  first_accepted_at = (SELECT min(at) FROM case_events e WHERE e.case_id = cases.id AND e.type = 'accepted'),
  accepted_at = (SELECT max(at) FROM case_events e WHERE e.case_id = cases.id AND e.type = 'accepted');
)sql"},
    // A case enters the assignee index once it has an agent: every read of it names one
    // (assignee = ?, which the planner knows is never NULL), and a new case, which has none,
    // writes one index entry less (of the 11 a case creation writes).
    {9, R"sql(
DROP INDEX cases_assignee;
CREATE INDEX cases_assignee ON cases (assignee, status, id) WHERE assignee IS NOT NULL;
)sql"},
    // The customer timeline pages down an index of its own again (migration 3 dropped it
    // to save each commit an index insert): without it every page sorted all of a
    // customer's events, which a long-lived customer (or an attacker's many cases) makes
    // unbounded. One insert per event is the price of a page that costs its length.
    {10, R"sql(
CREATE INDEX case_events_customer ON case_events (customer_id, at, id);
)sql"},
    // Signing in with a password (a session is a token with an end), and the set-up audit.
    {11, R"sql(
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
CREATE TABLE agent_passwords (
  workspace_id TEXT NOT NULL,
  agent_id     TEXT NOT NULL,
  hash         TEXT NOT NULL,   -- Argon2id, libsodium's string form; never the password
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, agent_id)
) WITHOUT ROWID;
CREATE TABLE audit (
  workspace_id TEXT NOT NULL,
  id           INTEGER PRIMARY KEY,
  at           INTEGER NOT NULL,
  actor        TEXT NOT NULL,
  action       TEXT NOT NULL,
  target       TEXT NOT NULL,
  data         TEXT NOT NULL   -- JSON object
);
)sql"},
    // What a replay of history needs that the rows did not keep: each agent's routing
    // history (presence intervals, capacity, teams, skills), a case's priority and skills as
    // posted (before the rules added theirs) and when its first agent let it go (its handle
    // time). Agents start their history with the state they are in now; older cases keep
    // NULL skills as posted, which tells a replay that it estimates them.
    {12, R"sql(
CREATE TABLE agent_changes (
  workspace_id TEXT NOT NULL,
  id           INTEGER PRIMARY KEY,
  agent_id     TEXT NOT NULL,
  at           INTEGER NOT NULL,
  presence     TEXT NOT NULL,
  capacity     TEXT NOT NULL,   -- JSON object channel -> slots
  teams        TEXT NOT NULL,   -- JSON array
  skills       TEXT NOT NULL    -- JSON object skill -> level
);
CREATE INDEX agent_changes_at ON agent_changes (at, id);
INSERT INTO agent_changes (workspace_id, agent_id, at, presence, capacity, teams, skills)
  SELECT workspace_id, id, presence_since, presence, capacity, teams, skills FROM agents
  ORDER BY presence_since, id;
ALTER TABLE cases ADD COLUMN first_released_at INTEGER;
ALTER TABLE cases ADD COLUMN posted_priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN posted_skills TEXT;  -- JSON; NULL on cases from before
)sql"},
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

int latest_schema_version() { return kMigrations[std::size(kMigrations) - 1].version; }

Status require_latest_schema(Db& db) {
  auto version = schema_version(db);
  if (!version) {
    return version.error();
  }
  if (version.value() != latest_schema_version()) {
    return Error(ErrorCode::FailedPrecondition,
                 "database is at schema " + std::to_string(version.value()) + ", expected " +
                     std::to_string(latest_schema_version()) + "; run baton migrate");
  }
  return {};
}

Result<int> schema_version(Db& db) {
  auto v = db.query_int("PRAGMA user_version");
  if (!v) {
    return v.error();
  }
  return static_cast<int>(v.value());
}

Result<int> migrate(Db& db, int up_to) {
  auto cur = schema_version(db);
  if (!cur) {
    return cur.error();
  }
  int version = cur.value();
  if (version > latest_schema_version()) {
    return Error(ErrorCode::FailedPrecondition,
                 "the database is at schema version " + std::to_string(version) +
                     ", newer than this baton (" + std::to_string(latest_schema_version()) +
                     "); run a newer baton or restore a backup");
  }
  for (const auto& m : kMigrations) {
    if (m.version <= version || m.version > up_to) {
      continue;
    }
    auto tx = Transaction::begin(db.get());
    if (!tx) {
      return tx.error();
    }
    BATON_RETURN_IF_ERROR(db.exec(m.sql));
    BATON_RETURN_IF_ERROR(db.exec("PRAGMA user_version = " + std::to_string(m.version)));
    BATON_RETURN_IF_ERROR(tx->commit());
    version = m.version;
  }
  return version;
}

}  // namespace baton::storage

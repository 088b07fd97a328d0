-- consent-rules.md §8: the evidence ledger. Rows are appended, never updated or deleted; the database enforces it,
-- so no code path (ours or an operator's psql session) can rewrite the proof.
CREATE TABLE consent_ledger (
  id               bigserial PRIMARY KEY,
  -- deterministic per event: a retried activity inserts the same key again and is ignored
  entry_key        text NOT NULL UNIQUE,
  contact          text NOT NULL,
  event            text NOT NULL,
  occurred_at      timestamptz NOT NULL,
  recorded_at      timestamptz NOT NULL DEFAULT now(),
  business_number  text,
  source           text,
  -- what backs the event: the inbound text, the consent's evidence, the send decision and its reason
  evidence         jsonb NOT NULL DEFAULT '{}'::jsonb,
  workflow_id      text,
  run_id           text
);
CREATE INDEX consent_ledger_contact ON consent_ledger (contact, occurred_at, id);

CREATE FUNCTION consent_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'consent_ledger is append-only: % is not allowed (consent-rules.md §8)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER consent_ledger_no_update_or_delete BEFORE UPDATE OR DELETE ON consent_ledger
  FOR EACH ROW EXECUTE FUNCTION consent_ledger_append_only();
CREATE TRIGGER consent_ledger_no_truncate BEFORE TRUNCATE ON consent_ledger
  FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_append_only();

-- consent-rules.md §7: the current opt-out list, kept by the contact actors (through the ledger activity).
-- A row leaves only when the contact's own START is recorded; the ledger keeps every past opt-out.
CREATE TABLE opt_outs (
  phone            text PRIMARY KEY,
  opted_out_at     timestamptz NOT NULL,
  -- the business number the opt-out came in on; NULL for imports and operator records without one
  business_number  text,
  source           text NOT NULL,
  recorded_by      text,
  reference        text,
  note             text,
  ledger_key       text NOT NULL,
  workflow_id      text,
  run_id           text
);
CREATE INDEX opt_outs_at ON opt_outs (opted_out_at, phone);
CREATE INDEX opt_outs_source_at ON opt_outs (source, opted_out_at, phone);

-- Suppression-list imports: the uploaded file (so a crashed import restarts from it) and one row per CSV line.
CREATE TABLE suppression_imports (
  id             text PRIMARY KEY,
  file_name      text,
  content        text NOT NULL,
  phone_column   text,
  recorded_by    text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE suppression_import_rows (
  import_id  text NOT NULL REFERENCES suppression_imports (id),
  line       integer NOT NULL,
  value      text NOT NULL,
  -- the number in E.164 for valid rows
  phone      text,
  -- pending (valid, not applied yet), opted_out, already_opted_out, duplicate (of an earlier line), invalid
  outcome    text NOT NULL CHECK (outcome IN ('pending', 'opted_out', 'already_opted_out', 'duplicate', 'invalid')),
  reason     text,
  PRIMARY KEY (import_id, line)
);
CREATE INDEX suppression_import_rows_outcome ON suppression_import_rows (import_id, outcome, line);

-- Campaigns: one message to many recipients. The campaign as submitted, and one row per recipient line with its one
-- outcome, so the workflow reads recipients in batches and never carries them in its history.
CREATE TABLE campaigns (
  id                  text PRIMARY KEY,
  -- recipients are spread over these round-robin; each row keeps the one it is sent from
  from_numbers        text[] NOT NULL,
  message_type        text NOT NULL,
  -- the template, with {{variables}}; each row keeps its own text
  body                text NOT NULL,
  program             text,
  append_disclosures  boolean NOT NULL,
  -- per business number; NULL: as fast as the send gate goes
  rate_per_second     double precision,
  start_at            timestamptz,
  file_name           text,
  -- scheduled, running, paused, completed, cancelled: written by the campaign workflow at each change
  status              text NOT NULL,
  -- set by a pause or a cancellation, cleared when sending runs again: batches check it before each send, at once,
  -- where Temporal's activity cancellation reaches them only with a heartbeat's answer (seconds later)
  halt_requested      boolean NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL DEFAULT now(),
  completed_at        timestamptz
);

CREATE TABLE campaign_recipients (
  campaign_id          text NOT NULL REFERENCES campaigns (id),
  -- the JSON list's 1-based position, or the CSV file's line: the recipient's idempotency key is campaign:<id>:<line>
  line                 integer NOT NULL,
  -- the number as given, and in E.164 for valid rows
  value                text NOT NULL,
  phone                text,
  from_number          text,
  -- the text with the recipient's variables filled in
  body                 text,
  status               text NOT NULL CHECK (status IN ('pending', 'sent', 'refused', 'failed', 'unknown', 'cancelled', 'invalid')),
  code                 text,
  reason               text,
  outbound_message_id  text,
  provider_message_id  text,
  decided_at           timestamptz,
  PRIMARY KEY (campaign_id, line)
);
CREATE INDEX campaign_recipients_status ON campaign_recipients (campaign_id, status, line);

-- Every message the engine sends, whatever the provider: one row per idempotency key (the outbox).
CREATE TABLE outbound_messages (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  idempotency_key     text NOT NULL UNIQUE,
  contact             text NOT NULL,
  business_number     text NOT NULL,
  kind                text NOT NULL,
  body                text NOT NULL,
  provider            text NOT NULL,
  provider_message_id text,
  -- pending: recorded, not yet handed over; sending: a provider call is under way; sent: the provider accepted it;
  -- failed: the provider refused it for good
  status              text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
  provider_status     text,
  error_code          text,
  error_message       text,
  attempts            integer NOT NULL DEFAULT 0,
  inbound_message_id  text,
  workflow_id         text,
  run_id              text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbound_messages_contact_created ON outbound_messages (contact, created_at DESC);

-- What the sandbox provider "delivered": nowhere, but recorded, one row per idempotency key as a real provider would.
CREATE TABLE sandbox_messages (
  idempotency_key     text PRIMARY KEY,
  provider_message_id text NOT NULL UNIQUE,
  to_number           text NOT NULL,
  from_number         text NOT NULL,
  body                text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now()
);

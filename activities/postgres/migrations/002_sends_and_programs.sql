-- Business-initiated sends share the outbox with replies; a refused send is recorded too, with its code.
ALTER TABLE outbound_messages DROP CONSTRAINT outbound_messages_status_check;
ALTER TABLE outbound_messages ADD CONSTRAINT outbound_messages_status_check
  CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'refused'));
ALTER TABLE outbound_messages ADD COLUMN message_type text;
ALTER TABLE outbound_messages ADD COLUMN program text;
ALTER TABLE outbound_messages ADD COLUMN refusal_code text;

-- Declared messaging programs (consent-rules.md §6): who sends, what, and how often at most.
CREATE TABLE programs (
  id             text PRIMARY KEY,
  business_name  text NOT NULL,
  description    text NOT NULL,
  frequency      text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

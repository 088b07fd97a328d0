-- Delivery-status callbacks find their row by the provider's message id; without an index each one scans the outbox.
CREATE INDEX outbound_messages_provider_message_id ON outbound_messages (provider_message_id) WHERE provider_message_id IS NOT NULL;

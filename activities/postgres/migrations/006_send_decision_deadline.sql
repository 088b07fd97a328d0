-- The send gate's fence: a message may be handed to the provider only before its caller's decision deadline, and a
-- caller that gave up first refuses the row, so a late attempt finds it refused and never sends (README, Sending).
ALTER TABLE outbound_messages ADD COLUMN decide_by timestamptz;
-- when the latest attempt began handing the message over: a resend first asks the provider about messages since then
ALTER TABLE outbound_messages ADD COLUMN sending_since timestamptz;

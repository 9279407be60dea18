-- Intake that survives abuse (issue 13): requests no recorder owns (unknown token, or refused before the
-- token lookup) are limited per source address, and past the limit they are counted into one aggregate row
-- per (minute, source address, outcome, reply) instead of a row each. An ordinary row stands for 1 request.
alter table webhooks
  add column requests integer not null default 1,    -- requests this row stands for (aggregate rows: all of them)
  add column aggregate_minute timestamptz,            -- set on aggregate rows only: the minute they count
  add column last_received_at timestamptz,            -- aggregate rows: the last request (received_at = the first)
  add column total_bytes bigint,                      -- aggregate rows: body bytes of all their requests
  add column token_prefixes text[];                   -- aggregate rows: distinct token prefixes seen (a few)
create unique index webhooks_aggregates on webhooks (aggregate_minute, (coalesce(source_ip, '')), outcome, http_status)
  where aggregate_minute is not null;

-- Retention of the raw log (WEBHOOK_LOG_DAYS, WEBHOOK_LOG_MAX_MB): a signal outlives its raw request. When
-- the raw row of an accepted signal ages out, the signal stays (its normalized payload is in signals) and
-- its reference to the raw row becomes null. The index keeps each deleted row's reference check cheap.
create index signals_by_webhook on signals (webhook_id);
alter table signals alter column webhook_id drop not null;
alter table signals drop constraint signals_webhook_id_fkey;
alter table signals add constraint signals_webhook_id_fkey
  foreign key (webhook_id) references webhooks (id) on delete set null;

-- Issue 16: an execution accepted on one relay for an account another relay holds is run by the holder,
-- which claims it after NOTIFY relay_work. Until now every claimed execution was run as a resumed one:
-- the broker asked first for every order id the signal could have sent (the order of a new execution
-- leaves before its rows are written, so a crashed run leaves no trace in the database), the position
-- read from the database. A claimed execution that no relay was ever given to run cannot have sent an
-- order; it is run like a new one.
--
-- executions.handed: a relay has been given this execution to run (committed before any of its orders
-- can leave). True for every existing row and every insert that does not say otherwise (the cautious
-- side: a resumed run asks the broker first); false only for an execution created for another relay,
-- until that relay's claim (claimUnfinished) sets it, in the same statement that leases it.
alter table executions add column handed boolean not null default true;

-- accept_signal: unchanged but for `handed` (false for the executions another relay will claim).
create or replace function accept_signal(
  p_signal_id uuid,
  p_recorder_id uuid,
  p_received_at timestamptz,
  p_webhook jsonb,           -- {source_ip, content_type, headers, body, body_bytes, token_prefix}
  p_alert_id text,
  p_fingerprint text,
  p_dedup_window_ms integer,
  p_signal jsonb,            -- {action, ticker, quantity, price, time, payload, age_ms}
  p_instance text,
  p_lease_ms integer,
  p_resend_of uuid default null,
  p_slow_after_ms integer default null,
  p_resend_guard_ms integer default 30000,
  p_trader_ids uuid[] default null,
  p_source text default 'webhook'
) returns jsonb
language plpgsql as $$
declare
  v_duplicate uuid;
  v_fresh boolean;
  v_webhook bigint;
  v_inserted uuid;
  v_executions jsonb;
  v_remote text;
  v_relay_until timestamptz;
begin
  if p_alert_id is not null then
    select id into v_duplicate from signals where recorder_id = p_recorder_id and alert_id = p_alert_id;
  end if;

  if v_duplicate is null then
    insert into signal_fingerprints as f (recorder_id, fingerprint, last_at, signal_id)
    values (p_recorder_id, p_fingerprint, p_received_at, p_signal_id)
    on conflict (recorder_id, fingerprint) do update
       set last_at = excluded.last_at, signal_id = excluded.signal_id, resend_until = null
     where f.last_at <= excluded.last_at - make_interval(secs => p_dedup_window_ms / 1000.0)
       and (f.resend_until is null or f.resend_until < excluded.last_at)
       and (p_resend_of is null or f.signal_id <> p_resend_of)
    returning true into v_fresh;
    if v_fresh is null then
      select signal_id into v_duplicate from signal_fingerprints
       where recorder_id = p_recorder_id and fingerprint = p_fingerprint;
    end if;
  end if;

  insert into webhooks (received_at, recorder_id, token_prefix, source_ip, content_type, headers, body, body_bytes,
                        outcome, http_status, signal_id, age_ms)
  values (p_received_at, p_recorder_id, p_webhook ->> 'token_prefix', p_webhook ->> 'source_ip',
          p_webhook ->> 'content_type', coalesce(p_webhook -> 'headers', '{}'), p_webhook ->> 'body',
          (p_webhook ->> 'body_bytes')::integer,
          case when v_duplicate is null then 'accepted' else 'duplicate' end,
          case when v_duplicate is null then 202 else 200 end,
          coalesce(v_duplicate, p_signal_id), (p_signal ->> 'age_ms')::bigint)
  returning id into v_webhook;

  if v_duplicate is null then
    insert into signals (id, recorder_id, webhook_id, received_at, alert_id, fingerprint, action, ticker, quantity,
                         price, signal_time, age_ms, payload, source)
    values (p_signal_id, p_recorder_id, v_webhook, p_received_at, p_alert_id, p_fingerprint, p_signal ->> 'action',
            p_signal ->> 'ticker', (p_signal ->> 'quantity')::numeric, (p_signal ->> 'price')::numeric,
            (p_signal ->> 'time')::timestamptz, (p_signal ->> 'age_ms')::bigint, p_signal -> 'payload',
            p_source)
    on conflict (recorder_id, alert_id) where alert_id is not null do nothing
    returning id into v_inserted;
    if v_inserted is null then
      -- The same alert id arrived concurrently with different content: the first one wins.
      select id into v_duplicate from signals where recorder_id = p_recorder_id and alert_id = p_alert_id;
      update webhooks set outcome = 'duplicate', http_status = 200, signal_id = v_duplicate where id = v_webhook;
      update signal_fingerprints set signal_id = v_duplicate
       where recorder_id = p_recorder_id and fingerprint = p_fingerprint and signal_id = p_signal_id;
    end if;
  end if;

  if v_duplicate is not null then
    return jsonb_build_object('outcome', 'duplicate', 'signalId', v_duplicate, 'webhookId', v_webhook);
  end if;

  select lease_until into v_relay_until from relays where id = p_instance and lease_until > clock_timestamp();
  if v_relay_until is not null then
    -- Accounts of these traders that no live relay owns become this relay's (it runs their executions).
    insert into account_owners as o (account_id, relay, lease_until, since)
    select distinct t.account_id, p_instance, v_relay_until, clock_timestamp()
      from traders t
      join accounts a on a.id = t.account_id and a.deleted_at is null
      left join account_owners x on x.account_id = t.account_id
     where t.recorder_id = p_recorder_id and t.enabled and t.deleted_at is null
       and (p_trader_ids is null or t.id = any (p_trader_ids))
       and (x.account_id is null or x.relay is null or x.lease_until < clock_timestamp())
    on conflict (account_id) do update set relay = excluded.relay, lease_until = excluded.lease_until,
                                           since = excluded.since
     where o.relay is null or o.lease_until < clock_timestamp();
  end if;

  with created as (
    insert into executions (signal_id, trader_id, account_id, claimed_by, lease_until, handed)
    select p_signal_id, t.id, t.account_id, coalesce(o.relay, p_instance),
           case when o.relay is null or o.relay = p_instance
                then clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0) end,
           o.relay is null or o.relay = p_instance
      from traders t
      join accounts a on a.id = t.account_id and a.deleted_at is null
      left join account_owners o on o.account_id = t.account_id and o.lease_until > clock_timestamp()
     where t.recorder_id = p_recorder_id and t.enabled and t.deleted_at is null
       and (p_trader_ids is null or t.id = any (p_trader_ids))
     order by t.created_at, t.id
    returning id, trader_id, account_id, claimed_by
  )
  select coalesce(jsonb_agg(jsonb_build_object('id', id, 'traderId', trader_id, 'accountId', account_id,
                                               'local', claimed_by = p_instance)), '[]')
    into v_executions from created;

  -- Executions another relay owns: wake it (delivered at commit).
  for v_remote in
    select distinct x.claimed_by from executions x where x.signal_id = p_signal_id and x.claimed_by <> p_instance
  loop
    perform pg_notify('relay_work', v_remote);
  end loop;

  -- Committing this late, the relay has answered (or is about to answer) 503: TradingView's re-sends of
  -- this alert, on any relay, are its duplicates.
  if p_slow_after_ms is not null
     and clock_timestamp() > p_received_at + make_interval(secs => p_slow_after_ms / 1000.0) then
    update signal_fingerprints set resend_until = p_received_at + make_interval(secs => p_resend_guard_ms / 1000.0)
     where recorder_id = p_recorder_id and fingerprint = p_fingerprint and signal_id = p_signal_id;
  end if;

  return jsonb_build_object('outcome', 'accepted', 'signalId', p_signal_id, 'webhookId', v_webhook,
                            'executions', v_executions);
end;
$$;

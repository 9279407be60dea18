-- Issue 16, group commit at intake: webhooks arriving together are committed by one statement in one
-- transaction, so they share one WAL flush and one round trip. accept_signals runs accept_signal for each
-- item, in the array's order (two identical alerts in one batch: the first is the signal, the second meets
-- its fingerprint row inside the same transaction and is its duplicate), and returns their results in
-- that order. It calls accept_signal and never copies it: whatever accept_signal decides, a batch decides
-- the same. One item that raises fails the whole statement; the relay then commits the items one by one
-- (src/intake/group-commit.ts), so each still gets its own answer.
create function accept_signals(p_items jsonb) returns jsonb
language plpgsql as $$
declare
  v_item jsonb;
  v_results jsonb[] := '{}';
begin
  for v_item in select value from jsonb_array_elements(p_items) with ordinality as x(value, n) order by n loop
    v_results := v_results || accept_signal(
      (v_item ->> 'signal_id')::uuid,
      (v_item ->> 'recorder_id')::uuid,
      (v_item ->> 'received_at')::timestamptz,
      v_item -> 'webhook',
      v_item ->> 'alert_id',
      v_item ->> 'fingerprint',
      (v_item ->> 'dedup_window_ms')::integer,
      v_item -> 'signal',
      v_item ->> 'instance',
      (v_item ->> 'lease_ms')::integer,
      (v_item ->> 'resend_of')::uuid,
      (v_item ->> 'slow_after_ms')::integer,
      coalesce((v_item ->> 'resend_guard_ms')::integer, 30000),
      case when jsonb_typeof(v_item -> 'trader_ids') = 'array'
           then array(select t::uuid from jsonb_array_elements_text(v_item -> 'trader_ids') as t) end,
      coalesce(v_item ->> 'source', 'webhook')
    );
  end loop;
  return to_jsonb(v_results);
end;
$$;

-- Reconciliation: differences found between a broker and the relay's book, kept open while they last.
create table drift (
  id bigint generated always as identity primary key,
  account_id uuid not null references accounts (id),
  broker_account_id text not null,
  contract text not null,
  kind text not null,          -- unknown_position | position_mismatch | missing_exit | orphan_exit | order_settled
  detail text not null,
  fixed boolean not null default false,
  detected_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  resolved_at timestamptz,
  notified_at timestamptz
);
-- One open drift per (account, sub-account, contract, kind): seen again, it is updated, not repeated.
create unique index drift_open on drift (account_id, broker_account_id, contract, kind) where resolved_at is null;
create index drift_recent on drift (detected_at desc);

/**
 * Prometheus metrics (GET /metrics). One registry per relay (tests build several). The stage histogram
 * measures, for every signal and trader, the time from the webhook's arrival to each step:
 * committed -> dispatched -> sent -> acknowledged -> filled.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type Stage = "committed" | "dispatched" | "sent" | "acknowledged" | "filled";

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly registry = new Registry();
  private readonly stages: Histogram<"stage">;
  readonly webhooks: Counter<"outcome">;
  readonly executions: Counter<"status" | "decision">;
  readonly orders: Counter<"broker" | "outcome">;
  readonly sessions: Gauge<"broker" | "state">;
  readonly queue: Gauge<"state">;
  /** Connections closed at accept: over the per-address cap or the total cap (src/http/server.ts). */
  readonly httpConnectionsRefused: Counter<"reason">;
  readonly httpConnections: Gauge;
  /** Alerts per intake commit (group commit, src/intake/group-commit.ts). */
  readonly commitBatch: Histogram;

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: "relay_process_" });
    this.stages = new Histogram({
      name: "relay_signal_stage_seconds",
      help: "Time from the webhook's arrival to each stage of a trader's execution",
      labelNames: ["stage"],
      buckets: BUCKETS,
      registers: [this.registry],
    });
    this.webhooks = new Counter({
      name: "relay_webhooks_total",
      help: "Webhook requests by outcome",
      labelNames: ["outcome"],
      registers: [this.registry],
    });
    this.executions = new Counter({
      name: "relay_executions_total",
      help: "Finished executions by status and decision",
      labelNames: ["status", "decision"],
      registers: [this.registry],
    });
    this.orders = new Counter({
      name: "relay_orders_total",
      help: "Orders sent by broker and outcome (accepted, rejected, unknown)",
      labelNames: ["broker", "outcome"],
      registers: [this.registry],
    });
    this.sessions = new Gauge({
      name: "relay_broker_sessions",
      help: "Broker sessions by broker and state",
      labelNames: ["broker", "state"],
      registers: [this.registry],
    });
    this.queue = new Gauge({
      name: "relay_dispatch_queue",
      help: "Executions waiting and running in the dispatch queue",
      labelNames: ["state"],
      registers: [this.registry],
    });
    this.httpConnectionsRefused = new Counter({
      name: "relay_http_connections_refused_total",
      help: "HTTP connections closed as soon as accepted, by reason (per_ip, total)",
      labelNames: ["reason"],
      registers: [this.registry],
    });
    this.commitBatch = new Histogram({
      name: "relay_intake_commit_batch_size",
      help: "Alerts committed together by one intake transaction",
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [this.registry],
    });
    this.httpConnections = new Gauge({
      name: "relay_http_connections_open",
      help: "HTTP connections open now",
      registers: [this.registry],
    });
  }

  /** Seconds since the webhook arrived, recorded for a stage. */
  stage(stage: Stage, receivedAt: Date, at: number = Date.now()): void {
    this.stages.observe({ stage }, Math.max(0, at - receivedAt.getTime()) / 1000);
  }
}

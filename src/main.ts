/**
 * `npm start`: the relay. Without DATABASE_URL it runs its own PostgreSQL under DATA_DIR. Prints the admin
 * token (first start) and ready-to-paste webhook URLs. SIGTERM/SIGINT: stop intake, drain, close sockets,
 * end the pool, stop the embedded database.
 */
import { ensureAdminToken, ensureDemo, keepLocalToken } from "./bootstrap";
import { ConfigError, decodeKey, loadConfig } from "./config";
import { connect } from "./db/client";
import { EmbeddedDatabase } from "./db/embedded";
import { migrate } from "./db/migrate";
import { listRecorders } from "./db/recorders";
import { sharedPeer } from "./http/connection-gate";
import { httpLimits, startRelayServer } from "./http/server";
import { AddressSet } from "./intake/client-ip";
import { createLogger } from "./log";
import { buildRelay } from "./runtime";
import { loadOrCreateKeyFile } from "./secrets/key-file";
import { CredentialSealer } from "./secrets/sealer";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.LOG_LEVEL });
  const embedded = config.embeddedDatabase
    ? new EmbeddedDatabase({ dataDir: config.DATA_DIR, logger })
    : undefined;
  const url = embedded ? await embedded.start() : (config.DATABASE_URL as string);
  if (embedded)
    logger.info(
      { event: "EmbeddedDatabaseStarted", port: embedded.port, dataDir: config.DATA_DIR },
      "embedded PostgreSQL ready",
    );
  const sql = connect(url, logger, { max: 30 });
  await migrate(sql, logger);

  const key = config.CREDENTIALS_KEY
    ? (decodeKey(config.CREDENTIALS_KEY) as Buffer)
    : (await loadOrCreateKeyFile(config.DATA_DIR)).key;
  const newToken = await ensureAdminToken(sql, config.RELAY_ADMIN_TOKEN);
  if (newToken && embedded) await keepLocalToken(config.DATA_DIR, newToken);
  const demo = embedded && config.DEMO_SETUP ? await ensureDemo(sql, new CredentialSealer(key)) : undefined;

  const relay = buildRelay({ config, sql, logger, credentialsKey: key });
  await relay.start();
  const server = await startRelayServer({
    fetch: relay.app.fetch,
    port: config.PORT,
    hostname: config.HOST,
    limits: httpLimits(config),
    logger,
    metrics: relay.services.metrics,
    // The per-address connection cap is for direct clients, not for proxies that carry many of them.
    exempt: sharedPeer(AddressSet.fromList(config.TRUSTED_PROXIES)),
  });
  logger.info({ event: "RelayListening", port: server.port }, "relay listening");
  void banner(config.publicUrl, newToken, !!demo, embedded !== undefined).catch(() => undefined);

  async function banner(
    publicUrl: string,
    token: string | undefined,
    demoCreated: boolean,
    local: boolean,
  ): Promise<void> {
    const lines = [
      "",
      "=== Copy-trading relay is running ===",
      `Console: ${publicUrl}/  (sign in with the admin token)`,
      `Health:  ${publicUrl}/health`,
    ];
    if (token) {
      lines.push(
        `Admin token (shown once${local ? `, also saved in ${config.DATA_DIR}/admin-token` : ""}):`,
        `  ${token}`,
      );
    }
    if (local) {
      const recorders = await listRecorders(sql);
      for (const r of recorders)
        lines.push(
          `Webhook URL for "${r.name}" (paste into the TradingView alert):`,
          `  ${publicUrl}/webhook/${r.webhookToken}`,
        );
      if (demoCreated) {
        lines.push(
          "A paper demo was created (paper account, recorder 'Demo MNQ', trader). Try it:",
          `  npm run demo          (sends a buy alert and shows the fill)`,
        );
      }
    }
    lines.push("");
    process.stdout.write(`${lines.join("\n")}\n`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: "ShutdownStarted", signal }, "stopping: no new webhooks, draining");
    void server.close();
    await relay.stop(15_000);
    await sql.end({ timeout: 5 });
    await embedded?.stop();
    logger.info({ event: "ShutdownFinished" }, "stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error) => {
  process.stderr.write(
    `The relay could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});

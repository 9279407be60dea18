/**
 * Every broker this relay can trade, one factory per broker kind, built from configuration.
 * The only module that imports broker folders; everything else speaks the port.
 */
import type { Config } from "../config";
import type { Logger } from "../log";
import { PaperExchange } from "./paper/exchange";
import { PaperFactory } from "./paper/index";
import type { BrokerFactory } from "./port";
import { createProjectXFactory } from "./projectx/index";
import { createTradovateFactory } from "./tradovate/index";
import { WebullFactory } from "./webull/index";

export interface RegistryDeps {
  config: Config;
  logger: Logger;
  paper: PaperExchange;
  now?: () => Date;
}

export function brokerFactories(d: RegistryDeps): BrokerFactory[] {
  const { config, logger } = d;
  return [
    new PaperFactory(d.paper, d.now),
    createTradovateFactory({
      demoUrl: config.TRADOVATE_DEMO_URL,
      liveUrl: config.TRADOVATE_LIVE_URL,
      mdUrl: config.TRADOVATE_MD_URL,
      logger: logger.child({ broker: "tradovate" }),
    }),
    createProjectXFactory({
      logger: logger.child({ broker: "projectx" }),
      apiUrl: config.PROJECTX_API_URL,
      rtcUrl: config.PROJECTX_RTC_URL,
      fillWaitMs: config.FILL_WAIT_MS,
      // Realized P&L per day on the same boundary as the loss monitor's.
      tradingDay: { roll: config.TRADING_DAY_ROLL, timeZone: config.TRADING_DAY_TIME_ZONE },
    }),
    new WebullFactory({
      logger: logger.child({ broker: "webull" }),
      baseUrl: config.WEBULL_API_URL,
      ...(config.WEBULL_DEMO_API_URL ? { demoBaseUrl: config.WEBULL_DEMO_API_URL } : {}),
    }),
  ];
}

export { PaperExchange };

/**
 * Every broker this relay can trade, one factory per broker kind, built from configuration.
 * The only module that imports broker folders; everything else speaks the port.
 */
import type { Config } from "../config";
import type { Logger } from "../log";
import { PaperExchange } from "./paper/exchange";
import { PaperFactory } from "./paper/index";
import type { BrokerFactory } from "./port";

export interface RegistryDeps {
  config: Config;
  logger: Logger;
  paper: PaperExchange;
  now?: () => Date;
}

export function brokerFactories(d: RegistryDeps): BrokerFactory[] {
  return [new PaperFactory(d.paper, d.now)];
}

export { PaperExchange };

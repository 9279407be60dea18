/** The conformance list against the Webull adapter and its simulator (signed REST, polling). */
import { webullDriver } from "../support/conformance-webull";
import { conformance } from "./scenarios";

conformance("webull", webullDriver);

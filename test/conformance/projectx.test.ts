/** The conformance list against the ProjectX adapter and its simulator (REST and SignalR hubs). */
import { projectxDriver } from "../support/conformance-projectx";
import { conformance } from "./scenarios";

conformance("projectx", projectxDriver);

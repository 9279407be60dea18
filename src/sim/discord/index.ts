export { DiscordSim, type DiscordSimOptions, type RecordedMessage, type RecordedRequest } from "./sim";
export { embedChars, LIMITS as DISCORD_LIMITS, messageProblems } from "./wire";

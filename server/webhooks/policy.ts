import type { Config } from "../config.ts";
import type { TargetPolicy } from "./target.ts";

/** Where webhooks may go, from the settings: https in production; private only when allowed. */
export const webhookPolicy = (
  config: Pick<Config, "NODE_ENV" | "WEBHOOKS_ALLOW_PRIVATE">,
): TargetPolicy => ({
  httpsOnly: config.NODE_ENV === "production",
  allowPrivate: config.WEBHOOKS_ALLOW_PRIVATE === "on",
});

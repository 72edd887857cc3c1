import type { Config } from "../config.ts";
import { AppError } from "../errors/api-errors.ts";
import { webhookPolicy } from "./policy.ts";
import { checkTargetUrl, ForbiddenTargetError } from "./target.ts";

/**
 * The URL as it will be stored, when the settings allow a webhook to go there (https in
 * production; never loopback, private, link-local and the like unless WEBHOOKS_ALLOW_PRIVATE=on);
 * else a 400 VALIDATION_ERROR on `url` that says why. Checked again at every delivery.
 */
export async function requireAllowedUrl(
  config: Pick<Config, "NODE_ENV" | "WEBHOOKS_ALLOW_PRIVATE">,
  url: string,
): Promise<string> {
  try {
    return (await checkTargetUrl(url, webhookPolicy(config))).toString();
  } catch (error) {
    if (!(error instanceof ForbiddenTargetError)) throw error;
    throw new AppError("VALIDATION_ERROR", `This URL is not allowed: ${error.message}`, {
      issues: [{ path: "url", message: error.message }],
    });
  }
}

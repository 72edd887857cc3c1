import type { FastifyServerOptions } from "fastify";
import type { Config } from "./config.ts";

/** Secrets never reach the logs, whatever logs a request. */
export const LOG_REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  "*.password",
  "*.newPassword",
  "*.currentPassword",
  "*.refreshToken",
  "*.accessToken",
  "*.token",
];

export type LogFormat = "pretty" | "json";

/** The explicit setting wins; `auto` is readable lines for a person at a terminal, else JSON. */
export function chooseLogFormat(setting: Config["LOG_FORMAT"], stdoutIsTty: boolean): LogFormat {
  if (setting !== "auto") return setting;
  return stdoutIsTty ? "pretty" : "json";
}

/**
 * The service's logger: pino's JSON lines on stdout, or pino-pretty's readable lines (written to
 * `destination`, stdout unless a test gives another). pino redacts before it serializes, so the
 * readable lines are redacted too. pino-pretty is imported only when used: a service logging
 * JSON never loads it.
 */
export async function loggerOptions(
  config: Pick<Config, "LOG_LEVEL" | "LOG_FORMAT">,
  stdoutIsTty: boolean,
  destination?: NodeJS.WritableStream,
): Promise<Exclude<FastifyServerOptions["logger"], boolean | undefined>> {
  const base = { level: config.LOG_LEVEL, redact: LOG_REDACT };
  if (chooseLogFormat(config.LOG_FORMAT, stdoutIsTty) === "json") return base;
  const { default: pretty } = await import("pino-pretty");
  const stream = pretty({
    translateTime: "SYS:HH:MM:ss",
    ignore: "pid,hostname",
    singleLine: true,
    // Synchronous like pino's own stdout: the last lines before process.exit are not lost.
    sync: true,
    ...(destination ? { destination } : {}),
  });
  return { ...base, stream };
}

import { pino, type BaseLogger, type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

/** The logging calls named log events use; both pino loggers and Fastify request loggers fit. */
export type EventLogger = Pick<BaseLogger, "fatal" | "error" | "warn" | "info" | "debug" | "trace">;

/** Log levels accepted by `--log-level` and `CODEC_LOG_LEVEL`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Creates the process logger: one JSON line per event on stdout.
 * Fields that may carry secrets are redacted before they are written.
 */
export function createLogger(
  name: string,
  level: LogLevel = "info",
  destination?: DestinationStream,
): Logger {
  const options = {
    name,
    level,
    redact: {
      paths: [
        "token",
        "*.token",
        "authorization",
        "*.authorization",
        "headers.authorization",
        "*.headers.authorization",
        "apiKey",
        "*.apiKey",
      ],
      censor: "[redacted]",
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

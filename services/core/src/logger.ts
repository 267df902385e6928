import { createLogger as createWinston, format, transports, type Logger as WinstonLogger } from "winston";
import type { Writable } from "node:stream";

/** A logger that writes one JSON object per line with the operations spec's §6.1 fields. */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  /** A logger for a part of the service (`logger` field), with extra fields on every line. */
  child(name: string, fields?: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  readonly service: string;
  readonly environment: string;
  readonly level?: string;
  /** Where lines go. @default stdout */
  readonly stream?: Writable;
}

/**
 * §6.1's shape, exactly: `timestamp`, `level`, `message`, `service`, `environment`, `logger`,
 * `exception` (the stack of an `error` field, when one is logged) and the extra fields.
 */
const section61 = format((info) => {
  const { error, ...rest } = info as Record<string, unknown>;
  // A child's name; winston would let the default metadata overwrite it, so it is set here.
  rest["logger"] ??= "main";
  if (error instanceof Error) {
    rest["exception"] = error.stack ?? `${error.name}: ${error.message}`;
    if ("code" in error) rest["error_code"] = (error as { code: unknown }).code;
  }
  return rest as typeof info;
});

function wrap(logger: WinstonLogger): Logger {
  return {
    error: (message, fields) => logger.error(message, fields),
    warn: (message, fields) => logger.warn(message, fields),
    info: (message, fields) => logger.info(message, fields),
    debug: (message, fields) => logger.debug(message, fields),
    child: (name, fields) => wrap(logger.child({ logger: name, ...fields })),
  };
}

export function createLogger(options: LoggerOptions): Logger {
  const logger = createWinston({
    level: options.level ?? "info",
    defaultMeta: { service: options.service, environment: options.environment },
    format: format.combine(format.timestamp({ format: () => new Date().toISOString() }), section61(), format.json()),
    // winston's transports and its TransportStream type come from two copies of winston-transport.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
    transports: [options.stream ? new transports.Stream({ stream: options.stream }) : new transports.Console()],
  });
  return wrap(logger);
}

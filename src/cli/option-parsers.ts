import { InvalidArgumentError } from "commander";

/** Parses a TCP port; 0 requests any free port. */
export function parsePort(value: string): number {
  return parseInteger(value, 0, 65_535, "a port number from 0 to 65535 (0 picks a free port)");
}

/** Parses a positive integer. */
export function parsePositiveInteger(value: string): number {
  return parseInteger(value, 1, Number.MAX_SAFE_INTEGER, "a positive integer");
}

/** Parses a non-negative integer. */
export function parseNonNegativeInteger(value: string): number {
  return parseInteger(value, 0, Number.MAX_SAFE_INTEGER, "a non-negative integer");
}

/** Parses a finite number. */
export function parseNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number))
    throw new InvalidArgumentError(`'${value}' is not a number.`);
  return number;
}

/** Parses a positive number of seconds into milliseconds. */
export function parseSecondsToMs(value: string): number {
  const seconds = parseNumber(value);
  if (seconds <= 0)
    throw new InvalidArgumentError(`'${value}' is not a positive number of seconds.`);
  return Math.round(seconds * 1000);
}

/** Returns a parser that accepts one of `choices`. */
export function oneOf<const Choice extends string>(
  choices: readonly Choice[],
): (value: string) => Choice {
  return (value) => {
    if ((choices as readonly string[]).includes(value)) return value as Choice;
    throw new InvalidArgumentError(`'${value}' is not one of: ${choices.join(", ")}.`);
  };
}

function parseInteger(value: string, min: number, max: number, expected: string): number {
  const number = Number(value);
  if (
    !/^-?\d+$/.test(value.trim()) ||
    !Number.isSafeInteger(number) ||
    number < min ||
    number > max
  ) {
    throw new InvalidArgumentError(`'${value}' is not ${expected}.`);
  }
  return number;
}

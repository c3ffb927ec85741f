import { ERRORS, HttpError } from "../../http/errors.js";

/** Maximum model name length in UTF-8 bytes; it leaves room for staging prefixes in a 255-byte file name. */
export const MAX_MODEL_NAME_BYTES = 128;

const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * Returns `name` when it is a valid registry name, or throws a 400 naming the rule it breaks.
 * Every endpoint that takes or derives a model name calls this.
 *
 * A valid name is one path component of at most 128 bytes of well-formed UTF-8. It is not
 * empty, not `.` or `..`, and has no leading dot, because hidden names are reserved for
 * staging directories. It contains no `/`, `\`, `%` or control characters. Without `%`, a
 * name percent-encoded once in a URL path or query decodes back to itself, so no client
 * needs to encode it twice.
 */
export function validateModelName(name: unknown, param = "name"): string {
  if (typeof name !== "string") {
    throw new HttpError(
      ERRORS.registryInvalidName,
      `model name must be a string, got ${typeof name}`,
      { param, value: name },
    );
  }
  const problem = modelNameProblem(name);
  if (problem !== undefined) {
    throw new HttpError(
      ERRORS.registryInvalidName,
      `invalid model name ${JSON.stringify(name)}: ${problem}`,
      {
        param,
        value: name,
      },
    );
  }
  return name;
}

/** True when `name` passes `validateModelName`. */
export function isValidModelName(name: string): boolean {
  return modelNameProblem(name) === undefined;
}

/**
 * Returns the rule `name` breaks, e.g. "it must not be empty", or `undefined` for a valid
 * name. The CLI calls it to reject a name before it packs or sends anything.
 */
export function modelNameProblem(name: string): string | undefined {
  if (name === "") return "it must not be empty";
  if (name === "." || name === "..") return "'.' and '..' are not model names";
  if (name.includes("/") || name.includes("\\"))
    return "it must be a single path component without '/' or '\\'";
  if (name.startsWith(".")) return "it must not start with a dot";
  if (name.includes("%")) return "it must not contain '%'";
  if (CONTROL_CHARACTER.test(name)) return "it must not contain control characters";
  // A lone UTF-16 surrogate does not survive a UTF-8 round trip, so the directory would get another name.
  if (Buffer.from(name, "utf8").toString("utf8") !== name) return "it must be well-formed Unicode";
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > MAX_MODEL_NAME_BYTES)
    return `it is ${bytes} bytes of UTF-8, more than the ${MAX_MODEL_NAME_BYTES} allowed`;
  return undefined;
}

import type { z } from "zod";

import { ERRORS, HttpError } from "./errors.js";

/**
 * Validates a request body against a schema and turns the first problem into a 400
 * that names the parameter (`messages.0.content`) and states what was expected.
 */
export function parseBody<Schema extends z.ZodType>(
  schema: Schema,
  body: unknown,
): z.output<Schema> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(ERRORS.requestInvalidBody, "request body must be a JSON object");
  }

  const result = schema.safeParse(body);
  if (result.success) return result.data;

  const issue = result.error.issues[0];
  const param =
    issue === undefined || issue.path.length === 0 ? null : issue.path.map(String).join(".");
  const detail = issue?.message ?? "invalid request body";
  const message = param === null ? detail : `invalid value for '${param}': ${detail}`;
  throw new HttpError(ERRORS.requestInvalidParam, message, param === null ? {} : { param });
}

#!/usr/bin/env node
import { Command } from "commander";

import { VERSION } from "../http/version.js";
import { completeCommand } from "./complete-command.js";
import { engineCommand } from "./engine-command.js";
import { mapCommand } from "./map-command.js";
import { pullCommand } from "./pull-command.js";
import { serveCommand } from "./serve-command.js";
import { uploadCommand } from "./upload-command.js";

const program = new Command("codec-serve")
  .description(
    "LLM inference server speaking the OpenAI API and the Codec binary token wire format",
  )
  .version(VERSION)
  .showHelpAfterError()
  .addCommand(serveCommand(), { isDefault: true })
  .addCommand(engineCommand())
  .addCommand(completeCommand())
  .addCommand(mapCommand())
  .addCommand(pullCommand())
  .addCommand(uploadCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`codec-serve: ${describeError(error)}\n`);
  // Exit now: a server that failed after opening its port would otherwise keep running.
  process.exit(1);
}

/** Joins the error message with its causes, e.g. "fetch failed: connect ECONNREFUSED 127.0.0.1:1". */
function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current !== undefined && parts.length < 4;) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}

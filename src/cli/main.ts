#!/usr/bin/env node
import { Command } from "commander";

import { VERSION } from "../http/version.js";
import { completeCommand } from "./complete-command.js";
import { engineCommand } from "./engine-command.js";
import { serveCommand } from "./serve-command.js";

const program = new Command("codec-serve")
  .description("LLM inference server speaking the OpenAI API and the Codec binary token wire format")
  .version(VERSION)
  .showHelpAfterError()
  .addCommand(serveCommand(), { isDefault: true })
  .addCommand(engineCommand())
  .addCommand(completeCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`codec-serve: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}

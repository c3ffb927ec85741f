import { LlamaLogLevel } from "node-llama-cpp";

import type { EventLogger } from "../http/logger.js";

/** Named log events of the engine process. */

export function modelLoading(
  log: EventLogger,
  fields: { modelPath: string; threads: number; parallel: number },
): void {
  log.info({ event: "engine.model_loading", ...fields }, "loading model");
}

export function modelLoaded(
  log: EventLogger,
  fields: {
    modelPath: string;
    gpu: string;
    threads: number;
    contextSize: number;
    trainContextSize: number;
    sequences: number;
    mapId: string;
    mapHash: string;
    durationMs: number;
  },
): void {
  log.info({ event: "engine.model_loaded", ...fields }, "model loaded; engine is ready");
}

export function modelLoadFailed(
  log: EventLogger,
  fields: { modelPath: string },
  error: unknown,
): void {
  log.error(
    { event: "engine.model_load_failed", ...fields, err: error },
    "failed to load the model",
  );
}

/** Logs a generation that failed inside llama.cpp or the output pipeline. */
export function generationFailed(
  log: EventLogger,
  fields: { format: string },
  error: unknown,
): void {
  log.error({ event: "engine.generation_failed", ...fields, err: error }, "generation failed");
}

/** Logs the end of a generation. A finish reason of `abort` means the client went away. */
export function generationFinished(
  log: EventLogger,
  fields: {
    finishReason: string;
    promptTokens: number;
    completionTokens: number;
    durationMs: number;
  },
): void {
  log.info({ event: "engine.generation_finished", ...fields }, "generation finished");
}

/** Warns that more decoding threads were requested than the machine has logical CPUs. */
export function threadsExceedCpus(
  log: EventLogger,
  fields: { threads: number; cpus: number },
): void {
  log.warn(
    { event: "engine.threads_exceed_cpus", ...fields },
    `${fields.threads} decoding threads on ${fields.cpus} logical CPUs: llama.cpp's spinning threads will make decoding much slower`,
  );
}

export function engineStopping(log: EventLogger, fields: { signal: string }): void {
  log.info({ event: "engine.stopping", ...fields }, "stopping the engine");
}

/**
 * llama.cpp warnings that are expected for many published models and change nothing:
 * it retypes FIM and end-of-text tokens that look like control tokens, at every load.
 */
const ROUTINE_WARNINGS = [/^load: control-looking token: /];

/** Forwards one llama.cpp log line at the matching level. */
export function llamaCppLogged(log: EventLogger, level: LlamaLogLevel, message: string): void {
  const text = message.trimEnd();
  if (text === "") return;

  const event = { event: "engine.llama_cpp_log" };
  const routine = ROUTINE_WARNINGS.some((pattern) => pattern.test(text));
  switch (routine ? LlamaLogLevel.debug : level) {
    case LlamaLogLevel.fatal:
    case LlamaLogLevel.error:
      log.error(event, text);
      break;
    case LlamaLogLevel.warn:
      log.warn(event, text);
      break;
    default:
      log.debug(event, text);
  }
}

/**
 * Logs the Codec settings in force once the model is loaded: the version policy, the compression
 * flush window and the zstd dictionaries (`dictionaryFormats` is empty when none matches the model).
 */
export function codecSettings(
  log: EventLogger,
  fields: {
    versionPolicy: string;
    minimumVersion: string;
    requiredFeatures: string[];
    compressionFlushMs: number;
    dictionaryFormats: string[];
    dictionaryHashes: string[];
    dictionarySources: string[];
  },
): void {
  const enforced =
    fields.versionPolicy === "strict" && fields.requiredFeatures.length > 0
      ? `; Codec requests from clients below ${fields.minimumVersion} get 426`
      : "";
  log.info(
    { event: "engine.codec_settings", ...fields },
    `Codec settings: version policy ${fields.versionPolicy}${enforced}`,
  );
}

/** Logs a request refused with 426 because the client's Codec version is below the policy. */
export function codecVersionRefused(
  log: EventLogger,
  fields: { clientVersion: string; minimumVersion: string; requiredFeatures: string[] },
): void {
  log.info(
    { event: "engine.codec_version_refused", ...fields },
    "request refused: Codec client version too old",
  );
}

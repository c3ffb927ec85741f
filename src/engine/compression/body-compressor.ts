import {
  constants,
  createBrotliCompress,
  createGzip,
  type BrotliCompress,
  type Gzip,
} from "node:zlib";

import type { ContentCoding } from "./negotiate.js";
import type { ZstdDictionary } from "./zstd-dictionary.js";
import { ZstdStreamEncoder } from "./zstd-stream-encoder.js";

/** gzip level 6 and brotli quality 4 with a 4 MiB window: the settings of the sglang Codec engine. */
const GZIP_LEVEL = 6;
const BROTLI_QUALITY = 4;
const BROTLI_WINDOW_BITS = 22;

/**
 * Compresses one response body. Every `push` flushes, so the bytes it returns decode to
 * everything pushed so far and compression never delays a Codec frame.
 */
export interface BodyCompressor {
  readonly coding: Exclude<ContentCoding, "identity">;
  push(chunk: Uint8Array): Promise<Uint8Array>;
  /** Ends the compressed stream and returns its last bytes. */
  finish(): Promise<Uint8Array>;
  /** Frees the compressor when the response is abandoned. */
  destroy(): void;
}

/** Creates the compressor for `coding`; zstd needs the dictionary of the response's wire mode. */
export function createBodyCompressor(
  coding: Exclude<ContentCoding, "identity">,
  dictionary: ZstdDictionary | undefined,
): BodyCompressor {
  switch (coding) {
    case "gzip":
      return new ZlibCompressor("gzip", createGzip({ level: GZIP_LEVEL }), constants.Z_SYNC_FLUSH);
    case "br":
      return new ZlibCompressor(
        "br",
        createBrotliCompress({
          params: {
            [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
            [constants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS,
          },
        }),
        constants.BROTLI_OPERATION_FLUSH,
      );
    case "zstd":
      if (dictionary === undefined) throw new Error("zstd compression needs a dictionary");
      return new ZstdCompressor(dictionary);
  }
}

/** gzip or brotli through Node's zlib, flushed after every chunk. */
class ZlibCompressor implements BodyCompressor {
  readonly coding: "gzip" | "br";
  readonly #stream: Gzip | BrotliCompress;
  readonly #flushKind: number;
  #output: Buffer[] = [];

  constructor(coding: "gzip" | "br", stream: Gzip | BrotliCompress, flushKind: number) {
    this.coding = coding;
    this.#stream = stream;
    this.#flushKind = flushKind;
    stream.on("data", (chunk: Buffer) => this.#output.push(chunk));
  }

  push(chunk: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.#stream.once("error", reject);
      this.#stream.write(chunk);
      this.#stream.flush(this.#flushKind, () => {
        this.#stream.off("error", reject);
        resolve(this.#take());
      });
    });
  }

  finish(): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.#stream.once("error", reject);
      this.#stream.once("end", () => resolve(this.#take()));
      this.#stream.end();
    });
  }

  destroy(): void {
    this.#stream.destroy();
  }

  #take(): Uint8Array {
    const output = Buffer.concat(this.#output);
    this.#output = [];
    return output;
  }
}

class ZstdCompressor implements BodyCompressor {
  readonly coding = "zstd";
  readonly #encoder: ZstdStreamEncoder;

  constructor(dictionary: ZstdDictionary) {
    this.#encoder = new ZstdStreamEncoder(dictionary);
  }

  async push(chunk: Uint8Array): Promise<Uint8Array> {
    return this.#encoder.push(chunk);
  }

  async finish(): Promise<Uint8Array> {
    return this.#encoder.finish();
  }

  destroy(): void {}
}

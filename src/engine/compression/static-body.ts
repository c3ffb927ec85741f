/**
 * A fixed response body, such as the tokenizer map, served compressed when the client accepts
 * it. Each compressed form is made once, on the first request that needs it, and kept.
 */
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";

import { chooseContentCoding } from "./negotiate.js";

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/**
 * gzip level 9 and brotli quality 9. On the 4.7 MB Qwen map they take about 0.6 s and 0.7 s
 * once, on a 2-core AMD EPYC VM, and give 1.80 MB and 1.60 MB; brotli quality 11 saves another
 * 0.2 MB but took 6.8 s.
 */
const GZIP_LEVEL = 9;
const BROTLI_QUALITY = 9;

/** The codings a static body is served with. */
export type StaticCoding = "br" | "gzip" | "identity";

/** The identity bytes of a fixed body and its compressed forms, made on demand. */
export class StaticBody {
  readonly identity: Uint8Array;
  readonly #compressed = new Map<"br" | "gzip", Promise<Uint8Array>>();

  constructor(identity: Uint8Array) {
    this.identity = identity;
  }

  /** Returns the coding that `Accept-Encoding` prefers: br, then gzip, then identity. */
  static codingFor(acceptEncoding: string | undefined): StaticCoding {
    const coding = chooseContentCoding(acceptEncoding, false);
    return coding === "zstd" ? "identity" : coding;
  }

  /**
   * Returns the body in `coding`, compressing it on the first call for that coding. When
   * compressing fails, the promise rejects and the next call tries again.
   */
  bytes(coding: StaticCoding): Promise<Uint8Array> {
    if (coding === "identity") return Promise.resolve(this.identity);
    let pending = this.#compressed.get(coding);
    if (pending === undefined) {
      pending = coding === "gzip" ? this.#gzip() : this.#brotli();
      pending.catch(() => this.#compressed.delete(coding));
      this.#compressed.set(coding, pending);
    }
    return pending;
  }

  async #gzip(): Promise<Uint8Array> {
    return new Uint8Array(await gzipAsync(this.identity, { level: GZIP_LEVEL }));
  }

  async #brotli(): Promise<Uint8Array> {
    const compressed = await brotliAsync(this.identity, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: this.identity.length,
      },
    });
    return new Uint8Array(compressed);
  }
}

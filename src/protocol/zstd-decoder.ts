/**
 * Streaming zstd decompression with a dictionary, for browsers and Node alike, published as
 * `codec-serve/client/zstd` and passed to `decodeResponse` as its `zstd` option. It uses the
 * Emscripten build of the reference zstd library in zstd-codec 0.1.5 (the wasm is inlined in
 * JavaScript), loaded on first use. The core client never imports this module, so bundles of
 * clients that do not offer zstd leave zstd-codec out.
 */
import { CodecContentEncodingError } from "./content-encoding-errors.js";

type ZstdCodecModule = typeof import("zstd-codec/lib/module.js");
type Binding = Parameters<Parameters<ZstdCodecModule["run"]>[0]>[0];

let bindingPromise: Promise<{ binding: Binding }> | undefined;

/**
 * Loads the Emscripten module once. The module has a `then` method, so a promise resolved with
 * it would wait on that method forever: it only ever travels wrapped in an object.
 */
function loadBinding(): Promise<{ binding: Binding }> {
  bindingPromise ??= import("zstd-codec/lib/module.js").then((module) => {
    const run = runFunction(module);
    return new Promise<{ binding: Binding }>((resolve) => run((binding) => resolve({ binding })));
  });
  return bindingPromise;
}

/**
 * Finds `run` on the imported CommonJS module. Node and most bundlers expose it as a named
 * export, but a bundle split into chunks (esbuild `--splitting`) may expose only `default`,
 * which is the whole `module.exports`.
 */
function runFunction(module: ZstdCodecModule): ZstdCodecModule["run"] {
  if (typeof module.run === "function") return module.run;
  const exports: unknown = (module as { default?: unknown }).default;
  const run = (exports as { run?: unknown } | undefined)?.run;
  if (typeof run === "function") return run as ZstdCodecModule["run"];
  throw new CodecContentEncodingError(
    "zstd",
    "The zstd-codec module has no run() function, as a named or a default export; check how the bundler includes zstd-codec.",
  );
}

/**
 * Decompresses a zstd body with `dictionary`, yielding output as soon as each compressed chunk
 * is decoded, so each flush of the server's compressor gives its frames as soon as they arrive.
 *
 * @throws {@link CodecContentEncodingError} when the bytes are not valid zstd for this dictionary
 */
export async function* decompressZstd(
  body: AsyncIterable<Uint8Array>,
  dictionary: Uint8Array,
): AsyncGenerator<Uint8Array, void, undefined> {
  const { binding } = await loadBinding();
  const digested = binding.createDecompressionDict(dictionary);
  const stream = new binding.ZstdDecompressStreamBinding();
  try {
    if (!stream.beginUsingDict(digested)) {
      throw new CodecContentEncodingError(
        "zstd",
        "Failed to start zstd decompression with the dictionary.",
      );
    }
    for await (const chunk of body) {
      const output: Uint8Array[] = [];
      // The binding reuses its output buffer, so each piece is copied.
      const collect = (piece: Uint8Array) => output.push(piece.slice());
      if (!stream.transform(chunk, collect) || !stream.flush(collect)) {
        throw new CodecContentEncodingError(
          "zstd",
          "The zstd body is corrupt or was compressed with another dictionary; the response cannot be decoded.",
        );
      }
      for (const piece of output) {
        if (piece.length > 0) yield piece;
      }
    }
  } finally {
    stream.delete();
    digested.delete();
  }
}

/**
 * Streaming zstd decompression with a dictionary, for browsers and Node alike. It uses the
 * Emscripten build of the reference zstd library in zstd-codec 0.1.5 (the wasm is inlined in
 * JavaScript), loaded on first use so clients that never see zstd do not load it.
 */
import { CodecContentEncodingError } from "./content-encoding-errors.js";

type Binding = Parameters<Parameters<typeof import("zstd-codec/lib/module.js").run>[0]>[0];

let bindingPromise: Promise<{ binding: Binding }> | undefined;

/**
 * Loads the Emscripten module once. The module has a `then` method, so a promise resolved with
 * it would wait on that method forever: it only ever travels wrapped in an object.
 */
function loadBinding(): Promise<{ binding: Binding }> {
  bindingPromise ??= import("zstd-codec/lib/module.js").then(
    (module) =>
      new Promise<{ binding: Binding }>((resolve) => module.run((binding) => resolve({ binding }))),
  );
  return bindingPromise;
}

/**
 * Decompresses a zstd body with `dictionary`, yielding output as soon as each compressed chunk
 * is decoded. A server that flushes after every Codec frame therefore gives one frame per chunk.
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

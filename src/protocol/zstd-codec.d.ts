/**
 * Types for the parts of zstd-codec 0.1.5 (an Emscripten build of the zstd library) that this
 * library uses: its low-level binding module, whose streaming decoder accepts a dictionary.
 */
declare module "zstd-codec/lib/module.js" {
  /** A native object allocated in the Emscripten heap; `delete` frees it. */
  interface EmbindObject {
    delete(): void;
  }

  /** A digested decompression dictionary. */
  type ZstdDecompressionDict = EmbindObject;

  /** A streaming decompressor. Each method returns false on a zstd error. */
  interface ZstdDecompressStreamBinding extends EmbindObject {
    beginUsingDict(dictionary: ZstdDecompressionDict): boolean;
    /** Buffers input and decodes it once enough has arrived; output goes to `callback`. */
    transform(chunk: Uint8Array, callback: (output: Uint8Array) => void): boolean;
    /** Decodes whatever input is buffered. */
    flush(callback: (output: Uint8Array) => void): boolean;
    end(callback: (output: Uint8Array) => void): boolean;
  }

  /** The initialised Emscripten module. */
  interface ZstdBinding {
    createDecompressionDict(dictionary: Uint8Array): ZstdDecompressionDict;
    ZstdDecompressStreamBinding: new () => ZstdDecompressStreamBinding;
  }

  /** Loads the wasm build (or the asm.js build where WebAssembly is missing) and calls `ready`. */
  export function run(ready: (binding: ZstdBinding) => void): void;
}

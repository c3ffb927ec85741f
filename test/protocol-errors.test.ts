import assert from "node:assert/strict";
import { describe, it } from "node:test";

import * as protocol from "../src/protocol/index.js";
import {
  CODEC_ERROR_CODES,
  CodecError,
  CodecMalformedFrameError,
  CodecMapHashMismatchError,
  CodecStreamMissingDoneError,
  CodecStreamTruncatedError,
  isCodecError,
} from "../src/protocol/index.js";

/** Every exported error class except the base, found by walking the public entry point. */
function exportedErrorClasses(): [string, { code: string } & (new (...args: never[]) => Error)][] {
  return Object.entries(protocol).filter(
    ([name, value]) =>
      typeof value === "function" && name !== "CodecError" && value.prototype instanceof CodecError,
  ) as [string, { code: string } & (new (...args: never[]) => Error)][];
}

describe("CODEC_ERROR_CODES", () => {
  it("has unique well-formed codes", () => {
    assert.equal(new Set(CODEC_ERROR_CODES).size, CODEC_ERROR_CODES.length);
    for (const code of CODEC_ERROR_CODES) {
      assert.match(code, /^CODEC_ERR_[A-Z]+_[A-Z_]+$/);
    }
  });

  it("matches the exported error classes one to one", () => {
    const classCodes = exportedErrorClasses().map(([, errorClass]) => errorClass.code);
    assert.deepEqual([...classCodes].sort(), [...CODEC_ERROR_CODES].sort());
  });

  it("covers the required failure kinds", () => {
    const required = [
      "CodecStreamTruncatedError",
      "CodecStreamMissingDoneError",
      "CodecMalformedFrameError",
      "CodecMapHashMismatchError",
      "CodecInvalidMapError",
      "CodecMapFetchError",
      "CodecUnsupportedHashAlgorithmError",
    ];
    const names = exportedErrorClasses().map(([name]) => name);
    for (const name of required) {
      assert.ok(names.includes(name), `${name} is exported`);
    }
  });
});

describe("CodecError identity", () => {
  it("sets name, code and the value fields", () => {
    const error = new CodecMapHashMismatchError("sha256:aa", "sha256:bb", "http://host/map.json");
    assert.equal(error.name, "CodecMapHashMismatchError");
    assert.equal(error.code, "CODEC_ERR_MAP_HASH_MISMATCH");
    assert.equal(error.expected, "sha256:aa");
    assert.equal(error.actual, "sha256:bb");
    assert.equal(error.url, "http://host/map.json");
    assert.match(error.message, /expected sha256:aa, got sha256:bb/);
  });

  it("instanceof matches own class and base", () => {
    const error = new CodecStreamTruncatedError({
      format: "protobuf",
      offset: 10,
      receivedBytes: 3,
    });
    assert.ok(error instanceof CodecStreamTruncatedError);
    assert.ok(error instanceof CodecError);
    assert.ok(error instanceof Error);
    assert.ok(!(error instanceof CodecStreamMissingDoneError));
    assert.ok(!(new Error("plain") instanceof CodecError));
    assert.ok(!((null as unknown as object) instanceof CodecError));
  });

  it("instanceof works across two module copies", async () => {
    // A query string makes Node load a second, independent instance of the module.
    const copy = (await import(
      new URL("../src/protocol/errors.js?second-copy", import.meta.url).href
    )) as typeof import("../src/protocol/errors.js");
    assert.notEqual(copy.CodecMalformedFrameError, CodecMalformedFrameError);

    const foreign = new copy.CodecMalformedFrameError({ format: "msgpack", reason: "test" });
    assert.ok(foreign instanceof CodecMalformedFrameError);
    assert.ok(foreign instanceof CodecError);
    assert.ok(!(foreign instanceof CodecStreamTruncatedError));
    assert.ok(isCodecError(foreign, "CODEC_ERR_FRAME_MALFORMED"));

    const local = new CodecStreamTruncatedError({ format: "msgpack", offset: 0, receivedBytes: 1 });
    assert.ok(local instanceof copy.CodecStreamTruncatedError);
    assert.ok(!(local instanceof copy.CodecMalformedFrameError));
  });

  it("isCodecError filters by code", () => {
    const error = new CodecStreamMissingDoneError("msgpack", 2, 40);
    assert.ok(isCodecError(error));
    assert.ok(isCodecError(error, "CODEC_ERR_STREAM_MISSING_DONE"));
    assert.ok(!isCodecError(error, "CODEC_ERR_STREAM_TRUNCATED"));
    assert.ok(!isCodecError(new Error("plain")));
    assert.ok(!isCodecError("CODEC_ERR_STREAM_MISSING_DONE"));
  });
});

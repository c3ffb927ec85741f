/**
 * Decoding of compressed Codec responses: `Content-Encoding` gzip, deflate, br and zstd, where
 * zstd always uses the pre-trained dictionary that `Codec-Zstd-Dict: sha256:<hex>` names.
 *
 * The zstd decoder itself is passed in (`decompressZstd` from `codec-serve/client/zstd`), so
 * this module and every bundle built from the core client never load the zstd-codec package.
 */
import { CodecContentEncodingError, CodecZstdDictError } from "./content-encoding-errors.js";
import { decodeStream, readChunks, type DecodeStreamOptions } from "./decode-stream.js";
import type { CodecFrame, DecodableStreamFormat } from "./frame.js";
import { throwIfHttpError } from "./http-errors.js";

/** Response header naming the zstd dictionary of a zstd-encoded Codec stream. */
export const CODEC_ZSTD_DICT_HEADER = "Codec-Zstd-Dict";

const ZSTD_DICT_VALUE = /^sha256:([0-9a-fA-F]{64})$/;

/** Undoes one content encoding of a body, chunk by chunk. */
export type ContentDecoder = (body: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>;

/**
 * Decompresses a zstd body with a dictionary, chunk by chunk: `decompressZstd` from
 * `codec-serve/client/zstd`, or any decoder of the same shape.
 */
export type ZstdDecoder = (
  body: AsyncIterable<Uint8Array>,
  dictionary: Uint8Array,
) => AsyncIterable<Uint8Array>;

/** Options of {@link decodeResponse}. */
export interface DecodeResponseOptions extends DecodeStreamOptions {
  /**
   * Whether the body still carries its `Content-Encoding`. `fetch` in browsers and in Node
   * decodes gzip, deflate and br itself but passes zstd with a dictionary through, so by default
   * only zstd is decoded here. Pass true for a `Response` built from raw bytes, e.g. from
   * `node:http` or undici's `request`.
   */
  encodedBody?: boolean;
  /** Dictionaries the client already has, keyed by `sha256:<64 lowercase hex>`. */
  zstdDictionaries?: ReadonlyMap<string, Uint8Array>;
  /**
   * Fetches a dictionary missing from `zstdDictionaries`, for example
   * `(hash) => discoverZstdDict({origin, hash})`, which checks the bytes against the hash.
   */
  fetchZstdDictionary?: (hash: string) => Promise<Uint8Array>;
  /**
   * Decoders for encodings that this runtime's `DecompressionStream` lacks, keyed by encoding
   * name. Node 20 has no brotli `DecompressionStream`, so raw br bodies there need `br` here.
   */
  contentDecoders?: Readonly<Record<string, ContentDecoder>>;
  /**
   * The zstd decoder, needed only when the request offered zstd in `Accept-Encoding`. Pass
   * `decompressZstd` from `codec-serve/client/zstd`. Without it a zstd response raises
   * {@link CodecContentEncodingError} before any dictionary is fetched.
   */
  zstd?: ZstdDecoder;
}

/**
 * Checks the zstd headers of a response and returns the dictionary hash it names, or
 * undefined for a response that is not zstd-encoded.
 *
 * @throws {@link CodecZstdDictError} when a zstd response has no `Codec-Zstd-Dict`, the header is
 *   not `sha256:<64 hex>`, or the header appears on a response that is not zstd
 */
export function readZstdDictHash(headers: Headers): string | undefined {
  const encoding = contentEncodingOf(headers);
  const header = headers.get(CODEC_ZSTD_DICT_HEADER);
  if (encoding !== "zstd") {
    if (header !== null) {
      throw new CodecZstdDictError(
        "unexpected",
        header,
        `The response carries ${CODEC_ZSTD_DICT_HEADER}: ${header} but its Content-Encoding is ` +
          `${encoding === "" ? "identity" : encoding}, not zstd. The server breaks the Codec protocol; report it.`,
      );
    }
    return undefined;
  }
  if (header === null) {
    throw new CodecZstdDictError(
      "missing",
      undefined,
      `The response is zstd-encoded but has no ${CODEC_ZSTD_DICT_HEADER} header, so its dictionary is unknown. ` +
        "Codec never decodes zstd with a guessed dictionary; request gzip or br from this server instead.",
    );
  }
  const match = ZSTD_DICT_VALUE.exec(header.trim());
  if (match === null) {
    throw new CodecZstdDictError(
      "malformed",
      header,
      `Invalid ${CODEC_ZSTD_DICT_HEADER} header ${JSON.stringify(header)}: expected "sha256:" followed by 64 hex digits.`,
    );
  }
  return `sha256:${match[1]!.toLowerCase()}`;
}

/**
 * Decodes the Codec frames of a `fetch` response, after checking its status and undoing its
 * `Content-Encoding`. For zstd, the dictionary named by `Codec-Zstd-Dict` is taken from
 * `zstdDictionaries` or fetched with `fetchZstdDictionary`, and `zstd` decodes the body.
 *
 * @example
 * ```ts
 * import { decompressZstd } from "codec-serve/client/zstd";
 * const response = await fetch(url, { method: "POST", body, headers: { "Accept-Encoding": "zstd, br, gzip" } });
 * const fetchZstdDictionary = (hash: string) => discoverZstdDict({ origin, hash });
 * for await (const frame of decodeResponse(response, "msgpack", { zstd: decompressZstd, fetchZstdDictionary })) { … }
 * ```
 * @throws {@link CodecVersionRequiredError} for a 426 response
 * @throws {@link CodecHttpError} for any other status that is not 2xx, with the server's message
 * @throws {@link CodecZstdDictError} for a missing, malformed, unknown or unexpected dictionary header
 * @throws {@link CodecContentEncodingError} for an encoding this runtime cannot decode, a zstd
 *   response without the `zstd` option, or corrupt bytes
 * @throws the errors of {@link decodeStream}
 */
export async function* decodeResponse(
  response: Response,
  format: DecodableStreamFormat,
  options: DecodeResponseOptions = {},
): AsyncGenerator<CodecFrame, void, undefined> {
  await throwIfHttpError(response);
  const encoding = contentEncodingOf(response.headers);
  const dictionaryHash = readZstdDictHash(response.headers);
  if (response.body === null) {
    throw new CodecContentEncodingError(
      encoding || "identity",
      "The response has no body to decode.",
    );
  }

  let chunks: AsyncIterable<Uint8Array> = readChunks(response.body);
  const encoded = options.encodedBody ?? encoding === "zstd";
  if (encoded && encoding !== "" && encoding !== "identity") {
    if (dictionaryHash !== undefined) {
      const zstd = options.zstd;
      if (zstd === undefined) {
        throw new CodecContentEncodingError(
          "zstd",
          "The response is zstd-encoded, but no zstd decoder was passed. Pass " +
            '`zstd: decompressZstd` (import it from "codec-serve/client/zstd"), or leave zstd out of Accept-Encoding.',
        );
      }
      chunks = zstd(chunks, await resolveDictionary(dictionaryHash, options));
    } else {
      chunks = decodeContent(chunks, encoding, options.contentDecoders);
    }
  }
  yield* decodeStream(chunks, format, options);
}

/**
 * Undoes `encoding` on a raw body: a decoder from `contentDecoders` when one is given, else the
 * runtime's `DecompressionStream`.
 *
 * @throws {@link CodecContentEncodingError} when neither can decode `encoding`, or the bytes are corrupt
 */
export function decodeContent(
  body: AsyncIterable<Uint8Array>,
  encoding: string,
  contentDecoders: Readonly<Record<string, ContentDecoder>> = {},
): AsyncIterable<Uint8Array> {
  const custom = Object.hasOwn(contentDecoders, encoding) ? contentDecoders[encoding] : undefined;
  if (custom !== undefined) return custom(body);

  const streamFormat = encoding === "br" ? "brotli" : encoding;
  let decompressor: TransformStream<Uint8Array, Uint8Array>;
  try {
    decompressor = new DecompressionStream(streamFormat as CompressionFormat) as TransformStream<
      Uint8Array,
      Uint8Array
    >;
  } catch (error) {
    throw new CodecContentEncodingError(
      encoding,
      `This runtime cannot decode Content-Encoding ${encoding}. Pass a decoder in contentDecoders.${encoding}, ` +
        "or request an encoding the runtime supports.",
      { cause: error },
    );
  }
  return pipeThrough(body, decompressor, encoding);
}

async function* pipeThrough(
  body: AsyncIterable<Uint8Array>,
  transform: TransformStream<Uint8Array, Uint8Array>,
  encoding: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  const writer = transform.writable.getWriter();
  const pump = (async () => {
    for await (const chunk of body) await writer.write(chunk);
    await writer.close();
  })();
  // A failed write also errors the readable side, where it is reported.
  pump.catch(() => undefined);

  try {
    for await (const chunk of readChunks(transform.readable)) yield chunk;
    await pump;
  } catch (error) {
    throw new CodecContentEncodingError(
      encoding,
      `The ${encoding} body is corrupt and cannot be decoded (${(error as Error).message}).`,
      { cause: error },
    );
  }
}

async function resolveDictionary(
  hash: string,
  options: DecodeResponseOptions,
): Promise<Uint8Array> {
  const known = options.zstdDictionaries?.get(hash);
  if (known !== undefined) return known;
  if (options.fetchZstdDictionary === undefined) {
    throw new CodecZstdDictError(
      "unknown",
      hash,
      `The response is compressed with zstd dictionary ${hash}, which this client does not have. ` +
        "Pass it in zstdDictionaries, or pass fetchZstdDictionary to fetch it from the server.",
    );
  }
  try {
    return await options.fetchZstdDictionary(hash);
  } catch (error) {
    throw new CodecZstdDictError(
      "unknown",
      hash,
      `The zstd dictionary ${hash} could not be fetched or verified: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function contentEncodingOf(headers: Headers): string {
  return (headers.get("Content-Encoding") ?? "").trim().toLowerCase();
}

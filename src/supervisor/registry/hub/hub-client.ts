import { Agent, request, type Dispatcher } from "undici";
import { z } from "zod";

import { ERRORS, HttpError } from "../../../http/errors.js";
import { VERSION } from "../../../http/version.js";
import { hubResponseError, TransientHubError, type HubRequestContext } from "./hub-errors.js";

/** One file of a repo at a commit, as the Hub lists it. */
export interface HubFile {
  /** Path inside the repo, `/`-separated. */
  path: string;
  size: number;
  /** SHA-256 of the content, for files stored in Git LFS. */
  sha256?: string;
  /** The git object id of the file (of its LFS pointer for LFS files). */
  blobId?: string;
}

/** A repo revision resolved to its commit, with its files. */
export interface RepoSnapshot {
  commit: string;
  files: HubFile[];
}

export interface HubClientOptions {
  /** Base URL, e.g. `https://huggingface.co`, without a trailing slash. */
  endpoint: string;
  /** Time allowed for the response headers of one request. */
  headersTimeoutMs: number;
  /** Time allowed between two chunks of a response body; a stalled download fails after it. */
  bodyTimeoutMs: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const COMMIT = /^[0-9a-f]{40}$/;

const modelInfoSchema = z.object({
  sha: z.string(),
  siblings: z.array(
    z.object({
      rfilename: z.string(),
      size: z.number().int().nonnegative().optional(),
      blobId: z.string().optional(),
      lfs: z.object({ sha256: z.string(), size: z.number().int().nonnegative() }).optional(),
    }),
  ),
});

/**
 * A client for the parts of the Hugging Face Hub HTTP API a pull needs: the model info of a
 * revision with file sizes and LFS hashes (`GET /api/models/{repo}/revision/{rev}?blobs=true`)
 * and file downloads (`GET /{repo}/resolve/{commit}/{path}`), following the Hub's redirects
 * to its CDN. The token is sent only to the Hub's own origin, never to a redirect target.
 * Each method makes one attempt; callers retry TransientHubError.
 */
export class HubClient {
  readonly endpoint: string;
  readonly #origin: string;
  readonly #agent: Agent;

  constructor(options: HubClientOptions) {
    this.endpoint = options.endpoint;
    this.#origin = new URL(options.endpoint).origin;
    this.#agent = new Agent({
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
    });
  }

  /** Resolves `revision` (the default branch when undefined) to a commit and lists its files. */
  async fetchRepoSnapshot(
    repoId: string,
    revision: string | undefined,
    token: string | undefined,
    signal: AbortSignal,
  ): Promise<RepoSnapshot> {
    const context: HubRequestContext = { repoId, revision, hasToken: token !== undefined };
    const revisionPath = revision === undefined ? "" : `/revision/${encodeURIComponent(revision)}`;
    const url = `${this.endpoint}/api/models/${encodeRepoId(repoId)}${revisionPath}?blobs=true`;

    const response = await this.#get(url, { accept: "application/json" }, token, signal, context);
    if (response.statusCode !== 200) throw await this.#failure(response, context);

    const parsed = modelInfoSchema.safeParse(await response.body.json().catch(() => undefined));
    if (!parsed.success || !COMMIT.test(parsed.data.sha)) {
      throw new HttpError(
        ERRORS.registryHubFailed,
        `the Hub returned model info for '${repoId}' that is not in the expected format`,
      );
    }
    const files = parsed.data.siblings.map((sibling) => {
      const size = sibling.lfs?.size ?? sibling.size;
      if (size === undefined) {
        throw new HttpError(
          ERRORS.registryHubFailed,
          `the Hub did not report the size of '${sibling.rfilename}' in '${repoId}'`,
        );
      }
      const file: HubFile = { path: sibling.rfilename, size };
      if (sibling.lfs !== undefined) file.sha256 = sibling.lfs.sha256.toLowerCase();
      if (sibling.blobId !== undefined) file.blobId = sibling.blobId;
      return file;
    });
    return { commit: parsed.data.sha, files };
  }

  /**
   * Starts downloading `path` at `commit` from byte `offset`. Returns the 200, 206 or 416
   * response for the caller to read; other statuses throw.
   */
  async openFile(
    repoId: string,
    commit: string,
    path: string,
    offset: number,
    token: string | undefined,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const context: HubRequestContext = {
      repoId,
      revision: commit,
      file: path,
      hasToken: token !== undefined,
    };
    const encodedPath = path.split("/").map(encodeURIComponent).join("/");
    const url = `${this.endpoint}/${encodeRepoId(repoId)}/resolve/${commit}/${encodedPath}`;
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    if (offset > 0) headers.range = `bytes=${offset}-`;

    const response = await this.#get(url, headers, token, signal, context);
    if (response.statusCode === 200 || response.statusCode === 206 || response.statusCode === 416)
      return response;
    throw await this.#failure(response, context);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /** GET with redirects followed by hand, so the token is dropped when a redirect leaves the Hub's origin. */
  async #get(
    url: string,
    headers: Record<string, string>,
    token: string | undefined,
    signal: AbortSignal,
    context: HubRequestContext,
  ): Promise<Dispatcher.ResponseData> {
    let current = new URL(url);
    for (let hop = 0; ; hop++) {
      const hopHeaders: Record<string, string> = {
        ...headers,
        "user-agent": `codec-serve/${VERSION}`,
      };
      if (token !== undefined && current.origin === this.#origin)
        hopHeaders.authorization = `Bearer ${token}`;

      const response = await this.#send(current, hopHeaders, signal);
      if (!REDIRECT_STATUSES.has(response.statusCode)) return response;

      await response.body.dump();
      const location = response.headers.location;
      if (typeof location !== "string" || hop >= MAX_REDIRECTS) {
        throw new HttpError(
          ERRORS.registryHubFailed,
          `the Hub sent a bad redirect for ${context.file ?? context.repoId}`,
        );
      }
      current = new URL(location, current);
    }
  }

  async #send(
    url: URL,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, { method: "GET", headers, signal, dispatcher: this.#agent });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const reason = error instanceof Error ? error.message : String(error);
      const final = new HttpError(
        ERRORS.registryHubUnreachable,
        `could not reach the Hub at ${url.origin}: ${reason}`,
        { cause: error },
      );
      throw new TransientHubError(final, { cause: error });
    }
  }

  async #failure(
    response: Dispatcher.ResponseData,
    context: HubRequestContext,
  ): Promise<HttpError | TransientHubError> {
    await response.body.dump().catch(() => undefined);
    return hubResponseError(response.statusCode, response.headers, context);
  }
}

function encodeRepoId(repoId: string): string {
  return repoId.split("/").map(encodeURIComponent).join("/");
}

import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A local stand-in for the Hugging Face Hub, on loopback, implementing what the registry's
 * client uses:
 *
 * - `GET /api/models/{repo}[/revision/{rev}]?blobs=true`: `sha` and `siblings` with sizes,
 *   git blob ids and, for LFS files, `lfs.sha256`.
 * - `GET /{repo}/resolve/{rev}/{path}`: small (non-LFS) files directly; LFS files by a 302 to
 *   a second server standing in for the CDN, as the real Hub redirects to its CDN.
 * - The Hub's error responses: `X-Error-Code: RepoNotFound` (401 without a token, as the Hub
 *   does for unknown repos, 404 with one), `RevisionNotFound`, and `GatedRepo` (401 without
 *   a token, 403 with a token that has no access).
 *
 * Downloads honour `Range`, and faults can be injected per file: cut the connection after N
 * bytes, serve corrupted bytes, or send slowly.
 */

export interface FakeRepoFile {
  path: string;
  content: Buffer;
  /** Stored in LFS (redirected to the CDN, with a sha256); default true. */
  lfs?: boolean;
}

export interface FakeRepo {
  id: string;
  files: FakeRepoFile[];
  /** Branch and tag names besides the commit itself; `main` is added when missing. */
  revisions?: Record<string, string>;
  commit?: string;
  /** Files need this token; any other token gets 403, none gets 401. */
  gatedToken?: string;
}

/** One recorded request. */
export interface HubRequest {
  server: "hub" | "cdn";
  method: string;
  path: string;
  range: string | undefined;
  authorization: string | undefined;
}

/** Faults for one file path, used up in order. */
export interface FileFaults {
  /** Destroy the connection after this many body bytes, on the next `times` downloads. */
  cutAfterBytes?: { bytes: number; times: number };
  /** Serve one flipped byte on the next `times` complete downloads (Infinity: always). */
  corruptTimes?: number;
  /** Wait this long between 16 KiB chunks. */
  chunkDelayMs?: number;
  /** Respond to `Range` requests with the whole file (200). */
  ignoreRange?: boolean;
}

const CHUNK = 16 * 1024;

/** A repo as the fake Hub keeps it, with its commit and revisions filled in. */
type StoredRepo = Required<Pick<FakeRepo, "id" | "files" | "revisions" | "commit">> & FakeRepo;

export class FakeHub {
  readonly requests: HubRequest[] = [];
  /** Body bytes sent per file path, over all requests. */
  readonly bytesServed = new Map<string, number>();
  readonly faults = new Map<string, FileFaults>();
  readonly #repos = new Map<string, StoredRepo>();
  readonly #hub: Server = createServer(
    (request, response) => void this.#handleHub(request, response),
  );
  readonly #cdn: Server = createServer(
    (request, response) => void this.#handleCdn(request, response),
  );

  url = "";
  #cdnUrl = "";

  async start(): Promise<this> {
    this.url = await listen(this.#hub);
    this.#cdnUrl = await listen(this.#cdn);
    return this;
  }

  async close(): Promise<void> {
    for (const server of [this.#hub, this.#cdn]) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  addRepo(repo: FakeRepo): string {
    const commit =
      repo.commit ??
      createHash("sha1")
        .update(`${repo.id}:${repo.files.map((file) => file.path).join(",")}`)
        .digest("hex");
    this.#repos.set(repo.id, { ...repo, commit, revisions: { main: commit, ...repo.revisions } });
    return commit;
  }

  /** Requests for one file's content (at the CDN for LFS files), in order. */
  downloadsOf(path: string): HubRequest[] {
    return this.requests.filter(
      (request) =>
        request.path.endsWith(`/${path}`) &&
        (request.server === "cdn" || !request.path.startsWith("/api/")),
    );
  }

  async #handleHub(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", this.url);
    this.#record("hub", request, url);
    const token = bearer(request);

    const info = /^\/api\/models\/([^/]+(?:\/[^/]+)??)(?:\/revision\/([^/]+))?$/.exec(url.pathname);
    if (info !== null)
      return this.#modelInfo(
        response,
        decodeURIComponent(info[1]!),
        info[2] === undefined ? "main" : decodeURIComponent(info[2]),
        token,
      );

    const resolve = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolve !== null)
      return this.#resolve(
        response,
        decodeURIComponent(resolve[1]!),
        decodeURIComponent(resolve[2]!),
        resolve[3]!.split("/").map(decodeURIComponent).join("/"),
        token,
      );

    response.writeHead(404).end();
  }

  /**
   * Returns the repo, or sends the Hub's answer for a missing one and returns undefined: 401
   * without a token, because the Hub cannot tell a missing repo from a private one, else 404.
   */
  #findRepo(
    response: ServerResponse,
    repoId: string,
    token: string | undefined,
  ): StoredRepo | undefined {
    const repo = this.#repos.get(repoId);
    if (repo === undefined) {
      hubError(response, token === undefined ? 401 : 404, "RepoNotFound", "Repository not found");
    }
    return repo;
  }

  #modelInfo(
    response: ServerResponse,
    repoId: string,
    revision: string,
    token: string | undefined,
  ): void {
    const repo = this.#findRepo(response, repoId, token);
    if (repo === undefined) return;
    const commit =
      repo.revisions[revision] ?? Object.values(repo.revisions).find((value) => value === revision);
    if (commit === undefined) return hubError(response, 404, "RevisionNotFound", "Invalid rev id");

    const siblings = repo.files.map((file) => {
      const sibling: Record<string, unknown> = {
        rfilename: file.path,
        size: file.content.length,
        blobId: gitBlobId(file.content),
      };
      if (file.lfs !== false) {
        sibling.lfs = { sha256: sha256(file.content), size: file.content.length, pointerSize: 134 };
      }
      return sibling;
    });
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      JSON.stringify({
        id: repoId,
        modelId: repoId,
        sha: commit,
        gated: repo.gatedToken === undefined ? false : "manual",
        siblings,
      }),
    );
  }

  #resolve(
    response: ServerResponse,
    repoId: string,
    revision: string,
    path: string,
    token: string | undefined,
  ): void {
    const repo = this.#findRepo(response, repoId, token);
    if (repo === undefined) return;
    if (repo.gatedToken !== undefined && token !== repo.gatedToken) {
      return hubError(
        response,
        token === undefined ? 401 : 403,
        "GatedRepo",
        "Access to this model is restricted",
      );
    }
    const commit =
      repo.revisions[revision] ?? Object.values(repo.revisions).find((value) => value === revision);
    if (commit === undefined) return hubError(response, 404, "RevisionNotFound", "Invalid rev id");
    const file = repo.files.find((candidate) => candidate.path === path);
    if (file === undefined) return hubError(response, 404, "EntryNotFound", "Entry not found");

    if (file.lfs !== false) {
      const location = `${this.#cdnUrl}/cdn/${encodeURIComponent(repoId)}/${commit}/${path}?signature=abc`;
      response.writeHead(302, {
        location,
        "x-repo-commit": commit,
        "x-linked-size": String(file.content.length),
      });
      response.end();
      return;
    }
    void this.#serveContent(response, file, path);
  }

  async #handleCdn(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", this.#cdnUrl);
    this.#record("cdn", request, url);
    const match = /^\/cdn\/([^/]+)\/([0-9a-f]+)\/(.+)$/.exec(url.pathname);
    const repo = match === null ? undefined : this.#repos.get(decodeURIComponent(match[1]!));
    const file = repo?.files.find((candidate) => candidate.path === match![3]);
    if (file === undefined) {
      response.writeHead(404).end();
      return;
    }
    await this.#serveContent(response, file, file.path, request.headers.range);
  }

  async #serveContent(
    response: ServerResponse,
    file: FakeRepoFile,
    path: string,
    range?: string,
  ): Promise<void> {
    const faults = this.faults.get(path) ?? {};
    let content = file.content;
    if ((faults.corruptTimes ?? 0) > 0 && range === undefined) {
      faults.corruptTimes! -= 1;
      content = Buffer.from(content);
      content[0] = content[0]! ^ 0xff;
    }

    const start = faults.ignoreRange === true ? 0 : parseRangeStart(range);
    if (start !== undefined && start >= content.length) {
      response.writeHead(416, { "content-range": `bytes */${content.length}` }).end();
      return;
    }
    const body = content.subarray(start ?? 0);
    const headers: Record<string, string> = {
      "content-length": String(body.length),
      "accept-ranges": "bytes",
      etag: `"${sha256(file.content)}"`,
    };
    if (start !== undefined)
      headers["content-range"] = `bytes ${start}-${content.length - 1}/${content.length}`;
    response.writeHead(start === undefined ? 200 : 206, headers);

    let cutAfter: number | undefined;
    if (faults.cutAfterBytes !== undefined && faults.cutAfterBytes.times > 0) {
      faults.cutAfterBytes.times -= 1;
      cutAfter = faults.cutAfterBytes.bytes;
    }
    await this.#writeBody(response, body, path, cutAfter, faults.chunkDelayMs);
  }

  async #writeBody(
    response: ServerResponse,
    body: Buffer,
    path: string,
    cutAfter: number | undefined,
    chunkDelayMs: number | undefined,
  ): Promise<void> {
    let sent = 0;
    while (sent < body.length) {
      if (response.destroyed) return;
      const limit = cutAfter === undefined ? body.length : Math.min(body.length, cutAfter);
      const chunk = body.subarray(sent, Math.min(limit, sent + CHUNK));
      if (chunk.length === 0) {
        response.socket?.destroy();
        return;
      }
      const flushed = response.write(chunk);
      sent += chunk.length;
      this.bytesServed.set(path, (this.bytesServed.get(path) ?? 0) + chunk.length);
      if (cutAfter !== undefined && sent >= cutAfter) {
        await sleep(20);
        response.socket?.destroy();
        return;
      }
      if (!flushed) await drainedOrClosed(response);
      if (chunkDelayMs !== undefined) await sleep(chunkDelayMs);
    }
    response.end();
  }

  #record(server: "hub" | "cdn", request: IncomingMessage, url: URL): void {
    this.requests.push({
      server,
      method: request.method ?? "GET",
      path: decodeURIComponent(url.pathname),
      range: request.headers.range,
      authorization: request.headers.authorization,
    });
  }
}

export function sha256(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Computes the git object id of a blob: SHA-1 of `blob <size>\0<content>`. */
function gitBlobId(content: Buffer): string {
  return createHash("sha1").update(`blob ${content.length}\u0000`).update(content).digest("hex");
}

/** Waits until `response` can take more data or has closed, without leaving listeners behind. */
function drainedOrClosed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}

function hubError(response: ServerResponse, status: number, code: string, message: string): void {
  response.writeHead(status, {
    "content-type": "application/json",
    "x-error-code": code,
    "x-error-message": message,
  });
  response.end(JSON.stringify({ error: message }));
}

function bearer(request: IncomingMessage): string | undefined {
  const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? "");
  return match?.[1];
}

function parseRangeStart(range: string | undefined): number | undefined {
  const match = /^bytes=(\d+)-$/.exec(range ?? "");
  return match === null ? undefined : Number(match[1]);
}

async function listen(server: Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

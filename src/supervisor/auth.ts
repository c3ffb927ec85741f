import { createHash, timingSafeEqual } from "node:crypto";

import type { FastifyInstance, FastifyRequest } from "fastify";

import { ERRORS, HttpError } from "../http/errors.js";

/** Credentials the supervisor checks. */
export interface AuthOptions {
  /** Bearer token for `/admin/*`; without one, admin routes answer only loopback clients. */
  adminToken: string | undefined;
  /** Keys for inference routes; empty leaves them open. The admin token is accepted too. */
  apiKeys: readonly string[];
}

/** Paths that never need credentials: liveness and the public Codec discovery documents. */
function isPublic(path: string): boolean {
  return path === "/health" || path.startsWith("/.well-known/codec/");
}

/**
 * True for requests to `/admin/*`. The router matches percent-decoded paths (`/%61dmin`
 * reaches `/admin`), so this checks the route that matched and the decoded path, never the
 * raw URL alone.
 */
export function isAdminRequest(request: FastifyRequest): boolean {
  return isAdminPath(request.routeOptions.url ?? "") || isAdminPath(decodedPath(request.url));
}

/**
 * Rejects admin requests that a browser sends from another origin. Browsers send `Origin` on
 * cross-origin requests, including simple form posts that need no CORS preflight, so without
 * this check any website could drive a supervisor on loopback. Clients such as curl send none.
 */
function rejectCrossOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined || origin === `${request.protocol}://${request.headers.host}`) return;
  throw new HttpError(
    ERRORS.authCrossOrigin,
    `admin routes do not accept requests from pages of another origin (${origin})`,
  );
}

function isAdminPath(path: string): boolean {
  return path === "/admin" || path.startsWith("/admin/");
}

/** Decodes the percent-escapes of the URL's path; an undecodable path is returned as it is. */
function decodedPath(url: string): string {
  const path = url.split("?", 1)[0]!;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Guards every route. Admin routes need the admin token, or a loopback client when no token
 * is configured. Inference routes need an API key (or the admin token) when keys are
 * configured. Keys are compared in constant time and never logged or echoed.
 */
export function installAuth(app: FastifyInstance, options: AuthOptions): void {
  const adminDigests = options.adminToken === undefined ? [] : [digest(options.adminToken)];
  const inferenceDigests = [...options.apiKeys.map(digest), ...adminDigests];

  app.addHook("onRequest", async (request) => {
    const path = decodedPath(request.url);
    const route = request.routeOptions.url ?? "";
    const admin = isAdminRequest(request);
    if (!admin && (route === "/health" || isPublic(path))) return;

    if (admin) {
      rejectCrossOrigin(request);
      if (adminDigests.length === 0) {
        if (!isLoopback(request.socket.remoteAddress)) {
          throw new HttpError(
            ERRORS.authAdminLoopbackOnly,
            "admin routes answer only loopback clients unless CODEC_ADMIN_TOKEN is set",
          );
        }
        return;
      }
      checkCredentials(request, adminDigests);
      return;
    }

    if (inferenceDigests.length > 0 && options.apiKeys.length > 0)
      checkCredentials(request, inferenceDigests);
  });
}

function checkCredentials(request: FastifyRequest, accepted: readonly Buffer[]): void {
  const presented = presentedCredential(request);
  if (presented === undefined) {
    throw new HttpError(
      ERRORS.authMissingCredentials,
      "missing credentials; send Authorization: Bearer <key>",
      {
        headers: { "WWW-Authenticate": 'Bearer realm="codec-serve"' },
      },
    );
  }

  const candidate = digest(presented);
  // Compare with every accepted key, so the time taken does not reveal which one matched.
  let matched = false;
  for (const key of accepted) matched = timingSafeEqual(candidate, key) || matched;
  if (!matched) {
    throw new HttpError(ERRORS.authInvalidCredentials, "invalid credentials", {
      headers: { "WWW-Authenticate": 'Bearer realm="codec-serve", error="invalid_token"' },
    });
  }
}

/** Reads `Authorization: Bearer <key>`, or `X-Api-Key: <key>` as some OpenAI clients send it. */
function presentedCredential(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === "string") {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match !== null) return match[1];
  }
  const apiKey = request.headers["x-api-key"];
  return typeof apiKey === "string" && apiKey !== "" ? apiKey : undefined;
}

/** Hashing first gives equal-length buffers, as `timingSafeEqual` requires, whatever the key lengths. */
function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped IPv6 forms. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const ipv4 = address.startsWith("::ffff:") ? address.slice("::ffff:".length) : address;
  return ipv4.startsWith("127.") || address === "::1";
}

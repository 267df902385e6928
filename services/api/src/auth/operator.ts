import { timingSafeEqual } from "node:crypto";
import { AppError } from "@paimon/core/errors";
import type { RequestHandler } from "express";
import { errors, jwtVerify } from "jose";
import { VIA_EDGE } from "../http/client-address";

/** The role an operator token must carry to change anything. */
export const OPERATOR_ROLE = "operator";

/**
 * Operator authentication: an HS256 JWT signed with `jwt-secret`, unexpired, carrying the
 * operator role. Missing, malformed, forged and expired tokens are 401; the wrong role is 403.
 */
export function requireOperator(secret: string): RequestHandler {
  const key = new TextEncoder().encode(secret);
  return (request, response, next) => {
    const header = request.get("authorization");
    const token = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header ?? "")?.[1];
    if (!token) {
      next(new AppError("missing_token", "an operator bearer token is required", { status: 401 }));
      return;
    }
    jwtVerify(token, key, { algorithms: ["HS256"], requiredClaims: ["sub", "exp"] }).then(
      ({ payload }) => {
        const roles = Array.isArray(payload["roles"]) ? payload["roles"] : [payload["role"]];
        if (!roles.includes(OPERATOR_ROLE)) {
          next(new AppError("forbidden", "the token lacks the operator role", { status: 403 }));
          return;
        }
        response.locals["operator"] = payload.sub;
        next();
      },
      (error: unknown) => {
        const expired = error instanceof errors.JWTExpired;
        next(
          new AppError(
            expired ? "token_expired" : "invalid_token",
            expired ? "the token has expired" : "the token is not valid",
            { status: 401, cause: error },
          ),
        );
      },
    );
  };
}

/**
 * Requests from the internet must come through CloudFront, which adds the origin secret header.
 * A request that carries it is marked as come through the edge (`VIA_EDGE`): only then are the
 * headers CloudFront writes (the viewer's address) believed.
 */
export function requireOrigin(secret: string | undefined): RequestHandler {
  const expected = secret ? Buffer.from(secret) : undefined;
  return (request, response, next) => {
    if (!expected) {
      next();
      return;
    }
    const given = Buffer.from(request.get("x-origin-verify") ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      next(new AppError("origin_not_allowed", "requests must come through the API's edge", { status: 403 }));
      return;
    }
    response.locals[VIA_EDGE] = true;
    next();
  };
}

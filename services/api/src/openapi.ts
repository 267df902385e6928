import { z } from "zod";
import { rebalanceListQuery, triggerBody } from "./rebalances/rebalances.routes";
import { listQuery as redemptionListQuery } from "./redemptions/redemptions.routes";
import { riskQuery } from "./risk/risk.routes";

type JsonSchema = Record<string, unknown>;

/** Query parameters of an OpenAPI operation, from the zod schema that validates them. */
function queryParameters(schema: z.ZodObject): object[] {
  const json = z.toJSONSchema(schema, { io: "input" }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: "query",
    required: (json.required ?? []).includes(name),
    schema: property,
  }));
}

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});
const ok = (description: string) => ({ description, content: { "application/json": { schema: { type: "object" } } } });

/**
 * The API's OpenAPI 3.1 document, built from the same zod schemas that validate requests, so
 * the document cannot describe parameters the API does not accept. Served at /openapi.json and
 * committed as services/api/openapi.json (checked fresh by `pnpm generate --check`).
 */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: { title: "Paimon fund API", version: "1.0.0", description: "The fund's read API and its operator API." },
    components: {
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string" },
                message: { type: "string" },
                details: {},
                request_id: { type: "string" },
              },
            },
          },
        },
      },
      securitySchemes: {
        operator: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "HS256, role `operator`" },
      },
    },
    paths: {
      "/health": { get: { summary: "Liveness", responses: { "200": ok("the process serves") } } },
      "/health/ready": {
        get: {
          summary: "Readiness: PostgreSQL, Redis, chain-sync freshness",
          responses: { "200": ok("ready"), "503": ok("names what failed") },
        },
      },
      "/v1/fund": {
        get: {
          summary: "NAV, the three liquidity layers, the risk level and its reasons, the as-of block",
          responses: { "200": ok("the fund"), "404": errorResponse("nothing indexed yet") },
        },
      },
      "/v1/redemptions": {
        get: {
          summary: "Redemptions, newest first, cursor-paginated",
          parameters: queryParameters(redemptionListQuery),
          responses: { "200": ok("a page and its next_cursor"), "400": errorResponse("invalid query or cursor") },
        },
      },
      "/v1/redemptions/{id}": {
        get: {
          summary: "One redemption",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", pattern: "^\\d{1,78}$" } }],
          responses: {
            "200": ok("the redemption"),
            "400": errorResponse("invalid id"),
            "404": errorResponse("unknown id"),
          },
        },
      },
      "/v1/risk": {
        get: {
          summary: "Risk assessments over a time range (at most 31 days)",
          parameters: queryParameters(riskQuery),
          responses: { "200": ok("the assessments"), "400": errorResponse("invalid range") },
        },
      },
      "/v1/rebalances": {
        get: {
          summary: "Rebalance executions, newest first",
          parameters: queryParameters(rebalanceListQuery),
          responses: { "200": ok("the executions"), "400": errorResponse("invalid query") },
        },
        post: {
          summary: "Trigger a manual rebalance (operator)",
          security: [{ operator: [] }],
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: true,
              schema: { type: "string", pattern: "^[A-Za-z0-9_-]{8,128}$" },
            },
          ],
          requestBody: {
            required: true,
            content: { "application/json": { schema: z.toJSONSchema(triggerBody, { io: "input" }) } },
          },
          responses: {
            "202": ok("accepted: the execution's id (the same for a repeated Idempotency-Key)"),
            "400": errorResponse("invalid body or Idempotency-Key"),
            "401": errorResponse("missing, invalid or expired token"),
            "403": errorResponse("not an operator"),
            "415": errorResponse("not application/json"),
            "429": errorResponse("rate limited"),
          },
        },
      },
      "/v1/rebalances/{id}": {
        get: {
          summary: "One rebalance execution",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
          responses: { "200": ok("the execution"), "404": errorResponse("unknown id") },
        },
      },
    },
  };
}

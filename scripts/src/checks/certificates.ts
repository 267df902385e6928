/**
 * §9.2 "certificate expiry": the certificate each configured endpoint presents (read over TLS, as
 * a client would, its chain verified) and the certificates cert-manager manages (its expiry
 * metric), against TLSCertificateExpiring's line.
 */
import { isIP } from "node:net";
import { connect } from "node:tls";
import { m } from "./promql";
import { lineSeconds } from "./rules";
import { duration, worst, type CheckContext, type CheckItem, type Status } from "./types";

interface Presented {
  readonly endpoint: string;
  readonly expires: Date | undefined;
  /** Why a client would refuse the chain, when it would. */
  readonly untrusted: string | undefined;
  readonly error?: string;
}

function presented(endpoint: string, context: Pick<CheckContext, "timeoutMs" | "tlsCa">): Promise<Presented> {
  const [host = "", port = "443"] = endpoint.split(/:(?=\d+$)/);
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(port),
      // SNI names a host, never an address (RFC 6066).
      ...(isIP(host) === 0 ? { servername: host } : {}),
      // Read the certificate whatever its chain; whether a client would trust it is reported.
      rejectUnauthorized: false,
      ...(context.tlsCa ? { ca: context.tlsCa } : {}),
    });
    const done = (result: Presented) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(context.timeoutMs, () => {
      done({
        endpoint,
        expires: undefined,
        untrusted: undefined,
        error: `no TLS handshake within ${context.timeoutMs} ms`,
      });
    });
    socket.once("secureConnect", () => {
      const certificate = socket.getPeerCertificate();
      done({
        endpoint,
        expires: certificate.valid_to ? new Date(certificate.valid_to) : undefined,
        untrusted: socket.authorized ? undefined : String(socket.authorizationError),
      });
    });
    socket.once("error", (error: Error) => {
      done({ endpoint, expires: undefined, untrusted: undefined, error: error.message });
    });
  });
}

export const certificateExpiry: CheckItem = {
  id: "certificates.expiry",
  title: "Certificate expiry",
  async run(context) {
    const rules = context.prometheus ? await context.rules() : undefined;
    const line = rules?.threshold("TLSCertificateExpiring");
    const warnWithin = line ? lineSeconds(line) : undefined;
    const threshold = `fail: expired, untrusted or unreachable; warn: expiring within ${warnWithin === undefined ? "(TLSCertificateExpiring not loaded)" : `${duration(warnWithin)} (${line?.label ?? ""})`}`;
    const found: { what: string; left: number | undefined; problem?: string }[] = [];
    for (const result of await Promise.all(context.tlsEndpoints.map((endpoint) => presented(endpoint, context)))) {
      const left = result.expires ? (result.expires.getTime() - context.now.getTime()) / 1000 : undefined;
      const problem = result.error ?? (result.untrusted ? `untrusted: ${result.untrusted}` : undefined);
      found.push({ what: result.endpoint, left, ...(problem ? { problem } : {}) });
    }
    if (context.prometheus) {
      const managed = await context.prometheus.query(m("certmanager_certificate_expiration_timestamp_seconds"));
      for (const sample of managed)
        found.push({
          what: `${sample.labels["namespace"] ?? "?"}/${sample.labels["name"] ?? "?"}`,
          left: sample.value - context.now.getTime() / 1000,
        });
    }
    if (found.length === 0)
      return {
        status: "unknown",
        evidence: "no certificate to read: set CHECK_TLS_ENDPOINTS, or cert-manager exports none to PROMETHEUS_URL",
        threshold,
      };
    const statuses: Status[] = found.map(({ left, problem }) =>
      problem !== undefined || left === undefined || left <= 0
        ? "fail"
        : warnWithin !== undefined && left < warnWithin
          ? "warn"
          : "pass",
    );
    return {
      status: worst(statuses),
      evidence: found
        .map(({ what, left, problem }) =>
          `${what} ${left === undefined ? "" : left <= 0 ? "expired" : `expires in ${duration(left)}`}${problem ? ` ${problem}` : ""}`.replace(
            /\s+/g,
            " ",
          ),
        )
        .join("; "),
      threshold,
    };
  },
};

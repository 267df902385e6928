import net from "node:net";

/**
 * A TCP proxy on a free loopback port between a service and its database, cache or node, for
 * tests of what the service does when that dependency fails and comes back. Three modes:
 *
 * - `forward`: bytes flow both ways;
 * - `refuse`: every open connection is reset and new ones are refused (the listening socket is
 *   closed), as when the dependency's host is down;
 * - `blackhole`: connections stay open and new ones are accepted, but nothing reaches the other
 *   side, as when a network path or a server stalls — the case only timeouts can detect. Bytes are
 *   held, not dropped (TCP would retransmit them): back in `forward`, whatever each side sent
 *   meanwhile is delivered, to whichever connection its sender has not closed.
 */
export type ProxyMode = "forward" | "refuse" | "blackhole";

export interface TcpProxy {
  readonly port: number;
  /**
   * `url` (of the proxy's target: a database, cache or node URL) pointed at the proxy instead,
   * credentials, path and query kept; a URL of another host or port is an error.
   */
  through(url: string): string;
  mode(): ProxyMode;
  /** Switches mode; resolves once the new mode holds (in `refuse`, once the port is closed). */
  set(mode: ProxyMode): Promise<void>;
  /** Connections accepted so far (a client that reconnects shows here). */
  accepted(): number;
  /** `set("refuse")`. */
  cut(): Promise<void>;
  /** `set("forward")`, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function createTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let current: ProxyMode = "forward";
  let accepted = 0;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  /** Each connection's held bytes, delivered when the proxy forwards again. */
  const flushes = new Set<() => void>();
  const makeServer = () =>
    net.createServer((client) => {
      accepted += 1;
      const upstream = net.connect(target);
      track(client);
      track(upstream);
      const held: [net.Socket, Buffer][] = [];
      const flush = () => {
        for (const [to, chunk] of held.splice(0)) if (!to.destroyed) to.write(chunk);
      };
      flushes.add(flush);
      const relay = (to: net.Socket) => (chunk: Buffer) => {
        if (current === "forward") to.write(chunk);
        else held.push([to, chunk]);
      };
      client.on("data", relay(upstream));
      upstream.on("data", relay(client));
      const end = () => {
        flushes.delete(flush);
        client.destroy();
        upstream.destroy();
      };
      client.on("error", end);
      upstream.on("error", end);
      client.on("close", end);
      upstream.on("close", end);
    });
  const listen = (server: net.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  let server: net.Server | undefined = makeServer();
  const port = await listen(server, 0);
  const closeServer = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.resetAndDestroy();
      if (!server) {
        resolve();
        return;
      }
      server.close(() => {
        resolve();
      });
      server = undefined;
    });
  const set = async (mode: ProxyMode) => {
    const previous = current;
    current = mode;
    if (mode === "refuse") {
      await closeServer();
      return;
    }
    if (previous === "refuse" || !server) {
      server = makeServer();
      await listen(server, port);
    }
    if (mode === "forward") for (const flush of flushes) flush();
  };
  const upstreamAt = `${target.host}:${String(target.port)}`;
  const through = (url: string) => {
    const routed = new URL(url);
    if (routed.host !== upstreamAt) throw new Error(`${url} is not served by ${upstreamAt}, the proxy's target`);
    routed.host = `127.0.0.1:${String(port)}`;
    return routed.href;
  };
  return {
    port,
    through,
    mode: () => current,
    set,
    accepted: () => accepted,
    cut: () => set("refuse"),
    restore: () => set("forward"),
    close: closeServer,
  };
}

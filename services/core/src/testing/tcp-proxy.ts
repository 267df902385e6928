import net from "node:net";

/**
 * A TCP proxy on a free loopback port that can be cut and restored, for tests of what a service
 * does when its database or cache becomes unreachable and comes back.
 */
export interface TcpProxy {
  readonly port: number;
  /** Stops accepting and destroys every open connection. */
  cut(): Promise<void>;
  /** Accepts again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function createTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const makeServer = () =>
    net.createServer((client) => {
      const upstream = net.connect(target);
      track(client);
      track(upstream);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", end);
      upstream.on("error", end);
    });
  const listen = (server: net.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  let server = makeServer();
  const port = await listen(server, 0);
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => {
        resolve();
      });
    });
  return {
    port,
    cut: stop,
    async restore() {
      server = makeServer();
      await listen(server, port);
    },
    close: stop,
  };
}

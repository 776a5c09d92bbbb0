import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { Engine } from "../../src/engine/engine.js"
import { createStreamsHandler, type StreamsOptions } from "../../src/streams/index.js"

/** A streams handler on a real `node:http` server on 127.0.0.1 (port 0). */
export interface ServedStreams {
  readonly baseUrl: string
  readonly engine: Engine
  close(): Promise<void>
}

/** Serves streams on `engine` with `options`; `close` ends the server and the engine. */
export async function serveStreams(
  engine: Engine,
  options: Omit<StreamsOptions, "engine"> = {},
): Promise<ServedStreams> {
  const streams = createStreamsHandler({ engine, ...options })
  const server: Server = createServer((request, response) => void streams.handle(request, response))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    engine,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await engine.close()
    },
  }
}

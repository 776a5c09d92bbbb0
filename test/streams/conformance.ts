import { runConformanceTests } from "@durable-streams/server-conformance-tests"
import { afterAll, beforeAll, describe } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

/** The long-poll timeout of the served handler: short, so that the suite's 204 tests stay quick. */
const LONG_POLL_TIMEOUT_MS = 1500

/**
 * Runs the official Durable Streams conformance suite against Herald's streams handler on the
 * engine `makeEngine` makes (a real `node:http` server on 127.0.0.1). Any engine plugs in.
 */
export function describeConformance(name: string, makeEngine: () => Engine | Promise<Engine>): void {
  describe(`Durable Streams conformance on ${name}`, () => {
    // The suite reads baseUrl when each test runs, so it is filled in once the server listens.
    const options = { baseUrl: "", longPollTimeoutMs: LONG_POLL_TIMEOUT_MS }
    let served: ServedStreams | undefined
    beforeAll(async () => {
      served = await serveStreams(await makeEngine(), { limits: { longPollTimeoutMs: LONG_POLL_TIMEOUT_MS } })
      options.baseUrl = served.baseUrl
    })
    afterAll(async () => {
      await served?.close()
    })
    runConformanceTests(options)
  })
}

// The ported web-platform-tests eventsource/ cases, run on Herald's EventSource in Node.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EventSource } from "../../src/client/index.js"
import { wptCases } from "./wpt/cases.js"
import { type EventSourceClass, runCases } from "./wpt/harness.js"
import { startWptServer, type WptServer } from "./wpt/server.js"

let server: WptServer

beforeAll(async () => {
  server = await startWptServer()
})

afterAll(async () => {
  await server.close()
})

describe("WPT eventsource/ in Node", () => {
  for (const testCase of wptCases) {
    it(testCase.name, async () => {
      const [result] = await runCases(
        [testCase],
        EventSource as unknown as EventSourceClass,
        server.origin,
        "node",
      )
      expect(result?.error).toBeUndefined()
    })
  }
})

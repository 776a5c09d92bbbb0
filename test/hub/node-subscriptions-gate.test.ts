// A node publishes no subscription event before its first snapshot, but does not hold them for
// ever: a node that cannot hold its lease would keep them, and their memory, without bound.
import { afterEach, expect, it } from "vitest"
import { createMemoryEngine } from "../../src/engine/memory.js"
import type { NodeLeaseView } from "../../src/engine/node-lease.js"
import { createNodeSubscriptions, type NodeSubscriptions } from "../../src/hub/node-subscriptions.js"
import type { SubscriptionDocument } from "../../src/hub/subscriptions.js"
import { recordingLogger } from "../server/helpers.js"

let directory: NodeSubscriptions | undefined
afterEach(async () => {
  await directory?.close()
})

it("publishes the events held for a first snapshot after a lease, with a warning, when none could be written", async () => {
  const engine = createMemoryEngine()
  // A lease that is never held: no snapshot is written.
  const node: NodeLeaseView = { node: "node-a", ttlMs: 300, heldForMs: () => 0 }
  const announced: SubscriptionDocument[] = []
  const logger = recordingLogger()
  directory = createNodeSubscriptions({
    engine,
    hubLog: "hub",
    node,
    current: () => [],
    announce: async (documents) => void announced.push(...documents),
    settled: async () => {},
    logger,
    snapshotDelayMs: 10,
  })
  const document = { id: "/s/1", type: "subscription", active: true } as SubscriptionDocument
  const published = directory.publish([document]).then(() => "published")
  // Bounds the test: without a deadline of its own the gate never opens.
  const outcome = await Promise.race([
    published,
    new Promise((resolve) => setTimeout(resolve, 5000, "still held")),
  ])
  expect(outcome).toBe("published")
  expect(announced).toEqual([document])
  expect(logger.entries.filter((entry) => entry.level === "warn").map((entry) => entry.fields)).toEqual([
    { held: 1, leaseMs: 300 },
  ])
  await engine.close()
})

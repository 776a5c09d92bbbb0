// A node's snapshot of its subscriptions (node-subscriptions.ts) costs in proportion to them: the
// next one waits in proportion to how long the last took, so churning subscribers cannot keep a
// node serializing them.
import { afterEach, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import type { NodeLeaseView } from "../../src/engine/node-lease.js"
import { START } from "../../src/engine/position.js"
import { createNodeSubscriptions, type NodeSubscriptions } from "../../src/hub/node-subscriptions.js"
import type { SubscriptionDocument } from "../../src/hub/subscriptions.js"
import { recordingLogger } from "../server/helpers.js"

let directory: NodeSubscriptions | undefined
afterEach(async () => {
  await directory?.close()
})

it("writes the next snapshot no sooner than about 19 times the last one took to serialize", async () => {
  const memory = createMemoryEngine()
  const writes: number[] = []
  const engine = new Proxy(memory, {
    get: (target, name) => {
      const value = Reflect.get(target, name)
      if (name !== "append") return typeof value === "function" ? value.bind(target) : value
      return async (...args: Parameters<Engine["append"]>) => {
        writes.push(performance.now())
        return await target.append(...args)
      }
    },
  }) as Engine
  const node: NodeLeaseView = { node: "node-a", ttlMs: 60_000, heldForMs: () => 60_000 }
  // One document takes 40 ms to serialize: the next snapshot may come some 760 ms after it.
  const slow = {
    toJSON() {
      const until = performance.now() + 40
      while (performance.now() < until) {}
      return { id: "/s/slow", type: "subscription", active: true }
    },
  } as unknown as SubscriptionDocument
  const documents: SubscriptionDocument[] = [slow]
  directory = createNodeSubscriptions({
    engine,
    hubLog: "hub",
    node,
    current: () => documents,
    announce: async () => {},
    settled: async () => {},
    logger: recordingLogger(),
    snapshotDelayMs: 10,
  })
  await directory.maintain()
  expect(writes).toHaveLength(1)
  // Subscribers come and go every 20 ms for half a second: no snapshot meanwhile.
  for (let i = 0; i < 25; i++) {
    documents.push({ id: `/s/${i}`, type: "subscription", active: true } as SubscriptionDocument)
    directory.changed()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  expect(writes).toHaveLength(1)
  // Then one, with them all, once the pause is over.
  const deadline = performance.now() + 3_000
  while (writes.length < 2 && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20))
  expect(writes).toHaveLength(2)
  expect((writes[1] as number) - (writes[0] as number)).toBeGreaterThanOrEqual(700)
  const snapshot = await memory.read("hub/nodes/node-a", START, 1)
  expect(snapshot.held && JSON.parse(snapshot.entries[0]?.data as string)).toHaveLength(26)
})

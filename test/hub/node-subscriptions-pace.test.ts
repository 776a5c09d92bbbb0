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

it("writes the next snapshot no sooner than about 19 times the last one took", async () => {
  const memory = createMemoryEngine()
  const writes: number[] = []
  // Each snapshot write takes 40 ms: the next may come some 760 ms after it.
  const engine = new Proxy(memory, {
    get: (target, name) =>
      name === "append"
        ? async (...args: Parameters<Engine["append"]>) => {
            await new Promise((resolve) => setTimeout(resolve, 40))
            writes.push(performance.now())
            return await target.append(...args)
          }
        : (() => {
            const value = Reflect.get(target, name)
            return typeof value === "function" ? value.bind(target) : value
          })(),
  }) as Engine
  const node: NodeLeaseView = { node: "node-a", ttlMs: 60_000, heldForMs: () => 60_000 }
  const documents: SubscriptionDocument[] = []
  directory = createNodeSubscriptions({
    engine,
    hubLog: "hub",
    node,
    current: () => documents,
    announce: async () => {},
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
  expect(snapshot.held && JSON.parse(snapshot.entries[0]?.data as string)).toHaveLength(25)
})

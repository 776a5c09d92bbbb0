import { setTimeout as sleep } from "node:timers/promises"
import { afterEach, describe, expect, it } from "vitest"
import type { Entry } from "../../src/ai/entries.js"
import { generationLog } from "../../src/ai/generation-id.js"
import { createGenerations, type Generations } from "../../src/ai/generations.js"
import type { Provider } from "../../src/ai/provider.js"
import { runningMarker } from "../../src/ai/running-marker.js"
import { StatsRecorder } from "../../src/ai/stats-recorder.js"
import {
  type GenerationStats,
  parseEntry,
  type StoredEntry,
  serializeEntry,
} from "../../src/ai/stored-entry.js"
import type { Engine, LogHead } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { START } from "../../src/engine/position.js"
import { recordingLogger } from "../server/helpers.js"
import { testEngines } from "./engines.js"
import { META, REQUEST } from "./generation-fixtures.js"

/** A provider that yields text deltas one by one until aborted (or `count`), and reports what it did. */
function endless(options: { count?: number; everyMs?: number } = {}) {
  const state = { pulled: 0, closed: false }
  const provider: Provider = {
    kind: "test",
    async *stream(_request, signal) {
      try {
        for (let index = 0; index < (options.count ?? 1_000_000); index++) {
          if ((options.everyMs ?? 0) > 0) await sleep(options.everyMs, undefined, { signal })
          signal.throwIfAborted()
          state.pulled++
          yield { type: "text-delta", text: `t${index} ` } satisfies Entry
        }
        yield { type: "finish", reason: "stop", rawReason: "stop" } satisfies Entry
      } finally {
        state.closed = true
      }
    },
  }
  return { provider, state }
}

/** `engine` with some of its methods replaced. */
function replacing(engine: Engine, methods: Partial<Engine>): Engine {
  return new Proxy(engine, {
    get: (target, name) =>
      Object.hasOwn(methods, name)
        ? methods[name as keyof Engine]
        : Reflect.get(target, name, target).bind(target),
  })
}

async function entriesOf(engine: Engine, log: string): Promise<StoredEntry[]> {
  const read = await engine.read(log, START, 100_000)
  if (!read.held) throw new Error(`not held: ${read.reason}`)
  return read.entries.map((entry) => parseEntry(entry.data))
}

function textOf(entries: readonly StoredEntry[]): string {
  return entries.map((entry) => (entry.type === "text-delta" ? entry.text : "")).join("")
}

let generations: Generations[] = []
let engines: Engine[] = []
afterEach(async () => {
  await Promise.all(generations.map((each) => each.close({ deadlineMs: 0 })))
  generations = []
  await Promise.all(engines.map((engine) => engine.close()))
  engines = []
})
function generationsOn(
  engine: Engine,
  options: Partial<Parameters<typeof createGenerations>[0]> = {},
): Generations {
  const created = createGenerations({ engine, flushMs: 10, logger: recordingLogger(), ...options })
  generations.push(created)
  return created
}
/** `engine`, closed after the test. */
function opened<E extends Engine>(engine: E): E {
  engines.push(engine)
  return engine
}

const ENGINES = await testEngines("generation")

for (const kind of ENGINES) {
  describe.skipIf(!kind.available)(`on the ${kind.name} engine`, () => {
    describe("a generation's log", () => {
      it("merges token deltas per flush window, loses none, and ends with the terminal entry and its numbers", async () => {
        const engine = opened(kind.open())
        const { provider } = endless({ count: 300 })
        const run = await generationsOn(engine).start({ provider, request: REQUEST, meta: META })
        const end = await run.ended
        expect(end).toMatchObject({
          type: "end",
          status: "done",
          stats: { usage: { outputTokens: 300, source: "estimated" } },
        })
        const entries = await entriesOf(engine, run.log)
        expect(textOf(entries)).toBe(Array.from({ length: 300 }, (_, index) => `t${index} `).join(""))
        // Delivered synchronously, 300 deltas fit in a few windows: far fewer entries than tokens.
        expect(entries.length).toBeLessThan(30)
        expect(entries.at(-1)).toEqual(end)
        expect((await engine.head(run.log))?.closed).toBe(true)
      })

      it("appends a token that finds the store idle at once, and merges what comes while an append is in flight", async () => {
        const engine = opened(kind.open())
        // Each append takes 30 ms; tokens come every 2 ms.
        const slow = replacing(engine, {
          append: async (...args) => {
            await sleep(30)
            return engine.append(...args)
          },
        })
        const { provider } = endless({ count: 100, everyMs: 2 })
        const run = await generationsOn(slow, { flushMs: 0 }).start({
          provider,
          request: REQUEST,
          meta: META,
        })
        // The first token went alone, without waiting for a second one.
        await expect.poll(async () => (await entriesOf(engine, run.log)).length, { timeout: 1000 }).toBe(1)
        expect(textOf(await entriesOf(engine, run.log))).toBe("t0 ")
        await run.ended
        const entries = await entriesOf(engine, run.log)
        expect(textOf(entries)).toBe(Array.from({ length: 100 }, (_, index) => `t${index} `).join(""))
        // About one append per 30 ms of 2 ms tokens: far fewer than 100.
        expect(entries.length).toBeLessThan(25)
      })

      it("merges over saturatedFlushMs while the node's event loop is saturated, and appends at once otherwise", async () => {
        /** Entries of 20 tokens 2 ms apart, after the loop was kept busy for 150 ms. */
        const entriesAfterBusyLoop = async (saturatedFlushMs: number) => {
          const engine = opened(kind.open())
          const created = generationsOn(engine, { flushMs: 0, saturatedFlushMs })
          const until = performance.now() + 150
          while (performance.now() < until) {
            // Busy, as a node streaming more than one core keeps up with.
          }
          const { provider } = endless({ count: 20, everyMs: 2 })
          const run = await created.start({ provider, request: REQUEST, meta: META })
          await run.ended
          const entries = await entriesOf(engine, run.log)
          expect(textOf(entries)).toBe(Array.from({ length: 20 }, (_, index) => `t${index} `).join(""))
          return entries.filter((entry) => entry.type === "text-delta").length
        }
        // The 40 ms of tokens fit in one 200 ms window.
        expect(await entriesAfterBusyLoop(200)).toBe(1)
        expect(await entriesAfterBusyLoop(0)).toBeGreaterThan(10)
      })

      it("stops reading the upstream when the store fails, and records the failure when it can", async () => {
        const engine = opened(kind.open())
        let failing = false
        const flaky = replacing(engine, {
          append: (...args) =>
            failing && args[2]?.close !== true
              ? Promise.reject(new Error("disk on fire"))
              : engine.append(...args),
        })
        const { provider, state } = endless({ everyMs: 1 })
        const run = await generationsOn(flaky).start({ provider, request: REQUEST, meta: META })
        await sleep(50)
        failing = true
        const end = await run.ended
        expect(end).toMatchObject({ status: "failed", error: { type: "store_failed" } })
        expect(state.closed).toBe(true)
        const pulled = state.pulled
        await sleep(30)
        expect(state.pulled).toBe(pulled)
      })

      it("ends failed, not done, when the store fails on the answer's last entries after the provider finished", async () => {
        const engine = opened(kind.open())
        let failing = false
        const flaky = replacing(engine, {
          append: (...args) =>
            failing && args[2]?.close !== true
              ? Promise.reject(new Error("connection reset"))
              : engine.append(...args),
        })
        const provider: Provider = {
          kind: "test",
          async *stream() {
            yield { type: "text-delta", text: "Hello" } satisfies Entry
            await sleep(30)
            failing = true
            yield { type: "text-delta", text: " world" } satisfies Entry
            yield { type: "finish", reason: "length", rawReason: "length" } satisfies Entry
          },
        }
        const run = await generationsOn(flaky).start({ provider, request: REQUEST, meta: META })
        const end = await run.ended
        expect(end).toMatchObject({ status: "failed", error: { type: "store_failed" } })
        const stored = await entriesOf(engine, run.log)
        expect(textOf(stored)).toBe("Hello")
        expect(stored.at(-1)).toMatchObject({ type: "end", status: "failed" })
      })

      it("waits for a slow store instead of reading on without bound", async () => {
        const engine = opened(kind.open())
        let release: () => void = () => {}
        const gate = new Promise<void>((resolve) => {
          release = resolve
        })
        let appends = 0
        const slow = replacing(engine, {
          append: async (...args) => {
            if (++appends > 1) await gate
            return engine.append(...args)
          },
        })
        const { provider, state } = endless({ count: 100_000 })
        const run = await generationsOn(slow, { maxPendingEntries: 50, flushMs: 0 }).start({
          provider,
          request: REQUEST,
          meta: META,
        })
        await sleep(50)
        // The second append hangs: the upstream is read up to the bound, and no further.
        expect(state.pulled).toBeLessThanOrEqual(2 * 50 + 1)
        release()
        expect(await run.ended).toMatchObject({ status: "done" })
        expect(textOf(await entriesOf(engine, run.log)).length).toBeGreaterThan(100_000)
      })

      it("stops, writing nothing more, when another writer closed the log", async () => {
        const engine = opened(kind.open())
        const { provider, state } = endless({ everyMs: 1 })
        const run = await generationsOn(engine).start({ provider, request: REQUEST, meta: META })
        await sleep(30)
        await kind
          .nodeBeside(engine)
          .append(run.log, [{ data: JSON.stringify({ type: "end", status: "interrupted", stats: {} }) }], {
            close: true,
          })
        expect(await run.ended).toBeUndefined()
        expect(state.closed).toBe(true)
        expect((await entriesOf(engine, run.log)).at(-1)).toMatchObject({ status: "interrupted" })
      })

      it("is cancelled from another node by the signal, and by the durable stop flag alone", async () => {
        const engine = opened(kind.open())
        const other = opened(kind.nodeBeside(engine))
        const here = generationsOn(engine)
        const elsewhere = generationsOn(other)
        // Stalled: no append comes to report the stop flag, only the signal can stop it.
        const first = endless({ everyMs: 60_000 })
        const run = await here.start({ provider: first.provider, request: REQUEST, meta: META })
        await sleep(20)
        expect(await elsewhere.cancel(run.id)).toBe(true)
        expect(await run.ended).toMatchObject({ status: "cancelled" })
        expect(first.state.closed).toBe(true)

        const second = endless({ everyMs: 1 })
        const flagged = await here.start({ provider: second.provider, request: REQUEST, meta: META })
        await sleep(20)
        // No signal: only the flag, which the next append reports.
        await other.requestStop(flagged.log)
        expect(await flagged.ended).toMatchObject({
          status: "cancelled",
          stats: { cancelLatencyMs: expect.any(Number) },
        })
        expect(second.state.closed).toBe(true)
        expect(await elsewhere.cancel("no-such-generation-id-xx")).toBe(false)
      })

      it("is cancelled by the stop flag alone while its upstream is stalled: a lost signal stops it within stopCheckMs", async () => {
        const engine = opened(kind.open())
        const other = opened(kind.nodeBeside(engine))
        const here = generationsOn(engine, { stopCheckMs: 50 })
        // Stalled before their first token: no append will come to report the flag. More than one
        // batch of checks, one flagged in each.
        const stalled = Array.from({ length: 40 }, () => endless({ everyMs: 60_000 }))
        const runs = await Promise.all(
          stalled.map(({ provider }) => here.start({ provider, request: REQUEST, meta: META })),
        )
        await sleep(20)
        const flagged = [3, 35]
        // The flag without the signal, as when the signal is lost.
        for (const i of flagged) await other.requestStop(runs[i]?.log ?? "")
        const flaggedAt = performance.now()
        for (const i of flagged) {
          expect(await runs[i]?.ended).toMatchObject({ status: "cancelled" })
          expect(stalled[i]?.state.closed).toBe(true)
        }
        // Within a check or two (50 ms each); the bound is loose for a busy machine.
        expect(performance.now() - flaggedAt).toBeLessThan(2_000)
        await sleep(100)
        expect(runs.filter((run) => run.running)).toHaveLength(38)
      })

      it("is closed as interrupted by a node following it once its node's lease ran out, fencing that node", async () => {
        const engine = opened(kind.open())
        // The running node stops renewing its lease, as a dead or cut-off node does; its upstream goes on.
        let renewing = true
        const dying = replacing(engine, {
          holdLease: (...args) => (renewing ? engine.holdLease(...args) : Promise.resolve()),
        })
        const observed: { end: unknown; measured: GenerationStats | undefined }[] = []
        const running = generationsOn(dying, {
          leaseMs: 150,
          observer: {
            started: () => {},
            reaped: () => {},
            ended: (_model, end, measured) => void observed.push({ end, measured }),
          },
        })
        const follower = generationsOn(opened(kind.nodeBeside(engine)), { leaseMs: 150 })
        const { provider, state } = endless({ everyMs: 5 })
        const run = await running.start({ provider, request: REQUEST, meta: META })
        await sleep(30)
        renewing = false
        const since = Date.now()
        const stopFollowing = follower.watch(run.id)
        await expect
          .poll(async () => (await engine.head(run.log))?.closed, { timeout: 2000, interval: 5 })
          .toBe(true)
        // Not before the lease ran out: renewed at most 50 ms before, for 150 ms.
        expect(Date.now() - since).toBeGreaterThanOrEqual(100)
        stopFollowing()
        // Its next append is fenced: it stops reading, and writes no end of its own.
        expect(await run.ended).toBeUndefined()
        expect(state.closed).toBe(true)
        const entries = await entriesOf(engine, run.log)
        expect(entries.filter((entry) => entry.type === "end")).toHaveLength(1)
        expect(entries.at(-1)).toMatchObject({ status: "interrupted", error: { type: "interrupted" } })
        // Its end says how far it got, measured from what its log holds: the node that wrote
        // it saw none of it.
        const deltas = entries.filter((entry) => entry.type === "text-delta").length
        expect(deltas).toBeGreaterThan(1)
        const { stats } = entries.at(-1) as Extract<StoredEntry, { type: "end" }>
        // What the log held when the closing node read it: the dying node's last append may
        // land between that read and the fenced close.
        expect(stats.usage.source).toBe("estimated")
        expect(stats.usage.outputTokens).toBeGreaterThan(1)
        expect(stats.usage.outputTokens).toBeLessThanOrEqual(deltas)
        expect(stats.timeToFirstTokenMs).toBeGreaterThanOrEqual(0)
        expect(stats.tokensPerSecond).toBeGreaterThan(0)
        // The fenced node counts it lost, with the output it read for it: made all the same.
        await expect.poll(() => observed.length).toBe(1)
        expect(observed[0]?.end).toBeUndefined()
        expect(observed[0]?.measured?.usage.outputTokens).toBeGreaterThanOrEqual(state.pulled - 1)
      })

      it("closes a dead node's generation that nobody reads: on a node started after it died, and on one beside it", async () => {
        const engine = opened(kind.open())
        /** A node on `store` that stops renewing its lease when told: dead, or cut off. */
        const mortal = (store: Engine) => {
          const life = { renewing: true }
          const node = generationsOn(
            replacing(store, {
              holdLease: (...args) => (life.renewing ? store.holdLease(...args) : Promise.resolve()),
            }),
            { leaseMs: 150 },
          )
          return { node, life }
        }
        const closedAs = async (log: string) => {
          await expect
            .poll(async () => (await engine.head(log))?.closed, { timeout: 3000, interval: 10 })
            .toBe(true)
          return (await entriesOf(engine, log)).at(-1)
        }
        const interrupted = { type: "end", status: "interrupted", error: { type: "interrupted" } }

        // Stalled, and read by nobody: no append and no reader will notice its node died.
        const first = mortal(engine)
        const orphan = await first.node.start({
          provider: endless({ everyMs: 60_000 }).provider,
          request: REQUEST,
          meta: META,
        })
        first.life.renewing = false
        await sleep(300)
        expect((await engine.head(orphan.log))?.closed).toBe(false)
        // A node started now finds it on its first look.
        generationsOn(opened(kind.nodeBeside(engine)), { leaseMs: 150 })
        expect(await closedAs(orphan.log)).toMatchObject(interrupted)

        // That node, running beside another, sees it die.
        const second = mortal(opened(kind.nodeBeside(engine)))
        const unread = await second.node.start({
          provider: endless({ everyMs: 60_000 }).provider,
          request: REQUEST,
          meta: META,
        })
        await sleep(150)
        expect((await engine.head(unread.log))?.closed).toBe(false)
        second.life.renewing = false
        expect(await closedAs(unread.log)).toMatchObject(interrupted)
        // Their markers went with them: they count for their subject no more.
        await expect
          .poll(async () => (await engine.list({ prefix: "ai/run/", limit: 10 })).logs, {
            timeout: 3000,
            interval: 10,
          })
          .toEqual([])
      })

      it("a reader that closes a dead node's generation takes its marker along", async () => {
        const engine = opened(kind.open())
        let renewing = true
        const dying = generationsOn(
          replacing(engine, {
            holdLease: (...args) => (renewing ? engine.holdLease(...args) : Promise.resolve()),
          }),
          { leaseMs: 150 },
        )
        const run = await dying.start({
          provider: endless({ everyMs: 60_000 }).provider,
          request: REQUEST,
          meta: META,
        })
        renewing = false
        await sleep(300)
        // A reader on a node started after the death (its scan has not run yet) closes it.
        const reader = generationsOn(opened(kind.nodeBeside(engine)), { leaseMs: 60_000 })
        const head = await engine.head(run.log)
        expect(await reader.reapIfOrphaned(run.id, head as LogHead)).toBe(true)
        expect((await engine.list({ prefix: "ai/run/", limit: 10 })).logs).toEqual([])
      })

      it("a start that fails and cannot be undone at once leaves nothing open nor marked", async () => {
        const engine = opened(kind.open())
        let refuseOneDelete = false
        const node = generationsOn(
          replacing(engine, {
            delete: (log) => {
              if (refuseOneDelete) {
                refuseOneDelete = false
                return Promise.reject(new Error("the store is away"))
              }
              return engine.delete(log)
            },
          }),
          { leaseMs: 150 },
        )
        // Past the node's first look for dead nodes.
        await node.start({ provider: endless({ count: 1 }).provider, request: REQUEST, meta: META })
        await sleep(200)
        expect((await engine.list({ prefix: "ai/run/", limit: 10 })).logs).toEqual([])
        // Undoing it fails at its first step (the log's delete).
        refuseOneDelete = true
        const id = "unclaimed-generation-0000"
        await expect(
          node.start({
            id,
            provider: endless().provider,
            request: REQUEST,
            meta: META,
            claim: async () => false,
          }),
        ).rejects.toThrow(/another request claimed/)
        await expect
          .poll(async () => (await engine.list({ prefix: "ai/run/", limit: 10 })).logs, {
            timeout: 3000,
            interval: 10,
          })
          .toEqual([])
        expect((await engine.head(generationLog(id)))?.closed ?? true).toBe(true)
      })

      it("a start of an id that runs already fails and leaves the running one and its marker alone", async () => {
        const engine = opened(kind.open())
        const node = generationsOn(engine)
        const first = await node.start({
          id: "twice-started-generation",
          provider: endless({ everyMs: 60_000 }).provider,
          request: REQUEST,
          meta: META,
        })
        await expect(
          node.start({ id: first.id, provider: endless().provider, request: REQUEST, meta: META }),
        ).rejects.toThrow(/exists already/)
        expect((await engine.head(first.log))?.closed).toBe(false)
        expect((await engine.list({ prefix: "ai/run/", limit: 10 })).logs.map((log) => log.name)).toEqual([
          runningMarker(META.owner, first.id),
        ])
      })

      it("lets its upstream go when another node closed or deleted the generation while its upstream stalls", async () => {
        const engine = opened(kind.open())
        const node = generationsOn(engine, { stopCheckMs: 50 })
        const [deleted, closed] = [endless({ everyMs: 60_000 }), endless({ everyMs: 60_000 })]
        const runs = await Promise.all(
          [deleted, closed].map(({ provider }) => node.start({ provider, request: REQUEST, meta: META })),
        )
        await sleep(20)
        await engine.delete(runs[0]?.log ?? "")
        // As a node that took it over does: its end, and the log closed.
        await engine.append(runs[1]?.log ?? "", [{ data: "taken over" }], { close: true })
        for (const [i, upstream] of [deleted, closed].entries()) {
          expect(await runs[i]?.ended).toBeUndefined()
          expect(upstream.state.closed).toBe(true)
        }
      })

      it("keeps a running marker while a generation runs and none once it ended; an end not stored is written by the next scan", async () => {
        const engine = opened(kind.open())
        const markers = async () =>
          (await engine.list({ prefix: "ai/run/", limit: 10 })).logs.map((log) => log.name)
        let refuseOneEnd = true
        const counted: string[] = []
        const node = generationsOn(
          replacing(engine, {
            append: (log, entries, options) => {
              if (options?.close === true && refuseOneEnd) {
                refuseOneEnd = false
                return Promise.reject(new Error("the store is away"))
              }
              return engine.append(log, entries, options)
            },
          }),
          {
            leaseMs: 150,
            observer: {
              started: () => counted.push("started"),
              ended: (_model, end) => counted.push(end?.status ?? "lost"),
              reaped: () => counted.push("reaped"),
            },
          },
        )
        const stalled = endless({ everyMs: 60_000 })
        const running = await node.start({ provider: stalled.provider, request: REQUEST, meta: META })
        expect(await markers()).toEqual([runningMarker(META.owner, running.id)])
        // Past the node's first look for dead nodes, which found it running.
        await sleep(200)
        // Its end is refused once: the log stays open, and so does its marker, until the scan,
        // which writes the end the run came to, not that its node stopped.
        running.stop("cancelled", "test")
        expect(await running.ended).toBeUndefined()
        await expect
          .poll(async () => (await engine.head(running.log))?.closed, { timeout: 3000, interval: 10 })
          .toBe(true)
        expect((await entriesOf(engine, running.log)).at(-1)).toMatchObject({
          type: "end",
          status: "cancelled",
          error: { message: "test" },
        })
        // Counted once, when it ended: the scan that stored its end adds no interrupted one.
        expect(counted).toEqual(["started", "lost"])
        await expect.poll(markers, { timeout: 3000, interval: 10 }).toEqual([])
        // One that ends well takes its marker along.
        const short = await node.start({
          provider: endless({ count: 3 }).provider,
          request: REQUEST,
          meta: META,
        })
        expect(await short.ended).toMatchObject({ status: "done" })
        await expect.poll(markers, { timeout: 3000, interval: 10 }).toEqual([])
      })

      it("closes what an earlier process with the same node id left open, and none of what it runs", async () => {
        const engine = opened(kind.open())
        // As a process killed mid-answer left it: open, owned by its id, holding a token.
        const left = generationLog("left-by-an-earlier-process")
        await engine.create(runningMarker(META.owner, "left-by-an-earlier-process"), { owner: "fixed-id" })
        await engine.create(left, { owner: "fixed-id", ttlMs: 60_000 })
        await engine.append(left, [{ data: serializeEntry({ type: "text-delta", text: "half" }) }])
        const restarted = generationsOn(engine, { node: "fixed-id", leaseMs: 150 })
        const running = await restarted.start({
          provider: endless({ everyMs: 60_000 }).provider,
          request: REQUEST,
          meta: META,
        })
        await expect
          .poll(async () => (await engine.head(left))?.closed, { timeout: 3000, interval: 10 })
          .toBe(true)
        expect((await entriesOf(engine, left)).at(-1)).toMatchObject({ type: "end", status: "interrupted" })
        await sleep(150)
        expect((await engine.head(running.log))?.closed).toBe(false)
      })

      it("takes its lease once when its first generations start together, and leaves nothing renewing it after close", async () => {
        const engine = opened(kind.open())
        const node = generationsOn(engine, { node: "together", leaseMs: 90 })
        const runs = await Promise.all(
          [1, 2, 3].map(() =>
            node.start({ provider: endless({ count: 1 }).provider, request: REQUEST, meta: META }),
          ),
        )
        await Promise.all(runs.map((run) => run.ended))
        expect(await engine.liveNodes()).toContain("together")
        await node.close({ deadlineMs: 0 })
        expect(await engine.liveNodes()).not.toContain("together")
        // Past two renewals: a timer left behind would have taken the lease again.
        await sleep(120)
        expect(await engine.liveNodes()).not.toContain("together")
      })

      it("a shutdown lets generations finish within the deadline, then marks the rest interrupted", async () => {
        const engine = opened(kind.open())
        const node = generationsOn(engine)
        const short = endless({ count: 5, everyMs: 1 })
        const long = endless({ everyMs: 5 })
        const finishing = await node.start({ provider: short.provider, request: REQUEST, meta: META })
        const stalled = await node.start({ provider: long.provider, request: REQUEST, meta: META })
        await node.close({ deadlineMs: 100 })
        expect(await finishing.ended).toMatchObject({ status: "done" })
        expect(await stalled.ended).toMatchObject({ status: "interrupted" })
        await expect(node.start({ provider: short.provider, request: REQUEST, meta: META })).rejects.toThrow(
          /shutting down/,
        )
      })

      it("refuses a start that a shutdown overtook while its logs were being made, and leaves none behind", async () => {
        const engine = opened(kind.open())
        const slowCreates = replacing(engine, {
          create: async (...args) => {
            await sleep(40)
            return engine.create(...args)
          },
        })
        const node = generationsOn(slowCreates)
        // The lease first, so that the start below is past the shutdown's first check.
        const first = await node.start({
          provider: endless({ count: 1 }).provider,
          request: REQUEST,
          meta: META,
        })
        await first.ended
        const { provider, state } = endless({ everyMs: 1 })
        const starting = node.start({ provider, request: REQUEST, meta: META, id: "overtaken" })
        const outcome = starting.then(
          () => "started",
          (error: Error) => error.message,
        )
        await sleep(10)
        await node.close({ deadlineMs: 0 })
        expect(await outcome).toMatch(/shutting down/)
        expect(node.running("overtaken")).toBeUndefined()
        expect(state.pulled).toBe(0)
        expect(await engine.head(generationLog("overtaken"))).toBeUndefined()
      })

      it("stops after the disconnect grace when the last viewer left and none came back", async () => {
        const engine = opened(kind.open())
        const node = generationsOn(engine, { disconnectGraceMs: 40 })
        const { provider } = endless({ everyMs: 1 })
        const run = await node.start({ provider, request: REQUEST, meta: META })
        const leave = run.attachViewer()
        leave()
        const back = run.attachViewer()
        await sleep(80)
        expect(run.running).toBe(true)
        back()
        expect(await run.ended).toMatchObject({ status: "cancelled" })
      })
    })

    describe("a node's generation activity", () => {
      it("lists the running generations with their numbers so far, then the ended ones, newest first", async () => {
        const engine = opened(kind.open())
        const node = generationsOn(engine)
        const slow = endless({ everyMs: 5 })
        const running = await node.start({ provider: slow.provider, request: REQUEST, meta: META })
        await running.started
        await sleep(30)
        const [summary] = node.activity().running
        expect(summary).toMatchObject({
          id: running.id,
          model: "m",
          status: "running",
          startedAt: META.createdAt,
        })
        expect(summary?.stats.timeToFirstTokenMs).toBeGreaterThanOrEqual(0)
        expect(summary?.stats.usage.outputTokens).toBeGreaterThan(0)
        expect(node.activity().recent).toEqual([])

        const quick = await node.start({
          provider: endless({ count: 3 }).provider,
          request: REQUEST,
          meta: META,
        })
        await quick.ended
        await node.cancel(running.id)
        await running.ended
        // Settled after `ended` resolves: the lists are updated in its continuations.
        await sleep(0)
        const { running: still, recent } = node.activity()
        expect(still).toEqual([])
        expect(recent.map((each) => [each.id, each.status])).toEqual([
          [running.id, "cancelled"],
          [quick.id, "done"],
        ])
        expect(recent[1]?.stats.usage).toEqual({ outputTokens: 3, source: "estimated" })
      })
    })
  })
}

describe("a generation's measures", () => {
  it("while it runs, counts its rate up to now: a pause after two quick tokens is not 1000 tokens/s", () => {
    const stats = new StatsRecorder(0)
    stats.observe({ type: "text-delta", text: "a" }, 100)
    stats.observe({ type: "text-delta", text: "b" }, 101)
    expect(stats.progress(1_101)).toMatchObject({
      timeToFirstTokenMs: 100,
      tokensPerSecond: 1,
      durationMs: 1_101,
    })
    // Once ended, the rate is over the time the tokens took.
    expect(stats.finish(1_101)).toMatchObject({
      timeToFirstTokenMs: 100,
      tokensPerSecond: 1000,
      durationMs: 1_101,
    })
    expect(new StatsRecorder(0).progress(50)).toEqual({
      durationMs: 50,
      usage: { outputTokens: 0, source: "estimated" },
    })
  })

  it("counts the deltas when the provider's count is one told before a cut: Anthropic's message_start says 1", () => {
    const stats = new StatsRecorder(0)
    stats.observe({ type: "usage", inputTokens: 25, outputTokens: 1 }, 10)
    for (let i = 0; i < 17; i++) stats.observe({ type: "text-delta", text: "x" }, 100 + i * 50)
    expect(stats.finish(1_000)).toMatchObject({
      usage: { inputTokens: 25, outputTokens: 17, source: "estimated" },
      tokensPerSecond: 20,
    })
    // The final count, once it came, is the provider's.
    stats.observe({ type: "usage", outputTokens: 30 }, 950)
    expect(stats.finish(1_000).usage).toEqual({ inputTokens: 25, outputTokens: 30, source: "provider" })
    // Also below the deltas, when chunks smaller than tokens outnumber it: it came after them.
    const small = new StatsRecorder(0)
    for (let i = 0; i < 8; i++) small.observe({ type: "tool-call-delta", index: 0, arguments: "{" }, 10 + i)
    small.observe({ type: "usage", outputTokens: 6 }, 20)
    expect(small.finish(20).usage).toEqual({ outputTokens: 6, source: "provider" })
  })

  it("leaves reasoning the provider counted but never streamed out of the rate: it came before the first output", () => {
    const hidden = new StatsRecorder(0)
    for (let i = 0; i < 21; i++) hidden.observe({ type: "text-delta", text: "x" }, 2_000 + i * 50)
    hidden.observe({ type: "usage", outputTokens: 421, reasoningTokens: 400 }, 3_000)
    expect(hidden.finish(3_000)).toMatchObject({
      usage: { outputTokens: 421, source: "provider" },
      tokensPerSecond: 20,
    })
    // Streamed reasoning is part of the output's time: counted.
    const shown = new StatsRecorder(0)
    shown.observe({ type: "reasoning-delta", text: "hmm" }, 1_000)
    shown.observe({ type: "text-delta", text: "x" }, 2_000)
    shown.observe({ type: "usage", outputTokens: 101, reasoningTokens: 80 }, 2_000)
    expect(shown.finish(2_000).tokensPerSecond).toBe(100)
  })
})

describe("a generation's tool calls recorded for the reasoning memory", () => {
  it("are stored before its finish, which a client may act on before the end", async () => {
    const engine = opened(createMemoryEngine())
    let release!: () => void
    const records = new Promise<void>((resolve) => {
      release = resolve
    })
    const provider: Provider = {
      kind: "test",
      async *stream() {
        yield { type: "tool-call-start", index: 0, id: "call_a", name: "f" } satisfies Entry
        yield { type: "tool-call-end", index: 0, arguments: "{}" } satisfies Entry
        yield { type: "finish", reason: "tool_calls", rawReason: "tool_calls" } satisfies Entry
      },
    }
    const run = await generationsOn(engine, { storeTimeoutMs: 10_000 }).start({
      provider,
      request: REQUEST,
      meta: META,
      recorder: { observe: () => {}, settled: () => records },
    })
    await sleep(150)
    const types = async () => (await entriesOf(engine, run.log)).map((entry) => entry.type)
    expect(await types()).toEqual(["tool-call-start", "tool-call-end"])
    release()
    await run.ended
    expect(await types()).toEqual(["tool-call-start", "tool-call-end", "finish", "end"])
  })

  it("are waited for before the end, no longer than an append may take", async () => {
    const engine = opened(createMemoryEngine())
    const observed: Entry["type"][] = []
    let settledCalls = 0
    const recorder = {
      observe: (entry: Entry) => void observed.push(entry.type),
      settled: () => {
        settledCalls++
        return new Promise<void>(() => {})
      },
    }
    const { provider } = endless({ count: 3 })
    const started = performance.now()
    const run = await generationsOn(engine, { storeTimeoutMs: 300 }).start({
      provider,
      request: REQUEST,
      meta: META,
      recorder,
    })
    expect(await run.ended).toMatchObject({ type: "end", status: "done" })
    const took = performance.now() - started
    expect(took).toBeGreaterThanOrEqual(290)
    expect(took).toBeLessThan(5_000)
    // Waited for at the finish, in vain: not again before the end.
    expect(settledCalls).toBe(1)
    expect(observed.filter((type) => type === "text-delta")).toHaveLength(3)
  })
})

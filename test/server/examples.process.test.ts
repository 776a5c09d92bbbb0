// Each examples/server-*.js is started as its own process (as a user would run it, importing the
// built package), on port 0, and must serve resumable events and shut down gracefully.
import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { afterAll, describe, expect, it } from "vitest"
import { openStream, waitUntil } from "./helpers.js"

const children: ChildProcess[] = []
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
})

async function startExample(file: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [`examples/${file}`], {
    env: { ...process.env, PORT: "0", TICK_MS: "20" },
    stdio: ["ignore", "pipe", "inherit"],
  })
  children.push(child)
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  const line = await waitUntil(
    () => {
      if (child.exitCode !== null) {
        throw new Error(
          `examples/${file} exited (${child.exitCode}) before listening — run \`npm run build\` first: it imports herald/server from dist/.`,
        )
      }
      return /listening on (\S+)/.test(output)
    },
    () => output,
    15_000,
  )
  return { child, url: (/listening on (\S+)/.exec(line)?.[1] ?? "").replace(/\/$/, "") }
}

describe.each(["server-node.js", "server-express.js", "server-fastify.js", "server-hono.js"])(
  "examples/%s",
  (file) => {
    it("streams ticks, replays from Last-Event-ID, and shuts down gracefully", async () => {
      const { child, url } = await startExample(file)
      const first = await openStream(`${url}/events`)
      expect(first.status).toBe(200)
      expect(first.headers["content-type"]).toBe("text/event-stream; charset=utf-8")
      const [tick] = await first.waitForEvents(3)
      expect(tick?.type).toBe("tick")
      first.close()
      // Resume from the first tick: the ones after it are replayed, in order, no gap.
      const resumed = await openStream(`${url}/events`, { "last-event-id": tick?.lastEventId ?? "" })
      const replayed = await resumed.waitForEvents(2)
      expect(replayed[0]?.lastEventId).toBe(first.events[1]?.lastEventId)
      const exited = once(child, "exit")
      child.kill("SIGTERM")
      await resumed.ended
      expect(resumed.retries.at(-1)).toBe(1000)
      expect((await exited)[0]).toBe(0)
    })
  },
)

describe("examples/server-node.js /story", () => {
  it("pipes a token stream and ends it", async () => {
    const { child, url } = await startExample("server-node.js")
    const story = await openStream(`${url}/story`)
    await story.ended
    expect(story.events.map((event) => event.data).join(" ")).toBe(
      "Once upon a time a stream survived a reconnect",
    )
    child.kill("SIGTERM")
    await once(child, "exit")
  })
})

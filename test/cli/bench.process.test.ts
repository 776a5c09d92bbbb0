import { readFileSync } from "node:fs"
import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { heraldDone, startHub, tempCwd, useCliProcesses } from "./cli-helpers.js"

useCliProcesses()

/** Short runs: the machine is shared; --warmup 0 keeps the publish count exact. */
const SHORT = ["--warmup", "0", "--drain", "2s"]

describe("herald bench", () => {
  it("against herald serve: every delivery counted once, the JSON adds up, exit 0", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd })
    const run = await heraldDone(
      ["bench", hub.hubUrl, "-n", "20", "-r", "20", "-d", "2s", "--json", ...SHORT],
      {
        cwd,
      },
    )
    expect(run.code, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report.subscribers).toEqual({ requested: 20, connected: 20, reconnects: 0 })
    expect(report.publishes).toEqual({ planned: 40, sent: 40, acknowledged: 40, failed: 0 })
    expect(report.deliveries).toMatchObject({ expected: 800, received: 800, missing: 0, duplicated: 0 })
    expect(report.deliveries.perSecond).toBeGreaterThan(0)
    const { p50, p95, p99, max } = report.latencyMs
    expect(0 <= p50 && p50 <= p95 && p95 <= p99 && p99 <= max).toBe(true)
    const perSecond = report.timeline.reduce(
      (sum: number, second: { deliveries: number }) => sum + second.deliveries,
      0,
    )
    expect(perSecond).toBe(800)
    expect(report.errors).toEqual({})
    expect(report.passed).toBe(true)
    hub.child.kill("SIGTERM")
  })

  it("spread over topics, with the table and an --svg chart", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd })
    const svgFile = join(cwd, "chart.svg")
    const run = await heraldDone(
      ["bench", hub.hubUrl, "-n", "6", "--topics", "3", "-r", "6", "-d", "1s", "--svg", svgFile, ...SHORT],
      { cwd },
    )
    expect(run.code, run.stderr).toBe(0)
    // 6 publishes, 2 per topic, each to the 2 subscribers of its topic.
    expect(run.stdout).toMatch(/deliveries\s+12 expected · 12 received · 0 missing · 0 duplicated/)
    expect(run.stdout).toMatch(/latency\s+p50 [\d.]+ ms · p95 [\d.]+ ms · p99 [\d.]+ ms · max [\d.]+ ms/)
    expect(run.stderr).toContain("herald bench: connecting 6 subscriber(s)…")
    const svg = readFileSync(svgFile, "utf8")
    expect(svg.startsWith("<svg")).toBe(true)
    expect(svg).toMatch(/<path d="M[\d.]+,[\d.]+/)
    hub.child.kill("SIGTERM")
  })

  it("against a hub that drops one delivery: missing 1, exit 1", async () => {
    const hub = await droppingHub()
    const run = await heraldDone(["bench", hub.url, "-n", "3", "-r", "5", "-d", "1s", "--json", ...SHORT], {
      cwd: tempCwd(),
    })
    expect(run.code, run.stdout + run.stderr).toBe(1)
    const report = JSON.parse(run.stdout)
    expect(report.deliveries).toMatchObject({ expected: 15, received: 14, missing: 1, duplicated: 0 })
    expect(report.passed).toBe(false)
  })

  it("usage errors exit 2 and say what to change", async () => {
    const cwd = tempCwd()
    const bareNumber = await heraldDone(["bench", "http://localhost:1", "-d", "10"], { cwd })
    expect(bareNumber.code).toBe(2)
    expect(bareNumber.stderr).toContain("a duration needs a unit: give 10s or 10ms")
    const tooMany = await heraldDone(["bench", "http://localhost:1", "-n", "20001"], { cwd })
    expect(tooMany.code).toBe(2)
    expect(tooMany.stderr).toContain("at most 20,000")
    const notUrl = await heraldDone(["bench", "localhost:8080"], { cwd })
    expect(notUrl.code).toBe(2)
  })
})

const servers: { close(): void }[] = []
afterAll(() => {
  for (const server of servers.splice(0)) server.close()
})

/**
 * Just enough Mercure for bench: GET streams every update to every subscriber, POST publishes
 * and answers the id. It skips the third measured update for its first subscriber.
 */
async function droppingHub(): Promise<{ url: string }> {
  const subscribers: ServerResponse[] = []
  let nextId = 0
  const server = createServer((request, response) => {
    if (request.method === "GET") {
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      response.write(":\n\n")
      subscribers.push(response)
      return
    }
    let body = ""
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString()
    })
    request.on("end", () => {
      const data = new URLSearchParams(body).get("data") ?? ""
      const id = `urn:uuid:${++nextId}`
      subscribers.forEach((subscriber, index) => {
        if (index === 0 && JSON.parse(data).seq === 2) return
        subscriber.write(`id: ${id}\ndata: ${data}\n\n`)
      })
      response.end(id)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  servers.push({ close: () => server.close() })
  server.on("close", () => {
    for (const subscriber of subscribers) subscriber.destroy()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/mercure` }
}

// herald doctor on a URL that answers with an error: diagnose() reads what the server says
// instead of watching an error document as a stream, and is done without waiting --duration.
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, expect, it } from "vitest"
import { diagnose } from "../../src/cli/doctor/diagnose.js"
import { renderJson } from "../../src/cli/doctor/render-json.js"
import { renderText } from "../../src/cli/doctor/render-text.js"

let server: Server
let base: string
beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === "/gone") {
      const body = gzipSync(
        JSON.stringify({ title: "Gone", status: 410, detail: "This feed moved to /v2/events." }),
      )
      response
        .writeHead(410, { "content-type": "application/problem+json", "content-encoding": "gzip" })
        .end(body)
      return
    }
    // A refusal whose body never ends: the doctor reads what came, within --timeout.
    if (request.url === "/endless") {
      response.writeHead(503, { "content-type": "text/plain" }).write("overloaded, come back later")
      return
    }
    response
      .writeHead(404, { "content-type": "application/problem+json" })
      .end(JSON.stringify({ title: "Not Found", status: 404, detail: "Nothing here. The hub answers at /." }))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const settings = (path: string) => ({
  url: new URL(`${base}${path}`),
  durationMs: 20_000,
  timeoutMs: 1000,
  insecure: false,
  mercure: undefined,
})

it("a 404: the response check quotes the problem's detail; the stream checks are skipped; no watch", async () => {
  const started = Date.now()
  const diagnosis = await diagnose(settings("/nope"))
  expect(Date.now() - started).toBeLessThan(5000)
  const [response, ...rest] = diagnosis.checks
  expect(response?.id).toBe("response")
  expect(response?.reason).toMatch(
    /^404: EventSource fails .*; the server says: Nothing here\. The hub answers at \/\.$/,
  )
  expect(rest.map((check) => check.verdict)).toEqual(rest.map(() => "skip"))
  const text = renderText(diagnosis, { color: false })
  expect(text).toContain("HTTP/1.1 404 · application/problem+json\n")
  expect(text).not.toContain("watched")
  expect(text).toContain("1 fail · 0 warn · 0 pass · 14 skipped")
  expect(JSON.parse(renderJson(diagnosis)).response.body).toContain(
    '"detail":"Nothing here. The hub answers at /."',
  )
})

it("reads a compressed refusal, and one whose body never ends only until --timeout", async () => {
  const gone = await diagnose(settings("/gone"))
  expect(gone.checks[0]?.reason).toMatch(/; the server says: This feed moved to \/v2\/events\.$/)
  const started = Date.now()
  const endless = await diagnose(settings("/endless"))
  expect(Date.now() - started).toBeLessThan(5000)
  expect(endless.checks[0]?.reason).toMatch(/^503: .*; the server says: overloaded, come back later$/)
})

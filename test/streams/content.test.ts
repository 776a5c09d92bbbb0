// What a stream keeps of a body. JSON mode refuses a body that is not UTF-8 with a 400 naming the
// problem and stores nothing (RFC 8259 requires UTF-8, and a byte replaced by U+FFFD would change
// a message unnoticed), on POST and on PUT. Byte and text streams keep the bytes as sent, whatever
// they are: a text stream's charset is its writer's, and an append may end mid-character.
import { afterEach, describe, expect, it } from "vitest"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

let served: ServedStreams | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
})

const JSON_TYPE = { "content-type": "application/json" }

/** Bytes: `text` as UTF-8, with each `\xNN` of it the raw byte NN. */
function bytes(text: string): Buffer<ArrayBuffer> {
  const parts = text.split(/\\x([0-9a-f]{2})/i)
  return Buffer.from(
    parts.flatMap((part, index) => (index % 2 === 1 ? [Number.parseInt(part, 16)] : [...Buffer.from(part)])),
  )
}

async function expectNotUtf8(response: Response): Promise<void> {
  expect(response.status).toBe(400)
  expect(response.headers.get("content-type")).toBe("application/problem+json")
  expect(((await response.json()) as { detail: string }).detail).toMatch(/not valid UTF-8/)
}

describe("a JSON stream", () => {
  it.each([
    ['"a\\xffb"', "a byte that never starts a character"],
    ['"a\\xe2\\x82"', "a character cut short"],
    ['"\\xc0\\xaf"', "an overlong encoding"],
    ['"\\xed\\xa0\\x80"', "an encoded surrogate"],
  ])("refuses an append of %s (%s) with a 400, storing nothing", async (body) => {
    served = await serveStreams(createMemoryEngine())
    const url = `${served.baseUrl}/v1/stream/u8`
    expect((await fetch(url, { method: "PUT", headers: JSON_TYPE })).status).toBe(201)
    await expectNotUtf8(await fetch(url, { method: "POST", headers: JSON_TYPE, body: bytes(body) }))
    expect(await (await fetch(`${url}?offset=-1`)).text()).toBe("[]")
  })

  it("refuses a creation whose first messages are not UTF-8, creating nothing", async () => {
    served = await serveStreams(createMemoryEngine())
    const url = `${served.baseUrl}/v1/stream/u8`
    await expectNotUtf8(await fetch(url, { method: "PUT", headers: JSON_TYPE, body: bytes('["a\\xffb"]') }))
    expect((await fetch(url, { method: "HEAD" })).status).toBe(404)
  })

  it("keeps UTF-8 of every length as sent", async () => {
    served = await serveStreams(createMemoryEngine())
    const url = `${served.baseUrl}/v1/stream/u8`
    expect((await fetch(url, { method: "PUT", headers: JSON_TYPE })).status).toBe(201)
    const message = "a é € 😀"
    const body = Buffer.from(JSON.stringify(message))
    expect((await fetch(url, { method: "POST", headers: JSON_TYPE, body })).status).toBe(204)
    expect(await (await fetch(`${url}?offset=-1`)).json()).toEqual([message])
  })
})

describe("a text stream", () => {
  it("keeps its bytes as sent, UTF-8 or not, and a character split across appends", async () => {
    served = await serveStreams(createMemoryEngine())
    const url = `${served.baseUrl}/v1/stream/text`
    const text = { "content-type": "text/plain" }
    expect((await fetch(url, { method: "PUT", headers: text, body: bytes("a\\xffb") })).status).toBe(201)
    // "€" is E2 82 AC: its first two bytes in one append, the last in the next.
    expect((await fetch(url, { method: "POST", headers: text, body: bytes("\\xe2\\x82") })).status).toBe(204)
    expect((await fetch(url, { method: "POST", headers: text, body: bytes("\\xac") })).status).toBe(204)
    const read = Buffer.from(await (await fetch(`${url}?offset=-1`)).arrayBuffer())
    expect(read).toEqual(bytes("a\\xffb\\xe2\\x82\\xac"))
  })
})

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

// JSON.stringify recurses: a body nested past the bound is refused before it is parsed, with a
// 400 that says so, instead of a 500 "Maximum call stack size exceeded".
describe("a JSON body nested deeper than maxBodyDepth", () => {
  const deepArray = `${"[".repeat(200_000)}${"]".repeat(200_000)}`
  const deepObjectWithNewline = `${'{"a":'.repeat(100_000)}\n1${"}".repeat(100_000)}`

  async function expectTooDeep(response: Response, maxDepth: number): Promise<void> {
    expect(response.status).toBe(400)
    const { detail } = (await response.json()) as { detail: string }
    expect(detail).toContain(`more than ${maxDepth} levels deep`)
  }

  it.each([
    ["an array 200 000 deep", deepArray],
    ["an object 100 000 deep with a line break", deepObjectWithNewline],
  ])("refuses %s with a 400 on POST and on PUT, storing nothing", async (_, body) => {
    served = await serveStreams(createMemoryEngine())
    const url = `${served.baseUrl}/v1/stream/deep`
    await expectTooDeep(await fetch(url, { method: "PUT", headers: JSON_TYPE, body }), 64)
    expect((await fetch(url, { method: "HEAD" })).status).toBe(404)
    expect((await fetch(url, { method: "PUT", headers: JSON_TYPE })).status).toBe(201)
    await expectTooDeep(await fetch(url, { method: "POST", headers: JSON_TYPE, body }), 64)
    expect(await (await fetch(`${url}?offset=-1`)).text()).toBe("[]")
  })

  it("takes the bound from the limits, and does not count brackets inside strings", async () => {
    served = await serveStreams(createMemoryEngine(), { limits: { maxBodyDepth: 3 } })
    const url = `${served.baseUrl}/v1/stream/deep`
    expect((await fetch(url, { method: "PUT", headers: JSON_TYPE })).status).toBe(201)
    const post = (body: string) => fetch(url, { method: "POST", headers: JSON_TYPE, body })
    expect((await post('[[[1]], "[[[[\\"[["]')).status).toBe(204)
    await expectTooDeep(await post("[[[[1]]]]"), 3)
    expect(await (await fetch(`${url}?offset=-1`)).json()).toEqual([[[1]], '[[[["[['])
  })

  it("forks at a sub-offset inside an append however deep its messages nest", async () => {
    // A bound raised past what JSON.stringify can take (as an append stored before the bound
    // existed): the fork cuts the append's text between messages without parsing it.
    served = await serveStreams(createMemoryEngine(), { limits: { maxBodyDepth: 1_000_000 } })
    const source = `${served.baseUrl}/v1/stream/deep`
    const deep = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`
    expect((await fetch(source, { method: "PUT", headers: JSON_TYPE, body: deep })).status).toBe(201)
    const fork = await fetch(`${served.baseUrl}/v1/stream/deep-fork`, {
      method: "PUT",
      headers: {
        ...JSON_TYPE,
        "stream-forked-from": "/v1/stream/deep",
        "stream-fork-offset": "-1",
        "stream-fork-sub-offset": "1",
      },
    })
    expect(fork.status).toBe(201)
    const read = await (await fetch(`${served.baseUrl}/v1/stream/deep-fork?offset=-1`)).text()
    expect(read).toBe(`[${deep}]`)
  })

  it("forks at a sub-offset between messages, strings with commas and brackets kept whole", async () => {
    served = await serveStreams(createMemoryEngine())
    const source = `${served.baseUrl}/v1/stream/messages`
    const body = '[{"a":[1,2]},"x,]y\\"",3]'
    expect((await fetch(source, { method: "PUT", headers: JSON_TYPE, body })).status).toBe(201)
    for (const [sub, expected] of [
      ["1", [{ a: [1, 2] }]],
      ["2", [{ a: [1, 2] }, 'x,]y"']],
      ["3", [{ a: [1, 2] }, 'x,]y"', 3]],
    ] as const) {
      const fork = `${served.baseUrl}/v1/stream/messages-${sub}`
      const created = await fetch(fork, {
        method: "PUT",
        headers: {
          ...JSON_TYPE,
          "stream-forked-from": "/v1/stream/messages",
          "stream-fork-offset": "-1",
          "stream-fork-sub-offset": sub,
        },
      })
      expect(created.status).toBe(201)
      expect(await (await fetch(`${fork}?offset=-1`)).json()).toEqual(expected)
    }
    const past = await fetch(`${served.baseUrl}/v1/stream/messages-4`, {
      method: "PUT",
      headers: {
        ...JSON_TYPE,
        "stream-forked-from": "/v1/stream/messages",
        "stream-fork-offset": "-1",
        "stream-fork-sub-offset": "4",
      },
    })
    expect(past.status).toBe(400)
  })
})

// JSON.parse of an object of 500 000 keys holds the event loop for half a second: a body with an
// object of more keys than the bound is refused before it is parsed, with a 400 that says so.
describe("a JSON body with an object of more keys than maxBodyKeys", () => {
  /** An object of `count` keys. */
  const keys = (count: number) => `{${Array.from({ length: count }, (_, at) => `"k${at}":0`).join(",")}}`

  async function expectTooManyKeys(response: Response, maxKeys: number): Promise<void> {
    expect(response.status).toBe(400)
    const { detail } = (await response.json()) as { detail: string }
    expect(detail).toContain(`more than ${maxKeys} keys`)
    expect(detail).toContain("--streams-max-body-keys")
  }

  it("refuses one of 500 000 keys with a 400 on POST and on PUT, storing nothing; one of 10 000 is stored", async () => {
    served = await serveStreams(createMemoryEngine())
    const url = `${served.baseUrl}/v1/stream/keys`
    const many = `[1,${keys(500_000)}]`
    await expectTooManyKeys(await fetch(url, { method: "PUT", headers: JSON_TYPE, body: many }), 10_000)
    expect((await fetch(url, { method: "HEAD" })).status).toBe(404)
    expect((await fetch(url, { method: "PUT", headers: JSON_TYPE })).status).toBe(201)
    await expectTooManyKeys(await fetch(url, { method: "POST", headers: JSON_TYPE, body: many }), 10_000)
    expect(await (await fetch(`${url}?offset=-1`)).text()).toBe("[]")
    const most = keys(10_000)
    expect((await fetch(url, { method: "POST", headers: JSON_TYPE, body: most })).status).toBe(204)
    expect(await (await fetch(`${url}?offset=-1`)).text()).toBe(`[${most}]`)
  })

  it("takes the bound from the limits, and counts neither an array's items nor commas inside strings", async () => {
    served = await serveStreams(createMemoryEngine(), { limits: { maxBodyKeys: 2 } })
    const url = `${served.baseUrl}/v1/stream/keys`
    expect((await fetch(url, { method: "PUT", headers: JSON_TYPE })).status).toBe(201)
    const post = (body: string) => fetch(url, { method: "POST", headers: JSON_TYPE, body })
    expect((await post('[1,2,3,{"a":",,,","b":{"c":1,"d":2}}]')).status).toBe(204)
    await expectTooManyKeys(await post('{"a":1,"b":2,"c":3}'), 2)
    expect(await (await fetch(`${url}?offset=-1`)).json()).toEqual([1, 2, 3, { a: ",,,", b: { c: 1, d: 2 } }])
  })
})

// JSON.parse of 8 MiB of `{}` (2.8 million values) holds the event loop for a second: a body of
// more values than the bound is refused before it is parsed, with a 400 that says so.
describe("a JSON body of more values than maxBodyValues", () => {
  /** `count` empty objects, comma-separated. */
  const empties = (count: number) => Array(count).fill("{}").join(",")

  async function expectTooManyValues(response: Response, maxValues: number): Promise<void> {
    expect(response.status).toBe(400)
    const { detail } = (await response.json()) as { detail: string }
    expect(detail).toContain(`more than ${maxValues} values`)
    expect(detail).toContain("--streams-max-body-values")
  }

  it("refuses 400 001 with a 400 on POST and on PUT, storing nothing; 400 000 are stored", async () => {
    served = await serveStreams(createMemoryEngine())
    const url = `${served.baseUrl}/v1/stream/values`
    const many = `[${empties(400_001)}]`
    await expectTooManyValues(await fetch(url, { method: "PUT", headers: JSON_TYPE, body: many }), 400_000)
    expect((await fetch(url, { method: "HEAD" })).status).toBe(404)
    expect((await fetch(url, { method: "PUT", headers: JSON_TYPE })).status).toBe(201)
    await expectTooManyValues(await fetch(url, { method: "POST", headers: JSON_TYPE, body: many }), 400_000)
    expect(await (await fetch(`${url}?offset=-1`)).text()).toBe("[]")
    const most = `[${empties(400_000)}]`
    expect((await fetch(url, { method: "POST", headers: JSON_TYPE, body: most })).status).toBe(204)
    expect(await (await fetch(`${url}?offset=-1`)).text()).toBe(most)
  })

  it("takes the bound from the limits, and counts every item and member at any depth, none inside strings", async () => {
    served = await serveStreams(createMemoryEngine(), { limits: { maxBodyValues: 6 } })
    const url = `${served.baseUrl}/v1/stream/values`
    expect((await fetch(url, { method: "PUT", headers: JSON_TYPE })).status).toBe(201)
    const post = (body: string) => fetch(url, { method: "POST", headers: JSON_TYPE, body })
    // 3 items, the object's 2 members, the inner array's 1 item.
    expect((await post('[1,"[2,3]",{"a":"{,}","b":[{}]}]')).status).toBe(204)
    await expectTooManyValues(await post('[1,2,{"a":3,"b":[4,5]}]'), 6)
    expect(await (await fetch(`${url}?offset=-1`)).json()).toEqual([1, "[2,3]", { a: "{,}", b: [{}] }])
  })
})

describe("a JSON stream's messages", () => {
  it("are stored as sent, so that a number past 2^53 or 1e400 survives; a line break between tokens becomes a space", async () => {
    served = await serveStreams(createMemoryEngine())
    const url = `${served.baseUrl}/v1/stream/numbers`
    const json = { "content-type": "application/json" }
    expect((await fetch(url, { method: "PUT", headers: json })).status).toBe(201)
    const bodies = [
      "[12345678901234567890, 1e400]",
      '{"id":\n 98765432109876543210}\r\n',
      '[{"a": "line\\nbreak"}]',
    ]
    for (const body of bodies)
      expect((await fetch(url, { method: "POST", headers: json, body })).status).toBe(204)
    const text = await (await fetch(`${url}?offset=-1`)).text()
    expect(text).toBe('[12345678901234567890, 1e400,{"id":  98765432109876543210},{"a": "line\\nbreak"}]')
    expect(JSON.parse(text)).toHaveLength(4)
  })
})

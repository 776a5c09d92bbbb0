// `herald publish` and `herald listen` against a running `herald serve`, all three real
// processes: the round trip, stdin data, alternate topics and private updates, errors, and a
// listener that outlives a hub restart and resumes from its last event (sqlite).
import { describe, expect, it } from "vitest"
import { MAX_SUBSCRIPTION_URL, subscriptionRequest } from "../../src/cli/listen.js"
import { freePort, herald, heraldDone, startHub, tempCwd, useCliProcesses } from "./cli-helpers.js"

useCliProcesses()

interface Received {
  time: string
  id: string
  type: string
  data: string
}

const lines = (output: string): Received[] =>
  output
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Received)

describe("herald publish + herald listen (dev mode: both read the dev secret)", () => {
  it("round trip: listen --count 2 gets both updates, in order, with ids and types, then exits 0", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd })
    const hubArg = ["--hub", hub.hubUrl]
    const topic = "https://example.com/books/1"
    const listen = herald(["listen", ...hubArg, "--json", "--count", "2", topic], { cwd })
    await listen.waitFor(/listening on /)

    const first = await heraldDone(["publish", ...hubArg, topic, '{"title":"Dune"}', "--type", "book"], {
      cwd,
    })
    expect(first.code).toBe(0)
    const firstId = first.stdout.trim()
    expect(firstId).toMatch(/^urn:uuid:/)
    // Another topic, not matched: the listener must not count it.
    expect((await heraldDone(["publish", ...hubArg, "https://example.com/other", "x"], { cwd })).code).toBe(0)
    const second = await heraldDone(["publish", ...hubArg, topic, "-", "--id", "book-1-v2"], {
      cwd,
      stdin: "from stdin\nline 2",
    })
    expect(second.code).toBe(0)
    expect(second.stdout.trim()).toBe("book-1-v2")

    expect(await listen.exited).toBe(0)
    expect(lines(listen.stdout())).toEqual([
      { time: expect.any(String), id: firstId, type: "book", data: '{"title":"Dune"}' },
      { time: expect.any(String), id: "book-1-v2", type: "message", data: "from stdin\nline 2" },
    ])
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  it("a dev token is minted for what the hub checks, whatever name of it --hub gives and whatever issuer it was started with", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0", "--jwt-issuer", "urn:example:custom"], {
      cwd,
    })
    await hub.waitFor(/Subscriber token/)
    // The hub names itself http://localhost:<port>; its log says it listens on 127.0.0.1.
    const other = new URL(hub.hubUrl)
    other.hostname = "127.0.0.1"
    const published = await heraldDone(["publish", "--hub", other.href, "https://example.com/t", "x"], {
      cwd,
    })
    expect(published.stderr).toBe("")
    expect(published.code).toBe(0)
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  it("with --subscriber-jwt-key, the banner prints no subscriber token (the hub would refuse it) and listen gets in without one", async () => {
    const cwd = tempCwd()
    const hub = await startHub(
      ["--engine", "memory", "--port", "0", "--subscriber-jwt-key", "subscriber-secret-0123456789abcdef0123"],
      { cwd },
    )
    await hub.waitFor(/No subscriber token: --subscriber-jwt-key verifies subscriber tokens/)
    expect(hub.stdout()).toContain("DEV MODE (no publisher key is configured)")
    expect(hub.stdout()).not.toContain("Subscriber token")
    const listen = herald(["listen", "--hub", hub.hubUrl, "--json", "--count", "1", "t"], { cwd })
    await listen.waitFor(/listening on /)
    expect((await heraldDone(["publish", "--hub", hub.hubUrl, "t", "x"], { cwd })).code).toBe(0)
    expect(await listen.exited).toBe(0)
    expect(lines(listen.stdout())).toEqual([
      { time: expect.any(String), id: expect.any(String), type: "message", data: "x" },
    ])
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  it("pretty output: JSON data indented, a header with the id and the type", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd })
    const listen = herald(["listen", "--hub", hub.hubUrl, "--count", "1", "books"], { cwd })
    await listen.waitFor(/listening on /)
    await heraldDone(["publish", "--hub", hub.hubUrl, "books", '{"a":[1,2]}', "--type", "t", "--id", "i1"], {
      cwd,
    })
    expect(await listen.exited).toBe(0)
    expect(listen.stdout()).toMatch(
      /^\d\d:\d\d:\d\d {2}id i1 {2}type t\n\{\n {2}"a": \[\n {4}1,\n {4}2\n {2}\]\n\}\n\n$/,
    )
    hub.child.kill("SIGTERM")
    await hub.exited
  })

  it("alternate topics and private updates reach a listener on the alternate topic; URL patterns match", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd })
    const hubArg = ["--hub", hub.hubUrl]
    const onAlternate = herald(
      ["listen", ...hubArg, "--json", "--count", "1", "https://example.com/authors/7"],
      {
        cwd,
      },
    )
    const byPattern = herald(
      ["listen", ...hubArg, "--json", "--count", "1", "--urlpattern", "https://example.com/books/:id"],
      { cwd },
    )
    await onAlternate.waitFor(/listening on /)
    await byPattern.waitFor(/listening on /)
    const published = await heraldDone(
      [
        "publish",
        ...hubArg,
        "https://example.com/books/9",
        "secret stock",
        "--topic",
        "https://example.com/authors/7",
        "--private",
      ],
      { cwd },
    )
    expect(published.code).toBe(0)
    expect(await onAlternate.exited).toBe(0)
    expect(await byPattern.exited).toBe(0)
    expect(lines(onAlternate.stdout())[0]?.data).toBe("secret stock")
    expect(lines(byPattern.stdout())[0]?.data).toBe("secret stock")
    hub.child.kill("SIGTERM")
    await hub.exited
  })

  it("listen exits 0 on Ctrl-C (SIGINT)", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd })
    const listen = herald(["listen", "--hub", hub.hubUrl, "t"], { cwd })
    await listen.waitFor(/listening on /)
    listen.child.kill("SIGINT")
    expect(await listen.exited).toBe(0)
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  it("a full subscription URL is used as given, its token minted for its hub when no --hub says which", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd })
    const url = `${hub.hubUrl}?match=${encodeURIComponent("a/b")}`
    const listen = herald(["listen", "--hub", hub.hubUrl, "--json", "--count", "1", url], { cwd })
    // The dev secret is in cwd: without --hub, a token for the default hub (port 8080) was a 401.
    const bare = herald(["listen", "--json", "--count", "1", url], { cwd })
    await listen.waitFor(/listening on /)
    await bare.waitFor(/listening on /)
    expect(listen.stderr()).toContain(`listening on ${url}`)
    await heraldDone(["publish", "--hub", hub.hubUrl, "a/b", "given"], { cwd })
    expect(await listen.exited).toBe(0)
    expect(await bare.exited).toBe(0)
    expect(lines(listen.stdout())[0]?.data).toBe("given")
    expect(lines(bare.stdout())[0]?.data).toBe("given")
    hub.child.kill("SIGTERM")
    await hub.exited
  })

  it("a topic list too long for a URL is sent as a QUERY with the matchers in the body", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd })
    // 50 matchers (the hub takes up to 64) of ~60 characters each once encoded: a 3 KB URL.
    const topics = Array.from({ length: 50 }, (_, n) => `https://example.com/library/shelf-${n}/books`)
    const listen = herald(["listen", "--hub", hub.hubUrl, "--json", "--count", "2", ...topics], { cwd })
    await listen.waitFor(/listening on /)
    expect(listen.stderr()).toContain(`listening on ${hub.hubUrl} (QUERY, 50 matchers in the body`)
    for (const topic of [topics[49], "https://example.com/library/shelf-50/books", topics[0]]) {
      expect(
        (await heraldDone(["publish", "--hub", hub.hubUrl, topic as string, topic as string], { cwd })).code,
      ).toBe(0)
    }
    expect(await listen.exited).toBe(0)
    expect(lines(listen.stdout()).map((event) => event.data)).toEqual([topics[49], topics[0]])
    hub.child.kill("SIGTERM")
    await hub.exited
  })

  it("a refused subscription prints the hub's explanation from the response body", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd })
    const topics = Array.from({ length: 70 }, (_, n) => `t${n}`)
    const refused = await heraldDone(["listen", "--hub", hub.hubUrl, ...topics], { cwd })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("400 Bad Request")
    // The problem document's detail, not the raw JSON.
    expect(refused.stderr).toContain(
      "\n  Too many topic matchers: the hub accepts at most 64 per subscription (--max-matchers-per-subscription).",
    )
    expect(refused.stderr).not.toContain('"status"')
    hub.child.kill("SIGTERM")
    await hub.exited
  })

  it("subscriptionRequest: GET while the URL fits, QUERY past the limit, a given URL as is", () => {
    const hubUrl = "http://localhost:8080/.well-known/mercure"
    const short = subscriptionRequest(hubUrl, ["a/b", "c d"], false)
    expect(short).toEqual({ method: "GET", url: `${hubUrl}?match=a%2Fb&match=c+d` })
    const patterns = subscriptionRequest(hubUrl, ["https://example.com/:id"], true)
    expect(new URL(patterns.url).searchParams.getAll("match_urlpattern")).toEqual(["https://example.com/:id"])
    // Just at the limit stays a GET; one character more does not.
    const base = `${hubUrl}?match=`.length
    const fits = "x".repeat(MAX_SUBSCRIPTION_URL - base)
    expect(subscriptionRequest(hubUrl, [fits], false).method).toBe("GET")
    const long = subscriptionRequest(hubUrl, [`${fits}y`], false)
    expect(long.method).toBe("QUERY")
    expect(long.url).toBe(hubUrl)
    expect(long.method === "QUERY" && long.body.getAll("match")).toEqual([`${fits}y`])
    const given = `${hubUrl}?match=${"z".repeat(3000)}`
    expect(subscriptionRequest(hubUrl, [given], false)).toEqual({ method: "GET", url: given })
  })

  it("errors: a bad token prints the status and the hub's reason, exit 1; no hub, exit 1", async () => {
    const cwd = tempCwd()
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd })
    const refused = await heraldDone(["publish", "--hub", hub.hubUrl, "--token", "not-a-jwt", "t", "d"], {
      cwd,
    })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^herald publish: 401 Unauthorized\n {2}invalid_token: \S/)
    // The hub gives its reason in the challenge and in the body: it is printed once.
    expect(refused.stderr.split("\n")).toHaveLength(4)
    expect(refused.stderr).toContain("the token came from --token")
    const listen = await heraldDone(["listen", "--hub", hub.hubUrl, "--token", "not-a-jwt", "t"], { cwd })
    expect(listen.code).toBe(1)
    expect(listen.stderr).toMatch(/herald listen: 401 Unauthorized\n {2}invalid_token: \S/)
    expect(listen.stderr.split("\n")).toHaveLength(4)
    hub.child.kill("SIGTERM")
    await hub.exited

    const port = await freePort()
    const down = await heraldDone(
      ["publish", "--hub", `http://localhost:${port}/.well-known/mercure`, "t", "d"],
      {
        cwd,
      },
    )
    expect(down.code).toBe(1)
    expect(down.stderr).toContain("cannot reach the hub")
    const badHub = await heraldDone(["publish", "--hub", "nope", "t", "d"], { cwd })
    expect(badHub.code).toBe(2)
    expect(badHub.stderr).toContain('--hub "nope": expected an absolute http:// or https:// URL')
  })

  it("HERALD_HUB_URL and HERALD_TOKEN are read when the flags are absent", async () => {
    const cwd = tempCwd()
    const secret = "a-shared-secret-of-at-least-32-bytes!!"
    const hub = await startHub(["--engine", "memory", "--port", "0", "--no-dev", "--anonymous"], {
      cwd,
      env: { HERALD_JWT_KEY: secret },
    })
    const { createDevTokens } = await import("../../src/auth/dev-tokens.js")
    const tokens = await createDevTokens({ secret, resource: hub.hubUrl, issuer: "test" })
    const env = { HERALD_HUB_URL: hub.hubUrl, HERALD_TOKEN: tokens.publisher }
    const listen = herald(["listen", "--json", "--count", "1", "t"], {
      cwd,
      env: { HERALD_HUB_URL: hub.hubUrl },
    })
    await listen.waitFor(/listening on /)
    const published = await heraldDone(["publish", "t", "via env"], { cwd, env })
    expect(published.code).toBe(0)
    expect(await listen.exited).toBe(0)
    expect(lines(listen.stdout())[0]?.data).toBe("via env")
    hub.child.kill("SIGTERM")
    await hub.exited
  })
})

describe("herald listen across a hub restart (sqlite)", () => {
  it("reconnects, resumes after its last event, and gets the updates published while it was away", {
    timeout: 60_000,
  }, async () => {
    const cwd = tempCwd()
    const port = String(await freePort())
    // A short retry hint: the listener comes back soon, then backs off while the port is closed.
    const args = ["--retry", "300ms"]
    let hub = await startHub(["--port", port, ...args], { cwd })
    const hubArg = ["--hub", hub.hubUrl]
    // A capped backoff, so the listener is back soon after the hub is, however long the pause took.
    const listen = herald(
      ["listen", ...hubArg, "--json", "--count", "3", "--max-retry-delay", "1s", "orders"],
      { cwd },
    )
    await listen.waitFor(/listening on /)
    const first = (await heraldDone(["publish", ...hubArg, "orders", "one"], { cwd })).stdout.trim()
    await listen.waitFor(/"data":"one"/)
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
    await listen.waitFor(/connection lost .*reconnecting/)

    // While the listener's port stays closed, the same data directory takes two updates through a
    // hub on another port: the listener can only get them by replay from the durable store.
    const elsewhere = await startHub(["--port", "0", ...args], { cwd })
    const publishElsewhere = async (data: string) =>
      (await heraldDone(["publish", "--hub", elsewhere.hubUrl, "orders", data], { cwd })).stdout.trim()
    const second = await publishElsewhere("two")
    const third = await publishElsewhere("three")
    elsewhere.child.kill("SIGTERM")
    expect(await elsewhere.exited).toBe(0)
    expect(listen.stderr()).not.toContain("reconnected")

    hub = await startHub(["--port", port, ...args], { cwd })
    expect(await listen.exited).toBe(0)
    expect(lines(listen.stdout()).map((event) => [event.id, event.data])).toEqual([
      [first, "one"],
      [second, "two"],
      [third, "three"],
    ])
    expect(listen.stderr()).toContain(`reconnected, resuming after ${first}`)
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })
})

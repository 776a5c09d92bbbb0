// A hub URL given as a bare origin (`http://localhost:7219`) is the hub at /.well-known/mercure
// of that origin, for `herald serve --hub-url` as for `publish`/`listen --hub` and `bench`, and a
// token the client commands mint from the dev secret names the hub as the hub names itself, so
// that the hub accepts it.
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { decodeJwt } from "jose"
import pino from "pino"
import { afterEach, describe, expect, it } from "vitest"
import { loadOrCreateDevSecret, writeDevHub } from "../../src/cli/config/dev-secret.js"
import { loadConfig, toHubOptions } from "../../src/cli/config.js"
import { whereTheTokenCameFrom } from "../../src/cli/http-errors.js"
import { resolveHubAccess, UsageError } from "../../src/cli/hub-access.js"
import { normalizeHubUrl } from "../../src/cli/hub-url.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createHub, type Hub } from "../../src/hub/hub.js"

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "herald-hub-url-"))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe("normalizeHubUrl", () => {
  it("gives a bare origin the Mercure path, and writes every URL as the hub names itself", () => {
    expect(normalizeHubUrl("http://localhost:7219")).toBe("http://localhost:7219/.well-known/mercure")
    expect(normalizeHubUrl("http://localhost:7219/")).toBe("http://localhost:7219/.well-known/mercure")
    expect(normalizeHubUrl(" HTTPS://Hub.Example.com:443/hub ")).toBe("https://hub.example.com/hub")
    expect(normalizeHubUrl("http://localhost:8080/.well-known/mercure")).toBe(
      "http://localhost:8080/.well-known/mercure",
    )
  })

  it("refuses what is not an absolute http(s) URL", () => {
    for (const text of ["nope", "localhost:8080", "ftp://hub.example.com/x", "/.well-known/mercure"])
      expect(normalizeHubUrl(text)).toBeUndefined()
  })
})

describe("herald serve --hub-url", () => {
  it("a bare origin: the hub answers at its /.well-known/mercure, and the log says so", () => {
    const config = loadConfig({ argv: ["--hub-url", "http://localhost:7219"], env: {}, cwd: tempDir() })
    expect(config.hubUrl).toBe("http://localhost:7219/.well-known/mercure")
    expect(config.warnings).toContainEqual(
      '--hub-url "http://localhost:7219": a bare origin: the hub answers at http://localhost:7219/.well-known/mercure, the URL tokens\' aud must name (give the URL with its path to silence this)',
    )
  })

  it("a URL with a path is kept, as a URL writes it, with no warning", () => {
    const config = loadConfig({
      argv: [],
      env: { HERALD_HUB_URL: "HTTP://LocalHost:7219/hub" },
      cwd: tempDir(),
    })
    expect(config.hubUrl).toBe("http://localhost:7219/hub")
    expect(config.warnings.some((warning) => warning.includes("bare origin"))).toBe(false)
  })
})

describe("publish and listen --hub", () => {
  it("a bare origin from --hub or HERALD_HUB_URL is the hub at its /.well-known/mercure", async () => {
    const cwd = tempDir()
    const flag = await resolveHubAccess({ hub: "http://localhost:7219" }, "publisher", {}, cwd)
    expect(flag.hubUrl).toBe("http://localhost:7219/.well-known/mercure")
    const env = await resolveHubAccess({}, "subscriber", { HERALD_HUB_URL: "http://localhost:7219/" }, cwd)
    expect(env.hubUrl).toBe("http://localhost:7219/.well-known/mercure")
  })

  it("mints a dev token for what the hub on that port noted beside the secret, and for the URL otherwise", async () => {
    const cwd = tempDir()
    const dataDir = join(cwd, "herald-data")
    loadOrCreateDevSecret(dataDir)
    writeDevHub(dataDir, {
      resource: "urn:example:hub",
      issuer: "urn:example:issuer",
      port: 7219,
      subscriberTokens: true,
    })
    const claims = async (hub: string) => {
      const { token } = await resolveHubAccess({ hub }, "publisher", {}, cwd)
      return decodeJwt(token as string)
    }
    expect(await claims("http://127.0.0.1:7219")).toMatchObject({
      aud: "urn:example:hub",
      iss: "urn:example:issuer",
    })
    // Another hub sharing the directory, on another port: the note is not its.
    expect(await claims("http://localhost:7220")).toMatchObject({
      aud: "http://localhost:7220/.well-known/mercure",
      iss: "urn:herald:dev",
    })
  })

  it("mints no subscriber token for a hub that verifies them with --subscriber-jwt-key (it would refuse it)", async () => {
    const cwd = tempDir()
    const dataDir = join(cwd, "herald-data")
    loadOrCreateDevSecret(dataDir)
    const hub = "http://localhost:7219"
    writeDevHub(dataDir, {
      resource: `${hub}/.well-known/mercure`,
      issuer: "urn:herald:dev",
      port: 7219,
      subscriberTokens: false,
    })
    const subscriber = await resolveHubAccess({ hub }, "subscriber", {}, cwd)
    expect(subscriber.token).toBeUndefined()
    expect((await resolveHubAccess({ hub }, "publisher", {}, cwd)).tokenSource).toContain("dev secret")
    // A refusal says why none was sent: running from the dev hub's directory (what it would
    // otherwise advise) is what was done; a token signed with its subscriber key is what it takes.
    const hint = whereTheTokenCameFrom(subscriber.tokenSource)
    expect(hint).toBe(
      `no token was sent: the dev-mode herald serve of ${dataDir} gives no subscriber tokens (its --subscriber-jwt-key verifies them, not its dev secret): pass one signed with that key with --token or HERALD_TOKEN`,
    )
    expect(hint).not.toContain("run from the directory")
  })

  it("a refusal says where the token came from, or that none was sent and how to send one", async () => {
    const cwd = tempDir()
    const hub = "http://localhost:7219"
    // No dev hub here: running from one's directory would mint a token.
    const none = await resolveHubAccess({ hub }, "subscriber", {}, cwd)
    expect(whereTheTokenCameFrom(none.tokenSource)).toBe(
      "no token was sent: pass --token or HERALD_TOKEN (or run from the directory of a dev-mode herald serve)",
    )
    const flag = await resolveHubAccess({ hub, token: "t" }, "subscriber", {}, cwd)
    expect(whereTheTokenCameFrom(flag.tokenSource)).toBe("the token came from --token")
    const dataDir = join(cwd, "herald-data")
    loadOrCreateDevSecret(dataDir)
    // A dev hub noted on another port says nothing of this one: the dev secret mints a token.
    writeDevHub(dataDir, {
      resource: "http://localhost:7300/.well-known/mercure",
      issuer: "urn:herald:dev",
      port: 7300,
      subscriberTokens: false,
    })
    const minted = await resolveHubAccess({ hub }, "subscriber", {}, cwd)
    expect(minted.token).toBeDefined()
    expect(whereTheTokenCameFrom(minted.tokenSource)).toBe(`the token came from the dev secret in ${dataDir}`)
  })

  it("names the source of a hub URL that is not one", async () => {
    const cwd = tempDir()
    await expect(resolveHubAccess({ hub: "nope" }, "publisher", {}, cwd)).rejects.toThrow(
      new UsageError('--hub "nope": expected an absolute http:// or https:// URL'),
    )
    await expect(resolveHubAccess({}, "publisher", { HERALD_HUB_URL: "nope" }, cwd)).rejects.toThrow(
      new UsageError('HERALD_HUB_URL "nope": expected an absolute http:// or https:// URL'),
    )
  })
})

/** A dev-mode hub configured with `hubUrl` from `cwd`, on a free port; its base URL. */
async function devHub(hubUrl: string, cwd: string): Promise<string> {
  const config = loadConfig({ argv: ["--hub-url", hubUrl, "--engine", "memory"], env: {}, cwd })
  const engine = createMemoryEngine()
  const hub: Hub = createHub(toHubOptions(config, engine, pino({ level: "silent" })))
  const server: Server = createServer((request, response) => void hub.handle(request, response))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  cleanups.push(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await hub.close({ deadlineMs: 0 })
    await engine.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe("the token publish mints from the dev secret", () => {
  it.each([
    ["a bare origin", "http://localhost:7219"],
    ["a URL in capitals", "HTTP://LOCALHOST:7219/.well-known/mercure"],
  ])("is accepted by the hub started with the same hub URL: %s", async (_case, hubUrl) => {
    const cwd = tempDir()
    const base = await devHub(hubUrl, cwd)
    const access = await resolveHubAccess({ hub: hubUrl }, "publisher", {}, cwd)
    expect(access.tokenSource).toContain("dev secret")
    // A token is checked even from this machine: dev mode trusts only clients that send none.
    const response = await fetch(`${base}/.well-known/mercure`, {
      method: "POST",
      headers: { authorization: `Bearer ${access.token}` },
      body: new URLSearchParams({ topic: "https://example.com/books/1", data: "Dune" }),
    })
    expect(response.status, await response.clone().text()).toBe(200)
    expect(await response.text()).toMatch(/^urn:uuid:/)
  })
})

import type { Server } from "node:http"
import { SignJWT } from "jose"
import { afterEach } from "vitest"
import { generationLog } from "../../src/ai/generation-id.js"
import { metaToRecord } from "../../src/ai/generation-meta.js"
import { type AIHandler, type AIHandlerOptions, createAIHandler } from "../../src/ai/handler.js"
import { createTokenVerifier } from "../../src/auth/verifier.js"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createParser, type ServerSentEvent } from "../../src/protocol/index.js"
import { listen, stop } from "../server/helpers.js"
import type { Upstream } from "./upstream.js"

export const SECRET = "ai-test-secret-with-enough-entropy-0123456789"
export const ISSUER = "https://issuer.test"
export const RESOURCE = "https://herald.test"

/** The AI endpoints on an engine of their own, listening on loopback. */
export interface TestAI {
  readonly ai: AIHandler
  readonly engine: Engine
  readonly server: Server
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  close(): Promise<void>
}

/** A verifier of the tokens {@link aiToken} signs. */
export function testVerifier() {
  return createTokenVerifier({
    keys: [{ kind: "secret", secret: SECRET }],
    resource: RESOURCE,
    matcherContext: { hubUrl: new URL(RESOURCE), maxPatternLength: 1024 },
  })
}

/** Nodes of one store: an AI handler per engine of it, each listening on loopback. */
export interface TestNodes {
  readonly nodes: readonly { readonly ai: AIHandler; readonly server: Server; readonly origin: string }[]
  /** Closes the nodes, then each distinct engine. */
  close(): Promise<void>
}

/** Starts node `node-a`, `node-b`, … on `engines[0]`, `engines[1]`, …, each with `options`. */
export async function startNodes(
  engines: readonly Engine[],
  options: Omit<AIHandlerOptions, "engine" | "node">,
): Promise<TestNodes> {
  const nodes: { ai: AIHandler; server: Server; origin: string }[] = []
  const close = async (): Promise<void> => {
    for (const node of nodes) {
      await node.ai.close({ deadlineMs: 200 })
      await stop(node.server)
    }
    await Promise.all([...new Set(engines)].map((engine) => engine.close()))
  }
  try {
    for (const [at, engine] of engines.entries()) {
      const ai = createAIHandler({ engine, node: `node-${String.fromCharCode(97 + at)}`, ...options })
      const { server, url } = await listen((request, response) => void ai.handle(request, response))
      nodes.push({ ai, server, origin: url })
    }
  } catch (error) {
    await close()
    throw error
  }
  return { nodes, close }
}

/**
 * Starts the AI handler on a new engine from `openEngine` (a memory engine by default), closed
 * with it; with `auth: true`, tokens signed by {@link aiToken} are required.
 */
export async function startAI(
  options: Partial<Omit<AIHandlerOptions, "auth" | "engine">> & {
    readonly auth?: boolean
    readonly openEngine?: () => Engine
  } = {},
): Promise<TestAI> {
  const { auth, openEngine = createMemoryEngine, ...rest } = options
  const engine = openEngine()
  const ai = createAIHandler({
    engine,
    heartbeatMs: 0,
    flushMs: 5,
    ...rest,
    ...(auth === true ? { auth: { verifier: testVerifier() } } : {}),
  })
  const { server, url } = await listen((request, response) => void ai.handle(request, response))
  return {
    ai,
    engine,
    server,
    origin: url,
    async close() {
      await ai.close({ deadlineMs: 200 })
      await stop(server)
      await engine.close()
    },
  }
}

/** A token with a Herald grant of the `ai` app: `actions` on `resources` (default `*`); `subject: null`, no `sub`. */
export async function aiToken(
  actions: string[],
  options: { subject?: string | null; resources?: string[]; app?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const token = new SignJWT({
    client_id: "test",
    authorization_details: [
      {
        type: "https://herald.dev/grant",
        app: options.app ?? "ai",
        actions,
        resources: (options.resources ?? ["*"]).map((match) => ({ match })),
      },
    ],
  })
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
    .setIssuer(ISSUER)
    .setAudience(RESOURCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .setJti(crypto.randomUUID())
  if (options.subject !== null) token.setSubject(options.subject ?? "urn:test:alice")
  return token.sign(new TextEncoder().encode(SECRET))
}

/** A stream's events read with Herald's parser, until it ends or `stopAfter` says so. */
export async function readEvents(
  response: Response,
  stopAfter: (events: ServerSentEvent[]) => boolean = () => false,
): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = []
  const parser = createParser({ onEvent: (event) => events.push(event) })
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  try {
    while (!stopAfter(events)) {
      const { done, value } = await reader.read()
      if (done) break
      parser.feed(value)
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  return events
}

/** What a test started: the AI server and a fake upstream, each closed after the test. */
export interface TestServers {
  running?: TestAI
  upstream?: Upstream
}

/** Holds what each test of the file starts, and closes it after each test. */
export function closedAfterEach(): TestServers {
  const servers: TestServers = {}
  afterEach(() => closeServers(servers))
  return servers
}

/** Closes and forgets `servers`' Herald and upstream (a test that starts several in turn). */
export async function closeServers(servers: TestServers): Promise<void> {
  await servers.running?.close()
  await servers.upstream?.close()
  servers.running = undefined
  servers.upstream = undefined
}

/** A generation that `owner` (another node, not the test's server) runs, with `text` stored so far; its log. */
export async function openGenerationOf(
  engine: Engine,
  id: string,
  owner: string,
  text: string,
): Promise<string> {
  const log = generationLog(id)
  const meta = {
    model: "demo",
    format: "openai" as const,
    owner: undefined,
    createdAt: Date.now(),
    includeUsage: false,
  }
  await engine.create(log, { owner, meta: metaToRecord(meta) })
  await engine.append(log, [{ data: JSON.stringify({ type: "text-delta", text }) }], { fence: { owner } })
  return log
}

/** A memory engine whose log creations take `ms`: a window in which requests overlap, or a client leaves. */
export function slowCreating(ms: number): () => Engine {
  return () => {
    const engine = createMemoryEngine()
    const create = engine.create.bind(engine)
    engine.create = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, ms))
      return create(...args)
    }
    return engine
  }
}

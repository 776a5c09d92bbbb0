// The chat page through nginx in front of three `herald serve` nodes on one Redis (the setup of
// docs/deployment.md): the node running the page's generation is killed with `kill -9` mid-answer.
// The page follows on through another node and ends honestly: the text it had is intact, nothing
// is shown twice, and the answer says it was interrupted — asserted on the DOM.
import type { Browser, BrowserContext } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tempCwd, useCliProcesses } from "../cli/cli-helpers.js"
import { findChromium, launchChromium } from "../client/browser.js"
import { token } from "../hub/hub-helpers.js"
import {
  lastAnswer,
  loggedGeneration,
  openChat,
  pageErrors,
  send,
  waitForAnswer,
  waitForEnd,
  wholeAnswer,
  writeModels,
} from "../web/chat-page.js"
import {
  CLUSTER_START_MS,
  type Cluster,
  type ClusterNode,
  clusterUnavailable,
  startCluster,
} from "./cluster.js"

useCliProcesses()

const unavailable = await clusterUnavailable()
const executablePath = findChromium()

/**
 * Each node's lease: a dead node's generation is closed as interrupted once it lapsed. Short, so
 * the test waits little; not so short that a busy 2-core machine lets a live node's lease lapse.
 */
const NODE_LEASE = "5s"

/** A Herald grant of `app` for every resource. */
function grant(app: string, actions: string[]) {
  return { type: "https://herald.dev/grant", app, actions, resources: [{ match: "*" }] }
}

describe.skipIf(unavailable !== undefined || executablePath === undefined)(
  "the chat page behind nginx, three nodes on Redis",
  () => {
    let cluster: Cluster
    let origin: string
    let aiToken: string
    let adminToken: string
    let browser: Browser
    let context: BrowserContext | undefined

    beforeAll(async () => {
      const models = writeModels(tempCwd())
      cluster = await startCluster({ nodeArgs: ["--ai-models", models, "--node-lease", NODE_LEASE] })
      origin = new URL(cluster.hubUrl).origin
      const audience = cluster.env.HERALD_HUB_URL as string
      const secret = cluster.env.HERALD_JWT_KEY as string
      const claims = (details: unknown[]) => ({ secret, claims: { authorization_details: details } })
      aiToken = await token(audience, claims([grant("ai", ["generate", "read", "cancel"])]))
      adminToken = await token(audience, claims([grant("admin", ["admin"])]))
      browser = await launchChromium(executablePath as string)
    }, CLUSTER_START_MS)
    afterAll(async () => {
      await context?.close()
      await browser?.close()
      await cluster?.stop()
    })

    /** The node whose dashboard lists generation `id` as running there. */
    async function nodeRunning(id: string): Promise<ClusterNode> {
      for (const node of cluster.nodes) {
        const response = await fetch(`http://127.0.0.1:${node.port}/_herald/admin/snapshot`, {
          headers: { authorization: `Bearer ${adminToken}` },
          signal: AbortSignal.timeout(5000),
        })
        const snapshot = (await response.json()) as { generations: { running: { id: string }[] } | null }
        if (snapshot.generations?.running.some((generation) => generation.id === id)) return node
      }
      throw new Error(`no node runs generation ${id}`)
    }

    it("kill -9 of the node running the answer: the page ends interrupted, its text intact and never twice", async () => {
      context = await browser.newContext()
      const page = await openChat(context, `${origin}/chat`)
      // Outside dev mode: the page asks for a token, and keeps the one given for the tab.
      await page.waitForSelector("#token-panel:not([hidden])", { timeout: 15_000 })
      await page.fill("#token-input", aiToken)
      await page.click("#token-form button[type=submit]")
      const prompt = "How do tides work?"
      await send(page, prompt)
      const running = await waitForAnswer(
        page,
        (answer) => answer.status === "running" && answer.text.length >= 40,
        "showed 40 characters",
      )
      const id = running.id as string
      const owner = await nodeRunning(id)
      const shownAtKill = (await lastAnswer(page)).text
      await owner.kill()

      const ended = await waitForEnd(page, 60_000)
      expect(ended).toMatchObject({ id, status: "interrupted" })
      expect(ended.endMessage).toMatch(
        /^Interrupted: the node running the generation \(n\d\) stopped, or could not reach the store/,
      )
      const auth = { authorization: `Bearer ${aiToken}` }
      // Nothing the page showed was lost, nothing is there twice: its text is the log's, which
      // holds the start of the whole answer and stops where the dead node stopped writing.
      expect(ended.text.startsWith(shownAtKill)).toBe(true)
      expect(await loggedGeneration(origin, id, auth)).toEqual({
        text: ended.text,
        end: "generation_interrupted",
      })
      const whole = await wholeAnswer(origin, prompt, auth)
      expect(whole.startsWith(ended.text)).toBe(true)
      expect(ended.text.length).toBeLessThan(whole.length)
      expect(pageErrors(page)).toEqual([])
    }, 120_000)
  },
)

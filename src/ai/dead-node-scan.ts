import type { Engine, LogHead } from "../engine/engine.js"
import type { Logger } from "../logger.js"
import { GENERATION_LOG_PREFIX } from "./generation-id.js"

/** Closes generation `id` if its node is dead (asking `liveNodes` when it must); `true` when it did. */
export type Reap = (
  id: string,
  head: LogHead,
  liveNodes: () => Promise<readonly string[]>,
) => Promise<boolean>

/** How many generation logs one page of a scan lists. */
const PAGE = 100

/**
 * Finds the open generations of nodes that died, so that one nobody reads is closed too: a reader
 * closes the generation it follows once its node holds no lease, but a generation without
 * readers would otherwise stay open until its TTL. Each {@link tick} compares the nodes holding a
 * lease with those of the tick before; when one is gone (and on the first tick, which finds what
 * a node that died before this one started left, this node's id included), it lists the
 * generations and hands each open one whose owner holds no lease, or is this node, to `reap`,
 * which checks again (the lease; for this node's own, that it does not run it) and closes it,
 * fenced, as `interrupted`. The scan reads every generation kept (a page at a time), so it runs
 * only then.
 */
export class DeadNodeScan {
  readonly #engine: Engine
  /** This node's id: its own open generations it does not run are candidates too (see `reap`). */
  readonly #node: string
  readonly #reap: Reap
  readonly #logger: Logger
  #liveBefore: ReadonlySet<string> | undefined
  #running: Promise<void> | undefined

  constructor(engine: Engine, node: string, reap: Reap, logger: Logger) {
    this.#engine = engine
    this.#node = node
    this.#reap = reap
    this.#logger = logger
  }

  /** Looks at the nodes once, and scans when one died since the last look. Never overlaps itself. */
  tick(): Promise<void> {
    this.#running ??= this.#look()
      .catch((error: unknown) => {
        this.#logger.warn({ err: error }, "could not look for the generations of dead nodes")
      })
      .finally(() => {
        this.#running = undefined
      })
    return this.#running
  }

  /** Resolves once a scan in flight is over. */
  async settled(): Promise<void> {
    await this.#running
  }

  async #look(): Promise<void> {
    const live = new Set(await this.#engine.liveNodes())
    const before = this.#liveBefore
    if (before !== undefined && [...before].every((node) => live.has(node))) {
      this.#liveBefore = live
      return
    }
    let whole = true
    let after: string | undefined
    do {
      const page = await this.#engine.list({
        prefix: GENERATION_LOG_PREFIX,
        limit: PAGE,
        ...(after === undefined ? {} : { after }),
      })
      // Asked at most once per page, after it was read: a node that started since the first look
      // held its lease before it made any generation of this page.
      let liveNow: Promise<readonly string[]> | undefined
      const liveNodes = () => {
        liveNow ??= this.#engine.liveNodes()
        return liveNow
      }
      for (const head of page.logs) {
        const owner = head.config.owner
        if (head.closed || owner === undefined || (live.has(owner) && owner !== this.#node)) continue
        const id = head.name.slice(GENERATION_LOG_PREFIX.length)
        await this.#reap(id, head, liveNodes).catch((error: unknown) => {
          whole = false
          this.#logger.warn({ err: error, log: head.name }, "could not close a dead node's generation")
        })
      }
      after = page.next
    } while (after !== undefined)
    // Only a whole scan counts as the look: after a failure (here, or a listing that threw), the
    // next tick scans again.
    if (whole) this.#liveBefore = live
  }
}

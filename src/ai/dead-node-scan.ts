import type { Engine, LogHead } from "../engine/engine.js"
import { EngineUnavailableError } from "../engine/unavailable.js"
import type { Logger } from "../logger.js"
import { RUNNING_MARKER_PREFIX } from "./running-marker.js"

/**
 * Clears a running marker of a generation that runs nowhere any more (asking `liveNodes` when it
 * must): closes the generation if still open, then deletes the marker; `true` when it did.
 */
export type ClearMarker = (marker: LogHead, liveNodes: () => Promise<readonly string[]>) => Promise<boolean>

/** How many markers one page of a scan lists. */
const PAGE = 100

/**
 * Finds the open generations of nodes that died, so that one nobody reads is closed too: a reader
 * closes the generation it follows once its node holds no lease, but a generation without
 * readers would otherwise stay open until its TTL. Each {@link tick} compares the nodes holding a
 * lease with those of the tick before; when one is gone (and on the first tick, which finds what
 * a node that died before this one started left, this node's id included, and after
 * {@link rescan}), it lists the running markers (running-marker.ts: one per generation that runs,
 * or ran on a node that died) and hands each one whose owner holds no lease, or is this node, to
 * `clear`, which checks again (the lease; for this node's own, that it does not run it), closes
 * the generation, fenced, as `interrupted`, and deletes the marker.
 */
export class DeadNodeScan {
  readonly #engine: Engine
  /** This node's id: its own markers of generations it does not run are candidates too. */
  readonly #node: string
  readonly #clear: ClearMarker
  readonly #logger: Logger
  #liveBefore: ReadonlySet<string> | undefined
  /** The next look scans whatever the nodes: asked for, or the last scan failed. */
  #rescan = false
  #running: Promise<void> | undefined

  constructor(engine: Engine, node: string, clear: ClearMarker, logger: Logger) {
    this.#engine = engine
    this.#node = node
    this.#clear = clear
    this.#logger = logger
  }

  /** Makes the next {@link tick} scan, whatever the nodes: a generation of this node's was left open. */
  rescan(): void {
    this.#rescan = true
  }

  /** Looks at the nodes once, and scans when one died since the last look. Never overlaps itself. */
  tick(): Promise<void> {
    this.#running ??= this.#look()
      .catch((error: unknown) => {
        this.#rescan = true
        // The store out of reach is the engine's to report (on loss, and while it lasts); not once a scan.
        if (error instanceof EngineUnavailableError)
          this.#logger.debug({ err: error }, "could not look for the generations of dead nodes")
        else this.#logger.warn({ err: error }, "could not look for the generations of dead nodes")
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
    this.#liveBefore = live
    const asked = this.#rescan
    this.#rescan = false
    if (!asked && before !== undefined && [...before].every((node) => live.has(node))) return
    let whole = true
    let after: string | undefined
    do {
      const page = await this.#engine.list({
        prefix: RUNNING_MARKER_PREFIX,
        limit: PAGE,
        ...(after === undefined ? {} : { after }),
      })
      // Asked at most once per page, after it was read: a node that started since the first look
      // held its lease before it made any marker of this page.
      let liveNow: Promise<readonly string[]> | undefined
      const liveNodes = () => {
        liveNow ??= this.#engine.liveNodes()
        return liveNow
      }
      for (const marker of page.logs) {
        const owner = marker.config.owner
        if (owner === undefined || (live.has(owner) && owner !== this.#node)) continue
        await this.#clear(marker, liveNodes).catch((error: unknown) => {
          whole = false
          this.#logger.warn({ err: error, log: marker.name }, "could not close a dead node's generation")
        })
      }
      after = page.next
    } while (after !== undefined)
    // After a failure here the next tick scans again.
    if (!whole) this.#rescan = true
  }
}

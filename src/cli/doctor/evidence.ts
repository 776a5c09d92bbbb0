import type { TokenSource } from "../http-errors.js"
import type { Observation } from "./observation.js"

/** A probe event the doctor published, and when (on the watch's clock). */
export interface SentProbe {
  readonly data: string
  readonly sentMs: number
}

/** What the Mercure probe did: the events it published on its own topic, or why it could not. */
export interface ProbeRun {
  readonly topic: string
  readonly sent: readonly SentProbe[]
  /** Why publishing failed (no token, refused), if it did. */
  readonly error: string | undefined
}

/** A second connection with `Last-Event-ID`, and what it replayed. */
export interface ResumeRun {
  /** The id the doctor resumed after. */
  readonly after: string
  /** The events (id and data) the first watch saw after that one: what a replay must start with. */
  readonly expected: readonly { readonly id: string; readonly data: string }[]
  /** Ids the client already had (up to `after`): a replay must not send these again. */
  readonly alreadySeen: readonly string[]
  readonly observation: Observation
}

/** Everything the checks judge. */
export interface Evidence {
  readonly observation: Observation
  /** Present for a Mercure hub whose stream opened. */
  readonly probe: ProbeRun | undefined
  /** The URL is a Mercure hub's: the doctor subscribes with the token it found (`--token`…), if any. */
  readonly mercure?: boolean
  /**
   * Where the token the doctor subscribed with came from (`--token`, `the dev secret in …`), or why
   * none was sent (a dev hub that gives no subscriber tokens); absent: none sent.
   */
  readonly subscriberTokenSource?: TokenSource
  /** Present when the stream gave at least two events with ids to resume between. */
  readonly resume: ResumeRun | undefined
}

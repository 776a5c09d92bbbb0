import { createTokenVerifier } from "../auth/verifier.js"
import { createMemoryEngine } from "../engine/memory.js"
import type { Logger } from "../logger.js"
import { createStreamsHandler } from "../streams/index.js"
import type { HeraldConfig } from "./config.js"
import type { Mount } from "./router.js"

/** Where `herald serve` answers the Durable Streams protocol. */
export const STREAMS_PREFIX = "/v1/stream/"

/**
 * The Durable Streams app of `herald serve`. Its streams live on an engine of the new logs
 * contract; until the hub is ported onto that contract (its engine is the older one), that is a
 * memory engine of its own, so streams do not survive a restart yet. Tokens are checked with the
 * publisher keys (Herald grants of app `streams`); in dev mode a client on this machine needs none.
 * The memory engine's sweep timer does not hold the process open, so shutdown has nothing to close.
 */
export function streamsMount(config: HeraldConfig, logger: Logger): Mount {
  const engine = createMemoryEngine({ logger })
  const verifier = createTokenVerifier({
    keys: config.publishKeys,
    resource: config.resource ?? config.hubUrl,
    legacy: false,
    matcherContext: { hubUrl: new URL(config.hubUrl), maxPatternLength: 1024 },
  })
  const streams = createStreamsHandler({
    engine,
    prefix: STREAMS_PREFIX,
    auth: { verifier, trustLocalClients: config.dev !== undefined },
    logger,
  })
  return {
    serves: `Durable Streams at ${STREAMS_PREFIX}`,
    owns: streams.owns,
    handle: streams.handle,
  }
}

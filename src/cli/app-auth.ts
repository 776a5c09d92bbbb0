import { createCors } from "../auth/cors.js"
import { createTokenVerifier, type TokenVerifier } from "../auth/verifier.js"
import { type HeraldConfig, resourceOf } from "./config.js"

/** How `herald serve`'s apps beside the hub (the AI endpoints, the streams, the dashboard) take their callers. */
export interface AppAuth {
  /** Tokens signed with the publisher keys; `undefined` when none is configured (dev mode). */
  readonly verifier: TokenVerifier | undefined
  /** Dev mode's one rule: loopback clients need no token. */
  readonly trustLocalClients: boolean
  /** What makes a request local: the hub's host, and no foreign `Origin`. */
  readonly localTrust: { readonly trusts: (origin: string) => boolean; readonly hostname: string }
}

/** The publisher keys and dev mode of `config`, as every app beside the hub checks them. */
export function appAuth(config: HeraldConfig): AppAuth {
  const hubUrl = new URL(config.hubUrl)
  const cors = createCors(config.corsOrigins, hubUrl.origin)
  return {
    verifier:
      config.publishKeys.length === 0
        ? undefined
        : createTokenVerifier({
            keys: config.publishKeys,
            ...(config.algorithms === undefined ? {} : { algorithms: config.algorithms }),
            resource: resourceOf(config),
            legacy: false,
            matcherContext: { hubUrl, maxPatternLength: 1024 },
            keysHint: "--jwt-key (or --publisher-jwt-key, --jwks-url)",
          }),
    trustLocalClients: config.dev !== undefined,
    localTrust: { trusts: (origin) => cors.trusts(origin), hostname: hubUrl.hostname },
  }
}

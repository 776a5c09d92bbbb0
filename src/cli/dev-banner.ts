import { relative } from "node:path"
import type { DevTokens } from "../hub/auth/dev-tokens.js"
import { DEFAULT_CLIENT_HUB_URL } from "./hub-access.js"

/** What the banner shows. */
export interface DevBannerInput {
  readonly hubUrl: string
  readonly tokens: DevTokens
  readonly secretFile: string
  readonly secretCreated: boolean
  readonly cwd: string
}

const EXAMPLE_TOPIC = "https://example.com/books/1"

/**
 * The dev-mode banner: where the secret is, a publisher and a subscriber token, and curl
 * commands that work as pasted. Plain text (not a log line) so that it can be copied from.
 */
export function devBanner(input: DevBannerInput): string {
  const { hubUrl, tokens } = input
  const file = relative(input.cwd, input.secretFile) || input.secretFile
  const expires = new Date(tokens.expiresAt).toISOString().slice(0, 10)
  const rule = "─".repeat(78)
  const hub = hubUrl === DEFAULT_CLIENT_HUB_URL ? "" : ` --hub ${hubUrl}`
  return [
    rule,
    " Herald is in DEV MODE — the tokens below grant everything: development only.",
    ` Secret: ${file} (${input.secretCreated ? "created now" : "kept from an earlier run"}; tokens valid until ${expires})`,
    "",
    " Publisher token (publish on any topic):",
    `   ${tokens.publisher}`,
    "",
    " Subscriber token (subscribe to any topic, private updates included):",
    `   ${tokens.subscriber}`,
    "",
    " Publish:",
    `   curl -X POST '${hubUrl}' \\`,
    `     -H 'Authorization: Bearer ${tokens.publisher}' \\`,
    `     --data-urlencode 'topic=${EXAMPLE_TOPIC}' --data-urlencode 'data={"title":"Hello"}'`,
    "",
    " Subscribe:",
    `   curl -N -G '${hubUrl}' \\`,
    `     -H 'Authorization: Bearer ${tokens.subscriber}' \\`,
    `     --data-urlencode 'match=${EXAMPLE_TOPIC}'`,
    "",
    " Or, from this directory (the CLI reads the dev secret):",
    `   npx herald listen${hub} ${EXAMPLE_TOPIC}`,
    `   npx herald publish${hub} ${EXAMPLE_TOPIC} '{"title":"Hello"}'`,
    "",
    " For production set --jwt-key (or --publisher-jwt-key / --subscriber-jwt-key / --jwks-url)",
    " and --no-dev; see `herald serve --help`.",
    rule,
    "",
  ].join("\n")
}

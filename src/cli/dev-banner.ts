import { existsSync } from "node:fs"
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import type { DevTokens } from "../auth/dev-tokens.js"
import { isLoopbackHost } from "../auth/loopback.js"
import { DEFAULT_CLIENT_HUB_URL } from "./hub-access.js"

/** What the banner shows. */
export interface DevBannerInput {
  readonly hubUrl: string
  /** The address bound (`undefined`: all interfaces). */
  readonly host: string | undefined
  readonly tokens: DevTokens
  /** Whether the hub takes the subscriber token: not when `--subscriber-jwt-key` verifies them. */
  readonly subscriberTokens: boolean
  readonly secretFile: string
  readonly secretCreated: boolean
  readonly cwd: string
}

const EXAMPLE_TOPIC = "https://example.com/books/1"

/** This CLI's entry point (dist/cli/herald.js), beside this module. */
const HERALD_SCRIPT = fileURLToPath(new URL("./herald.js", import.meta.url))

/**
 * The command that runs this CLI from `cwd` at once. In a clone it is `node dist/cli/herald.js`:
 * there `npx herald` first installs the package into npx's cache (seconds, and an interrupted
 * install leaves a broken cache). Where the package is installed (a `node_modules/.bin/herald` in
 * `cwd` or a directory above it), `npx herald` runs that bin. Anywhere else npx would fetch
 * whatever the registry calls `herald`: this CLI's absolute path is given instead.
 */
export function heraldCommand(cwd: string, script: string = HERALD_SCRIPT): string {
  const path = relative(cwd, script)
  const inside = !path.startsWith("..") && !isAbsolute(path)
  if (inside && !path.split(sep).includes("node_modules")) return `node ${shellWord(path)}`
  if (installedBinAbove(cwd)) return "npx herald"
  return `node ${shellWord(script)}`
}

/** `text` as one shell word: as it is when it needs no quoting, else in single quotes. */
function shellWord(text: string): string {
  return /^[\w./:@%+=,-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`
}

/** Whether `dir` or a directory above it has `node_modules/.bin/herald`, which npx runs. */
function installedBinAbove(dir: string): boolean {
  for (let at = resolve(dir); ; at = dirname(at)) {
    if (existsSync(join(at, "node_modules", ".bin", "herald"))) return true
    if (dirname(at) === at) return false
  }
}

/**
 * The dev-mode banner: what dev mode means (who gets in without a token, who can reach the hub),
 * where the secret is, a publisher and a subscriber token for tools that send one (the subscriber
 * one only if the hub takes it), and curl commands that work as pasted. Plain text (not a log
 * line) so that it can be copied from.
 */
export function devBanner(input: DevBannerInput): string {
  const { hubUrl, tokens } = input
  const file = relative(input.cwd, input.secretFile) || input.secretFile
  const expires = new Date(tokens.expiresAt).toISOString().slice(0, 10)
  const rule = "─".repeat(78)
  const hub = hubUrl === DEFAULT_CLIENT_HUB_URL ? "" : ` --hub ${hubUrl}`
  const herald = heraldCommand(input.cwd)
  return [
    rule,
    " Herald is in DEV MODE (no publisher key is configured): for development only.",
    "  - Clients on this machine need no token: they may publish, subscribe (private updates",
    "    included) and read the subscription API. A request forwarded by a proxy, or sent by a",
    "    web page of a site not in --cors-origins, is not one of them; a proxy on this machine",
    "    must say it forwards (X-Forwarded-For), else give a key before putting it in front.",
    reach(input.host),
    "  - The tokens below grant everything, to whoever holds them.",
    "",
    ` Secret: ${file} (${input.secretCreated ? "created now" : "kept from an earlier run"}; tokens valid until ${expires})`,
    "",
    " Publisher token (publish on any topic):",
    `   ${tokens.publisher}`,
    "",
    ...subscriberToken(input),
    " Publish:",
    `   curl -X POST '${hubUrl}' \\`,
    `     -H 'Authorization: Bearer ${tokens.publisher}' \\`,
    `     --data-urlencode 'topic=${EXAMPLE_TOPIC}' --data-urlencode 'data={"title":"Hello"}'`,
    "",
    ...subscribeCommand(input),
    " Or, from this directory (the CLI reads the dev secret):",
    `   ${herald} listen${hub} ${EXAMPLE_TOPIC}`,
    `   ${herald} publish${hub} ${EXAMPLE_TOPIC} '{"title":"Hello"}'`,
    "",
    " For production set --jwt-key (or --publisher-jwt-key / --subscriber-jwt-key / --jwks-url)",
    " and --no-dev; see `herald serve --help`.",
    rule,
    "",
  ].join("\n")
}

/** The subscriber token's lines, or why there is none: the hub would refuse it. */
function subscriberToken({ tokens, subscriberTokens }: DevBannerInput): string[] {
  if (!subscriberTokens) {
    return [
      " No subscriber token: --subscriber-jwt-key verifies subscriber tokens, not the dev secret.",
      " Sign one with that key, or subscribe from this machine without one.",
      "",
    ]
  }
  return [
    " Subscriber token (subscribe to any topic, private updates included):",
    `   ${tokens.subscriber}`,
    "",
  ]
}

/** The curl command subscribing with the subscriber token, when the hub takes it. */
function subscribeCommand({ hubUrl, tokens, subscriberTokens }: DevBannerInput): string[] {
  if (!subscriberTokens) return []
  return [
    " Subscribe:",
    `   curl -N -G '${hubUrl}' \\`,
    `     -H 'Authorization: Bearer ${tokens.subscriber}' \\`,
    `     --data-urlencode 'match=${EXAMPLE_TOPIC}'`,
    "",
  ]
}

/** Who can reach the hub, in the banner's words. */
function reach(host: string | undefined): string {
  if (host !== undefined && isLoopbackHost(host)) {
    return `  - The hub listens on ${host} only: other machines cannot reach it (--host to change that).`
  }
  return `  - The hub listens on ${host ?? "all interfaces"}: other machines can reach it, and need a token.`
}

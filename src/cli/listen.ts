import { Command } from "commander"
import { EventSource, EventSourceErrorEvent, EventSourceResponseError } from "../client/index.js"
import { durationOption, MAX_TIMER_MS } from "./duration-argument.js"
import { formatEvent } from "./event-format.js"
import { describeFailure, untrustedCertificate } from "./http-errors.js"
import { DEFAULT_CLIENT_HUB_URL, type HubAccessOptions, resolveHubAccess } from "./hub-access.js"
import { dataDirOption, hubOption, positiveInteger, tokenOption } from "./publish.js"

const EXAMPLES = `
Each argument is a topic to match exactly (or a URL pattern with --urlpattern), or one
full subscription URL, used as given (a URL on the hub's path, or one with match= or
topic= parameters). Topic lists too long for a URL are sent in the body of a QUERY.
The token is --token, else HERALD_TOKEN, else one minted from the dev secret of a
dev-mode \`herald serve\` in this directory, else none (anonymous).

Reconnects after a dropped connection and resumes after the last event received
(Last-Event-ID); notices go to stderr, events to stdout.

Examples:
  $ herald listen https://example.com/books/1
  $ herald listen --urlpattern 'https://example.com/books/:id'
  $ herald listen --json '*' | jq .data
  $ herald listen --last-event-id earliest https://example.com/books/1
  $ herald listen 'http://localhost:8080/.well-known/mercure?match=https%3A%2F%2Fexample.com%2Fbooks%2F1'`

interface ListenOptions extends HubAccessOptions {
  readonly urlpattern?: boolean
  readonly json?: boolean
  readonly count?: number
  /** ms. */
  readonly maxRetryDelay: number
  readonly lastEventId?: string
}

/** `herald listen <topic|url>...`. */
export function listenCommand(): Command {
  return new Command("listen")
    .description("subscribe to topics on a hub and print the updates as they arrive")
    .argument("<topic|url...>", "topics to match, or one subscription URL")
    .addOption(hubOption())
    .addOption(tokenOption())
    .addOption(dataDirOption())
    .option("--urlpattern", "match the topics as URL patterns (match_urlpattern=)")
    .option("--last-event-id <id>", 'resume after this event id ("earliest": everything the hub holds)')
    .option("--json", "print one JSON object per update ({time, id, type, data}) instead of pretty text")
    .option("--count <n>", "exit after n updates", positiveInteger)
    .addOption(
      durationOption(
        "--max-retry-delay <duration>",
        "longest wait between reconnection attempts, which back off from the hub's retry hint",
        { minMs: 1, maxMs: MAX_TIMER_MS, defaultMs: 30_000 },
      ),
    )
    .addHelpText("after", EXAMPLES)
    .action(async (targets: string[], options: ListenOptions) => {
      process.exitCode = await listen(targets, options)
    })
}

/**
 * Subscription URLs longer than this are sent as a `QUERY` with the matchers in the body
 * (Mercure's way for long lists): proxies and CDNs commonly refuse request lines of 4-8 KB.
 */
export const MAX_SUBSCRIPTION_URL = 2000

/** How to subscribe: a GET of `url`, or a QUERY of `url` with the matchers as a form `body`. */
export type Subscription =
  | { readonly method: "GET"; readonly url: string }
  | {
      readonly method: "QUERY"
      readonly url: string
      readonly body: URLSearchParams
    }

/**
 * The request to subscribe with: the URL given, or the hub URL with one matcher per topic,
 * moved into a QUERY body when the URL would be longer than {@link MAX_SUBSCRIPTION_URL}.
 */
export function subscriptionRequest(
  hubUrl: string,
  targets: readonly string[],
  urlpattern: boolean,
): Subscription {
  const [first] = targets
  if (targets.length === 1 && first !== undefined && isSubscriptionUrl(first, hubUrl))
    return { method: "GET", url: first }
  const matchers = new URLSearchParams(
    targets.map((topic) => [urlpattern ? "match_urlpattern" : "match", topic]),
  )
  const url = new URL(hubUrl)
  for (const [name, value] of matchers) url.searchParams.append(name, value)
  if (url.href.length <= MAX_SUBSCRIPTION_URL) return { method: "GET", url: url.href }
  return { method: "QUERY", url: hubUrl, body: matchers }
}

/**
 * The hub a lone full subscription URL is on (its origin and path), when nothing else says which:
 * the token is minted for that hub, not for the default one.
 */
function hubOfSubscriptionUrl(targets: readonly string[]): string | undefined {
  const [first] = targets
  if (targets.length !== 1 || first === undefined || !isSubscriptionUrl(first, DEFAULT_CLIENT_HUB_URL))
    return undefined
  const url = new URL(first)
  return `${url.origin}${url.pathname}`
}

function isSubscriptionUrl(target: string, hubUrl: string): boolean {
  let url: URL
  try {
    url = new URL(target)
  } catch {
    return false
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false
  if (url.pathname === new URL(hubUrl).pathname || url.pathname.endsWith("/.well-known/mercure")) return true
  return [...url.searchParams.keys()].some((name) => name === "topic" || name.startsWith("match"))
}

async function listen(targets: string[], options: ListenOptions): Promise<number> {
  const access = await resolveHubAccess(
    options,
    "subscriber",
    process.env,
    process.cwd(),
    hubOfSubscriptionUrl(targets),
  )
  const subscription = subscriptionRequest(access.hubUrl, targets, options.urlpattern === true)
  const where =
    subscription.method === "GET"
      ? subscription.url
      : `${subscription.url} (QUERY, ${targets.length} matchers in the body: too long for a URL)`
  const color = process.stdout.isTTY === true
  const controller = new AbortController()
  const source = new EventSource(subscription.url, {
    headers: access.token === undefined ? {} : { authorization: `Bearer ${access.token}` },
    ...(subscription.method === "QUERY" ? { method: "QUERY", body: subscription.body } : {}),
    ...(options.lastEventId === undefined ? {} : { lastEventId: options.lastEventId }),
    signal: controller.signal,
    // Back off while the hub is away (restart, deploy), and come back on 5xx/429 too.
    reconnect: { backoff: 2, maxDelay: options.maxRetryDelay, jitter: 0.2, retryOnStatus: true },
  })
  let lastId = options.lastEventId ?? ""
  let dropped = false
  let failure: number | undefined
  source.addEventListener("open", () => {
    if (dropped) {
      process.stderr.write(`reconnected${lastId === "" ? "" : `, resuming after ${lastId}`}\n`)
    } else {
      process.stderr.write(`listening on ${where}\n`)
    }
    dropped = false
  })
  source.addEventListener("error", (event) => {
    const error = event instanceof EventSourceErrorEvent ? event.error : undefined
    const certificate = untrustedCertificate(access.hubUrl, error)
    if (certificate !== undefined) {
      failure = 1
      process.stderr.write(`herald listen: ${certificate}\n`)
      controller.abort()
      return
    }
    if (source.readyState === EventSource.CONNECTING) {
      if (!dropped)
        process.stderr.write(`connection lost (${error?.message ?? "the stream ended"}); reconnecting…\n`)
      dropped = true
      return
    }
    failure = 1
    if (error instanceof EventSourceResponseError) {
      process.stderr.write(`herald listen: ${describeFailure(error, error.body, access.tokenSource)}\n`)
    } else {
      process.stderr.write(`herald listen: ${error?.message ?? "the connection closed"}\n`)
    }
  })
  const stop = () => controller.abort()
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  let received = 0
  try {
    for await (const event of source) {
      lastId = event.lastEventId
      process.stdout.write(formatEvent(event, { json: options.json === true, color }))
      received++
      if (options.count !== undefined && received >= options.count) break
    }
  } catch {
    // The error listener above has said why.
    failure ??= 1
  } finally {
    source.close()
    process.off("SIGINT", stop)
    process.off("SIGTERM", stop)
  }
  return failure ?? 0
}

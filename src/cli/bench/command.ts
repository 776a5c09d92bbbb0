import { writeFileSync } from "node:fs"
import { Command, InvalidArgumentError, Option } from "commander"
import { durationOption } from "../duration-argument.js"
import { type HubAccess, resolveHubAccess, UsageError } from "../hub-access.js"
import { normalizeHubUrl } from "../hub-url.js"
import { dataDirOption, positiveInteger, tokenOption } from "../publish.js"
import { openFileLimit } from "./fd-limit.js"
import { createBenchProgress } from "./progress.js"
import { renderTable } from "./render-table.js"
import { buildReport } from "./report.js"
import { runBench } from "./run.js"
import { svgChart } from "./svg-chart.js"

/** Subscribers are real connections: beyond this, one process on one address runs out of ports. */
const MAX_SUBSCRIBERS = 20_000
const MAX_RATE = 10_000
const MAX_DURATION_MS = 3_600_000
const MAX_WARMUP_OR_DRAIN_MS = 60_000
const MAX_CONNECT_CONCURRENCY = 1000
/** Bits of the delivery ledger (one per subscriber and publish on its topic): 125 MB at most. */
const MAX_TRACKED_DELIVERIES = 1_000_000_000
/** File descriptors beyond the subscribers' sockets: the publisher's pool, stdio, Node's own. */
const SPARE_FILE_DESCRIPTORS = 64

const EXAMPLES = `
Opens --subscribers real SSE connections to the hub (spread over --topics topics of
its own, unique to the run), publishes --rate updates a second for --duration after a
--warmup, waits up to --drain for the last deliveries, and measures each delivery's
publish→receive latency. Every socket is closed at the end.

Durations take a unit: "10s", "250ms", "1m" (a bare number other than 0 is refused).
The publisher token is --publisher-token, else --token, else HERALD_TOKEN, else one
minted from the dev secret of a dev-mode \`herald serve\` in this directory (the
same for the subscriber token with --subscriber-token).

Exit code: 0 every publish acknowledged and every expected delivery arrived exactly
once, 1 otherwise, 2 usage error.

Examples:
  $ herald bench http://localhost:8080/.well-known/mercure
  $ herald bench --subscribers 1000 --rate 50 --duration 30s --topics 10 "$HUB"
  $ herald bench --json "$HUB" | jq .latencyMs
  $ herald bench --svg latency.svg "$HUB"
  (a dev-mode herald serve admits 256 subscribers per address: raise it with
   --max-connections-per-address for larger runs)`

interface BenchOptions {
  readonly subscribers: number
  readonly topics: number
  readonly rate: number
  readonly duration: number
  readonly warmup: number
  readonly drain: number
  readonly connectConcurrency: number
  readonly token?: string
  readonly publisherToken?: string
  readonly subscriberToken?: string
  readonly dataDir?: string
  readonly json?: boolean
  readonly svg?: string
}

/** `herald bench <hub-url>`. */
export function benchCommand(): Command {
  return new Command("bench")
    .description("load-test a Mercure hub: N subscribers × R publishes/s, publish→receive latency")
    .argument("<hub-url>", "the hub (…/.well-known/mercure; a bare origin gets that path)")
    .option(
      "-n, --subscribers <n>",
      `SSE connections to open (at most ${MAX_SUBSCRIBERS})`,
      bounded(MAX_SUBSCRIBERS),
      100,
    )
    .option(
      "--topics <k>",
      "topics to spread the subscribers and publishes over",
      bounded(MAX_SUBSCRIBERS),
      1,
    )
    .option("-r, --rate <n>", `publishes a second (at most ${MAX_RATE})`, bounded(MAX_RATE), 10)
    .addOption(
      durationOption("-d, --duration <duration>", "how long to publish, measured (at least 1s)", {
        minMs: 1000,
        maxMs: MAX_DURATION_MS,
        defaultMs: 10_000,
      }),
    )
    .addOption(
      durationOption("--warmup <duration>", "publish this long first, not measured (0 for none)", {
        minMs: 0,
        maxMs: MAX_WARMUP_OR_DRAIN_MS,
        defaultMs: 1000,
      }),
    )
    .addOption(
      durationOption("--drain <duration>", "longest wait for deliveries after the last publish", {
        minMs: 0,
        maxMs: MAX_WARMUP_OR_DRAIN_MS,
        defaultMs: 5000,
      }),
    )
    .option(
      "--connect-concurrency <n>",
      "subscriptions opened at once while connecting",
      bounded(MAX_CONNECT_CONCURRENCY),
      100,
    )
    .addOption(tokenOption())
    .addOption(new Option("--publisher-token <jwt>", "bearer token for publishing (overrides --token)"))
    .addOption(new Option("--subscriber-token <jwt>", "bearer token for subscribing (overrides --token)"))
    .addOption(dataDirOption())
    .option("--json", "print the report as one JSON object")
    .option("--svg <file>", "also write a chart of latency and deliveries over time")
    .addHelpText("after", EXAMPLES)
    .action(async (hub: string, options: BenchOptions) => {
      process.exitCode = await bench(hub, options)
    })
}

async function bench(hub: string, options: BenchOptions): Promise<number> {
  checkLimits(options)
  const hubUrl = mercureUrl(hub)
  const publisher = await tokenFor("publisher", hubUrl, options.publisherToken, "--publisher-token", options)
  const subscriber = await tokenFor(
    "subscriber",
    hubUrl,
    options.subscriberToken,
    "--subscriber-token",
    options,
  )
  const progress = createBenchProgress(process.stderr)
  const result = await runBench(
    {
      hubUrl,
      publisherToken: publisher.token,
      publisherTokenSource: publisher.tokenSource,
      subscriberToken: subscriber.token,
      subscriberTokenSource: subscriber.tokenSource,
      subscribers: options.subscribers,
      topics: options.topics,
      rate: options.rate,
      durationMs: options.duration,
      warmupMs: options.warmup,
      drainMs: options.drain,
      connectConcurrency: options.connectConcurrency,
    },
    progress.update,
  )
  progress.clear()
  const report = buildReport(result)
  process.stdout.write(
    options.json === true
      ? `${JSON.stringify(report)}\n`
      : renderTable(report, { color: process.stdout.isTTY === true }),
  )
  if (options.svg !== undefined) {
    writeFileSync(options.svg, svgChart(report))
    process.stderr.write(`herald bench: chart written to ${options.svg}\n`)
  }
  return report.passed ? 0 : 1
}

/** Refuses, before opening anything, a run this process could not carry. */
function checkLimits(options: BenchOptions): void {
  if (options.topics > options.subscribers)
    throw new UsageError(
      `--topics ${options.topics}: more topics than --subscribers (${options.subscribers})`,
    )
  const limit = openFileLimit()
  if (limit !== undefined && options.subscribers + SPARE_FILE_DESCRIPTORS > limit) {
    throw new UsageError(
      `--subscribers ${options.subscribers} needs about ${options.subscribers + SPARE_FILE_DESCRIPTORS} open files, and this process may open ${limit}: raise the limit (ulimit -n ${options.subscribers + SPARE_FILE_DESCRIPTORS}) or lower --subscribers`,
    )
  }
  const perTopic = Math.ceil(Math.ceil((options.rate * options.duration) / 1000) / options.topics)
  if (options.subscribers * perTopic > MAX_TRACKED_DELIVERIES) {
    throw new UsageError(
      `${options.subscribers} subscribers × ${perTopic} publishes each is more deliveries than bench tracks (${MAX_TRACKED_DELIVERIES.toLocaleString("en-US")}): lower --subscribers, --rate or --duration, or add --topics`,
    )
  }
}

/** The hub URL without query or fragment; a bare origin gets the well-known path. */
function mercureUrl(hub: string): URL {
  const href = normalizeHubUrl(hub)
  if (href === undefined) throw new UsageError(`"${hub}": expected an absolute http:// or https:// URL`)
  const url = new URL(href)
  url.search = ""
  url.hash = ""
  return url
}

/** A role's token, found the way `herald publish` finds it, after the role's own flag. */
async function tokenFor(
  role: "publisher" | "subscriber",
  hubUrl: URL,
  roleToken: string | undefined,
  roleFlag: string,
  options: BenchOptions,
): Promise<HubAccess> {
  if (roleToken !== undefined) return { hubUrl: hubUrl.href, token: roleToken, tokenSource: roleFlag }
  const access = { hub: hubUrl.href, token: options.token, dataDir: options.dataDir }
  return resolveHubAccess(access, role, process.env, process.cwd())
}

function bounded(max: number): (value: string) => number {
  return (value) => {
    const number = positiveInteger(value)
    if (number > max) throw new InvalidArgumentError(`at most ${max.toLocaleString("en-US")}`)
    return number
  }
}

import { Command, InvalidArgumentError } from "commander"
import { durationOption } from "../duration-argument.js"
import { resolveHubAccess } from "../hub-access.js"
import { dataDirOption, tokenOption } from "../publish.js"
import { diagnose, type MercureAccess } from "./diagnose.js"
import { PROBE_COUNT } from "./probe.js"
import { createProgress } from "./progress.js"
import { renderJson } from "./render-json.js"
import { renderText } from "./render-text.js"

const EXAMPLES = `
Watches the stream for --duration, reconnects once with Last-Event-ID, and judges the
response headers, compression, HTTP version, timing, bursts, heartbeats, ids, retry and
the replay: a verdict per check (✓ pass, ! warn, ✗ fail, – skipped) with a fix for nginx,
Caddy, AWS ALB, Cloudflare or the server.

On a Mercure hub (a URL ending in /.well-known/mercure) it subscribes to a topic of its
own and publishes ${PROBE_COUNT} probe updates on it, to measure delivery end to end. The token is
--token, else HERALD_TOKEN, else one minted from the dev secret of a dev-mode
\`herald serve\` in this directory.

Exit code: 0 no check failed, 1 a check failed, 2 usage error.

Examples:
  $ herald doctor https://example.com/events
  $ herald doctor --duration 70s https://example.com/events     (long enough to see idle timeouts)
  $ herald doctor http://localhost:8080/.well-known/mercure
  $ herald doctor --json https://example.com/events | jq '.checks[] | select(.verdict != "pass")'`

interface DoctorOptions {
  readonly duration: number
  readonly timeout: number
  readonly json?: boolean
  readonly insecure?: boolean
  readonly probe: boolean
  readonly token?: string
  readonly dataDir?: string
}

/** `herald doctor <url>`. */
export function doctorCommand(): Command {
  return new Command("doctor")
    .description("diagnose any SSE endpoint and say what to change (headers, proxies, heartbeats, resume)")
    .argument("<url>", "the event stream (http:// or https://)", absoluteUrl)
    .addOption(
      durationOption("--duration <duration>", "how long to watch the stream (e.g. 20s, 1500ms)", {
        minMs: 1000,
        maxMs: 3_600_000,
        defaultMs: 20_000,
      }),
    )
    .addOption(
      durationOption(
        "--timeout <duration>",
        "longest wait for the headers, and for the replay after resuming",
        {
          minMs: 100,
          maxMs: 600_000,
          defaultMs: 10_000,
        },
      ),
    )
    .option("--json", "print the report as one JSON object")
    .option("-k, --insecure", "accept any TLS certificate (self-signed test servers)")
    .option("--no-probe", "on a Mercure hub, only watch: publish no probe updates")
    .addOption(tokenOption())
    .addOption(dataDirOption())
    .addHelpText("after", EXAMPLES)
    .action(async (url: URL, options: DoctorOptions) => {
      process.exitCode = await doctor(url, options)
    })
}

async function doctor(url: URL, options: DoctorOptions): Promise<number> {
  const progress = createProgress(process.stderr, options.duration)
  const diagnosis = await diagnose({
    url,
    durationMs: options.duration,
    timeoutMs: options.timeout,
    insecure: options.insecure === true,
    mercure: options.probe && isMercureHub(url) ? await mercureAccess(url, options) : undefined,
    onProgress: progress.update,
  })
  progress.clear()
  process.stdout.write(
    options.json === true
      ? renderJson(diagnosis)
      : renderText(diagnosis, { color: process.stdout.isTTY === true }),
  )
  return diagnosis.checks.some((check) => check.verdict === "fail") ? 1 : 0
}

function isMercureHub(url: URL): boolean {
  return url.pathname.endsWith("/.well-known/mercure")
}

/** The hub and its tokens, found the way `herald publish` and `herald listen` find them. */
async function mercureAccess(url: URL, options: DoctorOptions): Promise<MercureAccess> {
  const hub = `${url.origin}${url.pathname}`
  const access = { hub, token: options.token, dataDir: options.dataDir }
  const publisher = await resolveHubAccess(access, "publisher", process.env, process.cwd())
  const subscriber = await resolveHubAccess(access, "subscriber", process.env, process.cwd())
  return {
    hubUrl: hub,
    publisherToken: publisher.token,
    subscriberToken: subscriber.token,
    publisherTokenSource: publisher.tokenSource,
    subscriberTokenSource: subscriber.tokenSource,
  }
}

function absoluteUrl(value: string): URL {
  try {
    const url = new URL(value)
    if (url.protocol === "http:" || url.protocol === "https:") return url
  } catch {
    // Reported below, with what is expected.
  }
  throw new InvalidArgumentError("expected an absolute http:// or https:// URL")
}

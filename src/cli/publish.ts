import { Command, InvalidArgumentError, Option } from "commander"
import { durationOption, MAX_TIMER_MS } from "./duration-argument.js"
import { describeFailure, hubUnreachable } from "./http-errors.js"
import { DEFAULT_CLIENT_HUB_URL, type HubAccessOptions, resolveHubAccess } from "./hub-access.js"

/** The most `-` reads from stdin: far above any hub's body limit, but bounded. */
const MAX_STDIN_BYTES = 64 * 1024 * 1024

/** The longest `--retry` hint: a week (a longer one is a mistake, and EventSource clamps it anyway). */
const MAX_RETRY_MS = 7 * 86_400_000

const EXAMPLES = `
The token is --token, else HERALD_TOKEN, else one minted from the dev secret that
\`herald serve\` keeps in ./herald-data (dev mode, same directory).

Examples:
  $ herald publish https://example.com/books/1 '{"title":"Dune"}'
  $ herald publish https://example.com/books/1 - < book.json
  $ herald publish /books/1 'out of stock' --type stock --private --topic /authors/7
  $ herald publish --hub https://hub.example.com/.well-known/mercure --token "$JWT" orders/42 shipped`

interface PublishOptions extends HubAccessOptions {
  readonly topic?: string[]
  readonly id?: string
  readonly type?: string
  /** ms. */
  readonly retry?: number
  readonly private?: boolean
  /** ms. */
  readonly timeout: number
}

/** `herald publish <topic> <data>`. */
export function publishCommand(): Command {
  return new Command("publish")
    .description("publish an update to a hub and print its id")
    .argument("<topic>", "the update's topic (its canonical identifier, usually a URL)")
    .argument("<data>", 'the update\'s data; "-" reads it from stdin')
    .addOption(hubOption())
    .addOption(tokenOption())
    .addOption(dataDirOption())
    .option("--topic <topic>", "an alternate topic (repeatable)", collect)
    .option("--id <id>", "the update's id (default: the hub generates one)")
    .option("--type <type>", "the SSE event type")
    .addOption(
      durationOption("--retry <duration>", "the SSE retry hint sent with the update (e.g. 5s, 1500ms)", {
        minMs: 1,
        maxMs: MAX_RETRY_MS,
      }),
    )
    .option("--private", "deliver only to subscribers authorized for the topic")
    .addOption(
      durationOption("--timeout <duration>", "give up after this long (e.g. 10s, 1m)", {
        minMs: 1,
        maxMs: MAX_TIMER_MS,
        defaultMs: 30_000,
      }),
    )
    .addHelpText("after", EXAMPLES)
    .action(async (topic: string, data: string, options: PublishOptions) => {
      process.exitCode = await publish(topic, data, options)
    })
}

/** Shared by the client commands. */
export function hubOption(): Option {
  // No commander default: HERALD_HUB_URL applies when the flag is absent (see resolveHubAccess).
  return new Option(
    "--hub <url>",
    `the hub URL; a bare origin gets /.well-known/mercure (default: ${DEFAULT_CLIENT_HUB_URL}) [env: HERALD_HUB_URL]`,
  )
}

/** Shared by the client commands. */
export function tokenOption(): Option {
  return new Option(
    "--token <jwt>",
    "bearer token (default: minted from the dev secret, if there is one) [env: HERALD_TOKEN]",
  )
}

/** Shared by the client commands. */
export function dataDirOption(): Option {
  return new Option(
    "--data-dir <dir>",
    "where herald serve keeps the dev secret (default: ./herald-data) [env: HERALD_DATA_DIR]",
  )
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** Commander argument parser for a whole number ≥ 1. */
export function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError("expected a whole number ≥ 1")
  }
  return Number(value)
}

async function publish(topic: string, data: string, options: PublishOptions): Promise<number> {
  const access = await resolveHubAccess(options, "publisher", process.env, process.cwd())
  const body = new URLSearchParams()
  for (const value of [topic, ...(options.topic ?? [])]) body.append("topic", value)
  body.append("data", data === "-" ? await readStdin() : data)
  if (options.id !== undefined) body.append("id", options.id)
  if (options.type !== undefined) body.append("type", options.type)
  if (options.retry !== undefined) body.append("retry", String(options.retry))
  // "The presence of the field name marks the update as private regardless of its value"; "on"
  // is the value the draft recommends.
  if (options.private) body.append("private", "on")
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" }
  if (access.token !== undefined) headers.authorization = `Bearer ${access.token}`
  let response: Response
  try {
    response = await fetch(access.hubUrl, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(options.timeout),
    })
  } catch (error) {
    process.stderr.write(`herald publish: ${hubUnreachable(access.hubUrl, error)}\n`)
    return 1
  }
  const text = await response.text()
  if (!response.ok) {
    process.stderr.write(`herald publish: ${describeFailure(response, text, access.tokenSource)}\n`)
    return 1
  }
  process.stdout.write(`${text.trim()}\n`)
  return 0
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_STDIN_BYTES) throw new Error(`stdin holds more than ${MAX_STDIN_BYTES} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString("utf8")
}

import type { Diagnosis } from "./diagnose.js"
import { seconds } from "./format.js"
import type { Verdict } from "./verdict.js"

const SYMBOLS: Readonly<Record<Verdict, string>> = { pass: "✓", warn: "!", fail: "✗", skip: "–" }
const COLORS: Readonly<Record<Verdict, string>> = { pass: "32", warn: "33", fail: "31", skip: "2" }

/** The report for a terminal: one aligned line per check, fixes under the ones that need them. */
export function renderText(diagnosis: Diagnosis, options: { color: boolean }): string {
  const paint = (code: string, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text)
  const { observation, checks } = diagnosis
  const lines = [`herald doctor ${paint("1", observation.url.href)}`]
  if (observation.status !== undefined) {
    const type = observation.headers["content-type"] ?? "no content-type"
    const heartbeats = observation.commentsMs.length
    // A response that is not 200 is not watched: there is no stream to count.
    const watched =
      observation.status === 200
        ? ` · watched ${seconds(observation.watchedMs)}: ${observation.events.length} event(s), ${heartbeats} heartbeat(s)`
        : ""
    lines.push(paint("2", `HTTP/${observation.httpVersion} ${observation.status} · ${type}${watched}`))
  }
  lines.push("")
  const width = Math.max(...checks.map((check) => check.id.length)) + 2
  const indent = " ".repeat(4 + width)
  for (const check of checks) {
    const symbol = paint(COLORS[check.verdict], SYMBOLS[check.verdict])
    lines.push(`  ${symbol} ${check.id.padEnd(width)}${check.reason}`)
    for (const fix of check.fixes) {
      const [first, ...rest] = fix.snippet.split("\n")
      const label = `fix (${fix.target}): `
      lines.push(`${indent}${paint("2", label)}${paint("36", first ?? "")}`)
      for (const line of rest) lines.push(`${indent}${" ".repeat(label.length)}${paint("36", line)}`)
    }
  }
  const count = (verdict: Verdict) => checks.filter((check) => check.verdict === verdict).length
  const summary = [
    paint(COLORS.fail, `${count("fail")} fail`),
    paint(COLORS.warn, `${count("warn")} warn`),
    paint(COLORS.pass, `${count("pass")} pass`),
    `${count("skip")} skipped`,
  ]
  lines.push("", summary.join(" · "), "")
  return lines.join("\n")
}

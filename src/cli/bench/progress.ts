import { seconds } from "../doctor/format.js"
import { count } from "./render-table.js"
import type { Phase, ProgressSnapshot } from "./run.js"

/** Shows a run's progress on stderr. */
export interface BenchProgress {
  update(snapshot: ProgressSnapshot): void
  /** Erases the bar, before the report is printed. */
  clear(): void
}

const BAR_WIDTH = 24

/**
 * A progress bar redrawn in place when `stream` is a terminal; otherwise one plain line as each
 * phase begins (a CI log wants to know where a run is, not a hundred carriage returns).
 */
export function createBenchProgress(stream: NodeJS.WriteStream): BenchProgress {
  let lastPhase: Phase | undefined
  if (stream.isTTY !== true) {
    return {
      update(snapshot) {
        if (snapshot.phase === lastPhase) return
        lastPhase = snapshot.phase
        stream.write(`herald bench: ${phaseLine(snapshot)}\n`)
      },
      clear() {},
    }
  }
  return {
    update(snapshot) {
      const filled = Math.round(
        (Math.min(snapshot.done, snapshot.total) / Math.max(1, snapshot.total)) * BAR_WIDTH,
      )
      const bar = `${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}`
      const amount =
        snapshot.phase === "connecting"
          ? `${count(snapshot.done)}/${count(snapshot.total)}`
          : `${seconds(snapshot.done)} / ${seconds(snapshot.total)}`
      const errors = snapshot.errors > 0 ? ` · ${count(snapshot.errors)} error(s)` : ""
      stream.write(
        `\r\x1b[2K${snapshot.phase.padEnd(10)} ${bar} ${amount} · ${count(snapshot.connected)} connected · ${count(snapshot.deliveries)} deliveries${errors}`,
      )
    },
    clear() {
      stream.write("\r\x1b[2K")
    },
  }
}

function phaseLine(snapshot: ProgressSnapshot): string {
  switch (snapshot.phase) {
    case "connecting":
      return `connecting ${count(snapshot.total)} subscriber(s)…`
    case "warmup":
      return `${count(snapshot.connected)} connected; warming up for ${seconds(snapshot.total)}…`
    case "running":
      return `${count(snapshot.connected)} connected; publishing for ${seconds(snapshot.total)}…`
    case "draining":
      return `waiting up to ${seconds(snapshot.total)} for deliveries still on their way…`
  }
}

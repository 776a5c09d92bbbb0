// Small helpers shared by the benchmarks: robust statistics and Markdown output.

/** The median of a list of numbers (the mean of the two middle values for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

/** Prints a titled Markdown table, ready to paste into docs/benchmarks.md. */
export function printTable(title, header, rows) {
  console.log(`\n### ${title}\n`)
  console.log(`| ${header.join(" | ")} |`)
  console.log(`| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`)
  for (const row of rows) console.log(`| ${row.join(" | ")} |`)
}

/** CPU time (user + system, all threads) in µs between two `process.cpuUsage()` readings. */
export function cpuMicrosBetween(before, after) {
  return after.user - before.user + after.system - before.system
}

// Runs every benchmark in bench/ (files named *.bench.js), each in its own Node process so one
// cannot warm up or pollute the heap of the next. `npm run bench -- parser` runs only names that
// contain "parser". Every benchmark measures Herald against a named peer in the same run.
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const filters = process.argv.slice(2)
const files = readdirSync(here)
  .filter((name) => name.endsWith(".bench.js"))
  .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
  .sort()

if (files.length === 0) {
  console.error(`No benchmark matches ${filters.join(", ")}. Available: ${readdirSync(here).join(", ")}`)
  process.exit(1)
}
let failed = 0
for (const file of files) {
  console.log(`\n=== ${file} ===`)
  const { status } = spawnSync(process.execPath, ["--expose-gc", join(here, file)], { stdio: "inherit" })
  if (status !== 0) failed++
}
process.exit(failed === 0 ? 0 : 1)

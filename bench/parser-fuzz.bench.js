// Parser fuzz: the properties of test/protocol/reference-properties.ts — createParser against a
// naive reading of the WHATWG algorithm, on arbitrary streams (strings, bytes, invalid UTF-8, a
// second stream after end()) cut into arbitrary chunks — with a large run count. Reports runs/s
// per property and any counterexample; exits non-zero on one.
// Run: npm run bench -- parser-fuzz   (--quick: a smoke run; --runs N and --seconds S per
// property change the bounds; --seed S replays).
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"
import { printTable } from "./stats.js"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const quick = process.argv.includes("--quick")
const option = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}
const runs = option("runs", quick ? 2000 : 200_000)
const seconds = option("seconds", quick ? 5 : 60)
const seed = option("seed", Math.floor(Math.random() * 0x7fffffff))

// The properties are TypeScript test code: bundled (fast-check included, so that they and fc.check
// share one instance) and imported from memory.
const bundle = await build({
  stdin: {
    contents: `export { referenceProperties } from "./test/protocol/reference-properties.ts"
export { default as fc } from "fast-check"`,
    resolveDir: root,
    loader: "ts",
  },
  bundle: true,
  write: false,
  format: "esm",
  platform: "node",
})
const { referenceProperties, fc } = await import(
  `data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`
)

console.log(`seed ${seed}: up to ${runs} runs or ${seconds} s per property (replay with --seed ${seed})`)
const rows = []
let failures = 0
for (const [claim, property] of Object.entries(referenceProperties)) {
  const started = performance.now()
  const details = fc.check(property, { seed, numRuns: runs, interruptAfterTimeLimit: seconds * 1000 })
  const elapsed = (performance.now() - started) / 1000
  rows.push([
    claim,
    String(details.numRuns),
    Math.round(details.numRuns / elapsed).toLocaleString("en-US"),
    details.failed ? "FAILED" : details.interrupted ? "ok (time bound)" : "ok",
  ])
  if (details.failed) {
    failures++
    console.error(`\n${claim}:\n${fc.defaultReportMessage(details)}`)
  }
}
printTable("Parser fuzz against the reference algorithm", ["property", "runs", "runs/s", "result"], rows)
process.exit(failures === 0 ? 0 : 1)

// Browser bundle size of the client: each library bundled by esbuild the same way (ESM,
// browser platform, minified, every dependency inlined), then measured raw, gzip and brotli.
// Writes the browser-ready build of herald/client to a temp dir and prints its path.
// Run: npm run bench -- client-size
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { brotliCompressSync, constants, gzipSync } from "node:zlib"
import { build } from "esbuild"
import { printTable } from "./stats.js"

const heraldClient = fileURLToPath(import.meta.resolve("herald/client"))

/** What each row bundles: the entry module's source. */
const entries = [
  ["herald/client (everything)", `export * from ${JSON.stringify(heraldClient)}`],
  ["herald/client (EventSource only)", `export { EventSource } from ${JSON.stringify(heraldClient)}`],
  ["eventsource 4 (EventSource)", `export { EventSource } from "eventsource"`],
  ["@microsoft/fetch-event-source 2", `export { fetchEventSource } from "@microsoft/fetch-event-source"`],
]

async function bundle(source) {
  const result = await build({
    stdin: { contents: source, resolveDir: process.cwd(), loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "error",
  })
  return result.outputFiles[0].contents
}

const rows = []
let heraldBuild
for (const [name, source] of entries) {
  const code = await bundle(source)
  heraldBuild ??= code
  const gzip = gzipSync(code, { level: 9 }).length
  const brotli = brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length
  rows.push(
    [name, code.length, gzip, brotli].map((value) =>
      typeof value === "number" ? value.toLocaleString("en") : value,
    ),
  )
}
printTable(
  "Client bundle size (bytes; esbuild --bundle --minify --format=esm --platform=browser)",
  ["library", "raw", "gzip -9", "brotli -q 11"],
  rows,
)

const out = join(mkdtempSync(join(tmpdir(), "herald-client-")), "herald-client.min.js")
writeFileSync(out, heraldBuild)
console.log(`\nBrowser-ready ESM build of herald/client: ${out}`)

// The examples in README.md and docs/*.md import what the package exports: every
// `import { … } from "herald/…"` names a subpath of package.json "exports" and values that
// subpath's module exports, and no example imports a file of dist/ (a package user cannot:
// ERR_PACKAGE_PATH_NOT_EXPORTED).
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const ROOT = join(import.meta.dirname, "..", "..")

const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  exports: Record<string, string | { import: string }>
}

const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).map((name) => join("docs", name))].filter(
  (path) => path.endsWith(".md"),
)

/** The source module behind a package subpath ("herald/engine" → src/engine/index.ts). */
function sourceOf(specifier: string): string | undefined {
  const entry = PACKAGE.exports[`.${specifier.slice("herald".length)}`]
  if (entry === undefined) return undefined
  const target = typeof entry === "string" ? entry : entry.import
  // The browser bundle is src/client built by esbuild (package.json "build:browser").
  if (target === "./dist/browser/herald-client.js") return join(ROOT, "src", "client", "index.ts")
  return join(ROOT, target.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"))
}

interface DocImport {
  readonly doc: string
  readonly specifier: string
  readonly names: readonly string[]
}

function importsOf(doc: string): DocImport[] {
  const text = readFileSync(join(ROOT, doc), "utf8")
  const found: DocImport[] = []
  for (const match of text.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s*from\s*"(herald(?:\/[\w/-]+)?)"/g)) {
    if (match[1] !== undefined) continue
    const names = (match[2] ?? "")
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part !== "" && !part.startsWith("type "))
      .map((part) => part.split(/\s+as\s+/)[0] as string)
    found.push({ doc, specifier: match[3] as string, names })
  }
  return found
}

const IMPORTS = DOCS.flatMap(importsOf)

describe("the docs' examples import what the package exports", () => {
  it("finds the examples' imports (README's and docs/hub.md's among them)", () => {
    expect(IMPORTS.some((entry) => entry.doc === "README.md")).toBe(true)
    expect(IMPORTS.some((entry) => entry.doc === join("docs", "hub.md"))).toBe(true)
  })

  it.each(IMPORTS)("$doc: { $names } from $specifier", async ({ specifier, names }) => {
    const source = sourceOf(specifier)
    expect(source, `${specifier} is not in package.json "exports"`).toBeDefined()
    const module = (await import(source as string)) as Record<string, unknown>
    const missing = names.filter((name) => !(name in module))
    expect(missing, `${specifier} does not export these`).toEqual([])
  })

  it.each(DOCS)("%s imports no file of dist/ (a package user cannot)", (doc) => {
    const text = readFileSync(join(ROOT, doc), "utf8")
    expect(text.match(/from\s*"(\.{1,2}\/)+dist\/[^"]*"/g) ?? []).toEqual([])
  })
})

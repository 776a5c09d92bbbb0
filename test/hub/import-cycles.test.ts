// Imports point one way (DESIGN.md "Layout"): no file of the hub reaches itself again through
// its relative imports, type-only ones included (a type cycle is still a design knot).
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"

const SRC = join(import.meta.dirname, "..", "..", "src")

/** Every cycle among the `.ts` files under `dir`, each as a list of paths relative to src/. */
function importCycles(dir: string): string[][] {
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => resolve(dir, file))
  const graph = new Map<string, string[]>()
  for (const file of files) {
    const targets = [...readFileSync(file, "utf8").matchAll(/from\s+"(\.{1,2}\/[^"]+)\.js"/g)]
    graph.set(
      file,
      targets.map((match) => resolve(dirname(file), `${match[1]}.ts`)),
    )
  }
  const done = new Set<string>()
  const cycles: string[][] = []
  const visit = (file: string, path: string[]): void => {
    path.push(file)
    for (const target of graph.get(file) ?? []) {
      const at = path.indexOf(target)
      if (at !== -1) cycles.push([...path.slice(at), target].map((each) => relative(SRC, each)))
      else if (graph.has(target) && !done.has(target)) visit(target, path)
    }
    path.pop()
    done.add(file)
  }
  for (const file of graph.keys()) if (!done.has(file)) visit(file, [])
  return cycles
}

describe("imports", () => {
  it("src/hub has no import cycle (auth keys and verifier included)", () => {
    expect(importCycles(join(SRC, "hub"))).toEqual([])
  })
})

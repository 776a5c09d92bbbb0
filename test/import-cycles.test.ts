// Imports point one way (DESIGN.md "Layout"): no file of src/ reaches itself again through its
// relative imports, type-only ones included (a type cycle is still a design knot), and each
// folder imports only the folders below it.
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"

const SRC = join(import.meta.dirname, "..", "src")

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

/** The folders (first path segment under src/) that `folder`'s files import, and their `node:` built-ins. */
function importsOf(folder: string): { folders: Set<string>; builtins: Set<string> } {
  const dir = join(SRC, folder)
  const folders = new Set<string>()
  const builtins = new Set<string>()
  for (const file of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".ts")) continue
    const path = resolve(dir, file)
    const text = readFileSync(path, "utf8")
    for (const match of text.matchAll(/from\s+"(\.{1,2}\/[^"]+)"/g)) {
      const target = relative(SRC, resolve(dirname(path), match[1] as string))
      folders.add(target.includes("/") ? (target.split("/")[0] as string) : target)
    }
    for (const match of text.matchAll(/from\s+"(node:[^"]+)"/g)) builtins.add(match[1] as string)
  }
  folders.delete(folder)
  return { folders, builtins }
}

describe("imports", () => {
  it.each([
    ["protocol", []],
    ["client", ["protocol"]],
    ["server", ["protocol", "logger.js", "timer-delay.js"]],
    ["auth", []],
    ["engine", ["logger.js", "timer-delay.js"]],
    ["ai", ["protocol", "server", "engine", "auth", "logger.js", "timer-delay.js"]],
  ])("src/%s imports only from %j", (folder, allowed) => {
    const { folders } = importsOf(folder)
    expect([...folders].filter((each) => !allowed.includes(each))).toEqual([])
  })

  it.each(["protocol", "client", "ai/ai-sdk"])(
    "src/%s imports no Node built-in (it runs in browsers)",
    (folder) => {
      expect([...importsOf(folder).builtins]).toEqual([])
    },
  )

  it("src/ has no import cycle", () => {
    expect(importCycles(SRC)).toEqual([])
  })
})

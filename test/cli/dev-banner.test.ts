import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { heraldCommand } from "../../src/cli/dev-banner.js"

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A temporary directory holding `paths` (directories; a path ending in a file name gets an empty file). */
function tree(...files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), "herald-banner-"))
  dirs.push(root)
  for (const file of files) {
    mkdirSync(join(root, file, ".."), { recursive: true })
    writeFileSync(join(root, file), "")
  }
  return root
}

describe("heraldCommand", () => {
  it("in a clone: node on the built CLI, which runs at once (npx would install the package first)", () => {
    const clone = tree("dist/cli/herald.js")
    expect(heraldCommand(clone, join(clone, "dist", "cli", "herald.js"))).toBe(
      `node ${join("dist", "cli", "herald.js")}`,
    )
  })

  it("in a project that depends on herald, or a directory below it: npx herald, which runs the installed bin", () => {
    const project = tree("node_modules/.bin/herald", "node_modules/herald/dist/cli/herald.js", "src/app.js")
    const script = join(project, "node_modules", "herald", "dist", "cli", "herald.js")
    expect(heraldCommand(project, script)).toBe("npx herald")
    expect(heraldCommand(join(project, "src"), script)).toBe("npx herald")
  })

  it("where no node_modules/.bin/herald is found upwards: node with the CLI's absolute path, never npx (it would fetch whatever the registry calls herald)", () => {
    const clone = tree("dist/cli/herald.js")
    const script = join(clone, "dist", "cli", "herald.js")
    const elsewhere = tree("notes.txt")
    expect(heraldCommand(elsewhere, script)).toBe(`node ${script}`)
    // Below the clone too: its relative path would not be dist/cli/herald.js there.
    mkdirSync(join(clone, "docs"))
    expect(heraldCommand(join(clone, "docs"), script)).toBe(`node ${script}`)
    // A package installed elsewhere (globally, say), run from a directory without it.
    const global = tree("lib/node_modules/herald/dist/cli/herald.js")
    const installed = join(global, "lib", "node_modules", "herald", "dist", "cli", "herald.js")
    expect(heraldCommand(elsewhere, installed)).toBe(`node ${installed}`)
  })

  it("quotes a path the shell would split", () => {
    const root = tree("my clone/dist/cli/herald.js")
    const script = join(root, "my clone", "dist", "cli", "herald.js")
    expect(heraldCommand(tree("x"), script)).toBe(`node '${script}'`)
  })
})

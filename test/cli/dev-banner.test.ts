import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { heraldCommand } from "../../src/cli/dev-banner.js"

describe("heraldCommand", () => {
  const clone = join("/home", "me", "herald")
  const script = join(clone, "dist", "cli", "herald.js")

  it("in a clone: node on the built CLI, which runs at once (npx would install the package first)", () => {
    expect(heraldCommand(clone, script)).toBe(`node ${join("dist", "cli", "herald.js")}`)
  })

  it("in a project that depends on herald, or anywhere else: npx herald", () => {
    const project = join("/home", "me", "app")
    expect(heraldCommand(project, join(project, "node_modules", "herald", "dist", "cli", "herald.js"))).toBe(
      "npx herald",
    )
    expect(heraldCommand(join("/tmp", "elsewhere"), script)).toBe("npx herald")
  })
})

// The built CLI's help and its answers to bad invocations: every setting documented, and
// configuration errors reported with the source, the key and what is expected, before any port
// is opened.
import { spawn } from "node:child_process"
import { once } from "node:events"
import { describe, expect, it } from "vitest"
import { envOf, FIELDS, flagOf } from "../../src/cli/config.js"
import { HERALD, heraldDone, tempCwd, useCliProcesses } from "./cli-helpers.js"

useCliProcesses()

describe("herald --help", () => {
  it("lists the commands with a line each, and examples", async () => {
    const { code, stdout } = await heraldDone(["--help"], { cwd: tempCwd() })
    expect(code).toBe(0)
    expect(stdout).toMatch(/^Usage: herald \[options\] \[command\]/)
    expect(stdout).toMatch(/\n {2}serve \[options\] +run the Mercure hub/)
    expect(stdout).toMatch(/\n {2}publish \[options\] <topic> <data> +publish an update/)
    expect(stdout).toMatch(/\n {2}listen \[options\] <topic\|url\.\.\.> +subscribe to topics/)
    expect(stdout).toContain("Examples:\n  $ herald serve")
  })

  it("prints the version", async () => {
    const { code, stdout } = await heraldDone(["--version"], { cwd: tempCwd() })
    expect(code).toBe(0)
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })

  it("ends quietly when its reader stops early (| head)", async () => {
    const child = spawn(process.execPath, [HERALD, "serve", "--help"], {
      cwd: tempCwd(),
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    // The reader is gone before the help is written, as after `head -1` read what it wanted.
    child.stdout.destroy()
    const [code] = (await once(child, "exit")) as [number | null]
    expect(stderr).toBe("")
    expect(code).toBe(0)
    // A running hub whose log (stdout) is gone fails, so that its supervisor restarts it.
    const hub = spawn(process.execPath, [HERALD, "serve", "--engine", "memory", "--port", "0"], {
      cwd: tempCwd(),
      stdio: ["ignore", "pipe", "ignore"],
    })
    hub.stdout.destroy()
    const [hubCode] = (await once(hub, "exit")) as [number | null]
    expect(hubCode).not.toBe(0)
  })

  it("suggests the nearest command for a typo, exit 2", async () => {
    const { code, stderr } = await heraldDone(["serv"], { cwd: tempCwd() })
    expect(code).toBe(2)
    expect(stderr).toContain("unknown command 'serv'")
    expect(stderr).toContain("Did you mean serve?")
  })
})

describe("herald serve --help", () => {
  it("documents every setting: its flag, its env variable, and --no-x for on/off ones", async () => {
    const { code, stdout } = await heraldDone(["serve", "--help"], { cwd: tempCwd() })
    expect(code).toBe(0)
    // Help lines wrap at 80 columns: compare with the whitespace collapsed.
    const help = stdout.replace(/\s+/g, " ")
    expect(help).toContain("-c, --config <file>")
    for (const field of FIELDS) {
      const flag = flagOf(field.key)
      expect(help).toContain("arg" in field ? `${flag} ${field.arg}` : flag)
      expect(help).toContain(`[env: ${envOf(field.key)}]`)
      if (!("arg" in field)) expect(help).toContain(`--no-${flag.slice(2)}`)
      if (field.shownDefault !== undefined) expect(help).toContain(`(default: ${field.shownDefault})`)
    }
    for (const heading of [
      "Server:",
      "Storage:",
      "Authorization:",
      "Protocol:",
      "Durable Streams:",
      "Limits:",
      "Process:",
      "Examples:",
    ]) {
      expect(stdout).toContain(`\n${heading}\n`)
    }
  })

  it("publish --help and listen --help list their options with examples", async () => {
    const commands = {
      publish: [
        "--hub <url>",
        "--token <jwt>",
        "--id <id>",
        "--type <type>",
        "--retry <duration>",
        "--timeout <duration>",
        "--private",
        "--topic <topic>",
      ],
      listen: [
        "--hub <url>",
        "--token <jwt>",
        "--urlpattern",
        "--json",
        "--count <n>",
        "--max-retry-delay <duration>",
        "--last-event-id",
      ],
    }
    for (const [command, options] of Object.entries(commands)) {
      const help = await heraldDone([command, "--help"], { cwd: tempCwd() })
      expect(help.code).toBe(0)
      for (const option of options) expect(help.stdout).toContain(option)
      expect(help.stdout).toContain("Examples:")
    }
  })
})

describe("herald serve refuses a bad configuration before listening (exit 2)", () => {
  it("names the env variable, its value and what is expected", async () => {
    const { code, stderr, stdout } = await heraldDone(["serve"], {
      cwd: tempCwd(),
      env: { HERALD_PORT: "abc" },
    })
    expect(code).toBe(2)
    expect(stderr).toContain('HERALD_PORT="abc": expected a port number 0–65535')
    expect(stdout).not.toContain("listening")
  })

  it("refuses a streams timeout Node cannot keep, naming the setting, and exits", async () => {
    const { code, stdout, stderr } = await heraldDone(
      ["serve", "--engine", "memory", "--port", "0", "--streams-sse-lifetime", "30d"],
      { cwd: tempCwd() },
    )
    expect(code).toBe(2)
    expect(`${stdout}${stderr}`).toContain('--streams-sse-lifetime "30d": expected a duration')
    expect(`${stdout}${stderr}`).toContain("to 24d")
  })

  it("suggests the nearest flag for an unknown one", async () => {
    const { code, stderr } = await heraldDone(["serve", "--prot", "80"], { cwd: tempCwd() })
    expect(code).toBe(2)
    expect(stderr).toContain("unknown option '--prot'")
    expect(stderr).toContain("--port")
  })

  it("points --redis-url, another server's flag, at --engine", async () => {
    const { code, stderr } = await heraldDone(["serve", "--redis-url", "redis://127.0.0.1:6379"], {
      cwd: tempCwd(),
    })
    expect(code).toBe(2)
    expect(stderr).toContain(
      "unknown option '--redis-url'\n(the Redis URL is the engine: --engine redis://host:port)",
    )
  })

  it("lists every issue of a config file at once", async () => {
    const cwd = tempCwd()
    const { writeFileSync } = await import("node:fs")
    writeFileSync(`${cwd}/herald.json`, JSON.stringify({ prot: 1, engine: "redis" }))
    const { code, stderr } = await heraldDone(["serve", "--config", "herald.json"], { cwd })
    expect(code).toBe(2)
    expect(stderr).toContain('herald.json: prot: unknown key (did you mean "port"?)')
    expect(stderr).toContain('herald.json: engine = "redis": expected "sqlite", "memory", or a Redis URL')
  })

  it("without keys and with --no-dev, says how to configure one", async () => {
    const { code, stderr } = await heraldDone(["serve", "--no-dev"], { cwd: tempCwd() })
    expect(code).toBe(2)
    expect(stderr).toContain("dev mode is off and no publisher key is set")
    expect(stderr).toContain("--jwt-key")
  })
})

describe("docs/cli.md", () => {
  it("documents every setting of herald serve: flag, env variable and file key", async () => {
    const { readFileSync } = await import("node:fs")
    const docs = readFileSync(new URL("../../docs/cli.md", import.meta.url), "utf8")
    for (const field of FIELDS) {
      const flag = flagOf(field.key)
      expect(docs).toContain(
        "arg" in field ? `\`${flag} ${field.arg}\`` : `\`${flag}\` / \`--no-${flag.slice(2)}\``,
      )
      expect(docs).toContain(`\`${envOf(field.key)}\``)
      expect(docs).toContain(`\`${field.key}\``)
      if (field.shownDefault !== undefined) expect(docs).toContain(`\`${field.shownDefault}\``)
    }
  })
})

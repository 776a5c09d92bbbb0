#!/usr/bin/env node
import { readFileSync } from "node:fs"
import { Command, CommanderError } from "commander"
import { benchCommand } from "./bench/command.js"
import { doctorCommand } from "./doctor/command.js"
import { UsageError } from "./hub-access.js"
import { listenCommand } from "./listen.js"
import { publishCommand } from "./publish.js"
import { serveCommand } from "./serve.js"

/**
 * `herald`: the command line. `herald serve` runs the hub; `herald publish` and `herald listen`
 * talk to one.
 */

const EXAMPLES = `
Examples:
  $ herald serve                                 start a hub on http://localhost:8080 (dev mode)
  $ herald listen https://example.com/books/1    print updates of a topic as they arrive
  $ herald publish https://example.com/books/1 '{"title":"Dune"}'

Run \`herald <command> --help\` for a command's options. Docs: docs/cli.md`

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: string
    }
    return pkg.version ?? "unknown"
  } catch {
    return "unknown"
  }
}

/** The `herald` program, with its commands. */
export function heraldProgram(): Command {
  return new Command("herald")
    .description("Server-Sent Events hub (Mercure protocol) and its command-line clients")
    .version(version(), "-v, --version")
    .showSuggestionAfterError()
    .showHelpAfterError("(add --help for usage)")
    .addCommand(serveCommand())
    .addCommand(publishCommand())
    .addCommand(listenCommand())
    .addCommand(doctorCommand())
    .addCommand(benchCommand())
    .addHelpText("after", EXAMPLES)
}

// A reader that stops early (`herald --help | head`, `herald listen … | head -3`) closes the
// pipe: that ends the output, it is not a failure to print a stack for. Not for a running hub,
// whose stdout is its log: losing it is a failure its supervisor must see.
if (process.argv[2] !== "serve" || process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error
    process.exit(0)
  })
}

const program = heraldProgram()
for (const command of program.commands) command.showHelpAfterError("(add --help for usage)")
program.exitOverride()
for (const command of program.commands) command.exitOverride()

try {
  await program.parseAsync(process.argv)
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the message (or the help, or the version) already.
    process.exitCode = error.exitCode === 1 ? 2 : error.exitCode
  } else if (error instanceof UsageError) {
    process.stderr.write(`herald: ${error.message}\n`)
    process.exitCode = 2
  } else {
    process.stderr.write(`herald: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  }
}

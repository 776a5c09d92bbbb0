import { Command, CommanderError, Option } from "commander"
import type { ConfigIssue } from "./errors.js"
import { envOf, FIELDS, type FieldGroup, flagOf } from "./fields.js"
import { settingInstead } from "./suggest.js"

/** Help headings of the setting groups. */
export const GROUP_TITLES: Readonly<Record<FieldGroup, string>> = {
  server: "Server",
  storage: "Storage",
  auth: "Authorization",
  protocol: "Protocol",
  ai: "AI generations",
  streams: "Durable Streams",
  limits: "Limits",
  timeouts: "Timeouts",
  process: "Process",
}

/**
 * Adds every setting to `command` as an option, grouped under headings in `--help`, each line
 * naming its environment variable and default. Options carry no commander default: an unset
 * option stays `undefined`, so that the environment and the config file can fill it in.
 */
export function addConfigOptions(command: Command): Command {
  command.configureOutput({ outputError: (text, write) => write(withSettingInstead(text)) })
  command.addOption(
    new Option("-c, --config <file>", "read settings from a JSON file [env: HERALD_CONFIG]").helpGroup(
      "Config file:",
    ),
  )
  for (const field of FIELDS) {
    const flag = flagOf(field.key)
    const heading = `${GROUP_TITLES[field.group]}:`
    const shown = field.shownDefault === undefined ? "" : ` (default: ${field.shownDefault})`
    const description = `${field.help}${shown} [env: ${envOf(field.key)}]`
    if ("arg" in field) {
      command.addOption(new Option(`${flag} ${field.arg}`, description).helpGroup(heading))
    } else {
      command.addOption(new Option(flag, description).helpGroup(heading))
      command.addOption(new Option(`--no-${flag.slice(2)}`, `turn ${flag} off`).helpGroup(heading))
    }
  }
  return command
}

/**
 * Commander's message for an unknown option, with the flag to use instead when the option is
 * another server's name for a setting (`--redis-url`: `--engine redis://host:port`), which its
 * "did you mean" (typos only) does not find.
 */
function withSettingInstead(message: string): string {
  const option = /unknown option '([^'=]+)/.exec(message)?.[1]
  const instead = option === undefined ? undefined : settingInstead(option, flagOf)
  if (instead === undefined) return message
  const hint = `(${instead.why}: ${flagOf(instead.key)} ${instead.example})`
  return message.endsWith("\n") ? `${message}${hint}\n` : `${message}\n${hint}`
}

/** Command-line settings, parsed. */
export interface ParsedArgv {
  readonly flags: Readonly<Record<string, unknown>>
  readonly issues: readonly ConfigIssue[]
}

/**
 * Parses `herald serve`'s arguments (without `node`, the script and `serve`) with the same
 * option table `--help` shows. Unknown options and missing values become issues, not exits.
 */
export function parseArgv(argv: readonly string[]): ParsedArgv {
  const command = addConfigOptions(new Command("serve"))
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} })
    .allowExcessArguments(false)
  try {
    command.parse([...argv], { from: "user" })
  } catch (error) {
    if (error instanceof CommanderError) {
      return {
        flags: {},
        issues: [
          { where: "command line", message: withSettingInstead(error.message.replace(/^error: /, "")) },
        ],
      }
    }
    throw error
  }
  return { flags: command.opts(), issues: [] }
}

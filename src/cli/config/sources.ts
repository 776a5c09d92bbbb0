import { readFileSync } from "node:fs"
import { relative, resolve } from "node:path"
import type { ConfigIssue } from "./errors.js"
import { envOf, FIELDS, type FieldKey, fieldByKey, flagOf } from "./fields.js"
import { nearest, settingInstead } from "./suggest.js"

/**
 * The three places settings come from — flags, `HERALD_*` environment variables, a JSON file —
 * each read into the same shape: per setting, the raw value and a label naming where it came
 * from, for error messages.
 */

/** A setting as one source gave it, before validation. */
export interface RawSetting {
  readonly value: unknown
  /** The setting's name in its source: `--port`, `HERALD_PORT`, `herald.json: port`. */
  readonly name: string
  /** Name and value: `--port "abc"`, `HERALD_PORT="abc"`, `herald.json: port = "abc"` (keys' values masked). */
  readonly where: string
}

/** What one source gave: settings by key, plus problems that are not about one value. */
export interface SourceReading {
  readonly settings: ReadonlyMap<FieldKey, RawSetting>
  readonly issues: readonly ConfigIssue[]
  readonly warnings: readonly string[]
}

const KEYS: readonly string[] = FIELDS.map((field) => field.key)

/** `HERALD_*` variables that are not serve settings but are Herald's (the CLI's, the tests'). */
const OTHER_HERALD_ENV = new Set(["HERALD_CONFIG", "HERALD_TOKEN", "HERALD_TEST_STRICT"])

/** A value as error messages show it; key material and passwords are never shown (logs and terminals keep them). */
const show = (key: string, value: unknown): string => {
  const field = fieldByKey(key)
  if (field?.secret) return '"***"'
  if (typeof value !== "string") return String(value)
  return JSON.stringify(field?.redact === undefined ? value : field.redact(value))
}

/** Parsed command-line options (commander's `opts()`: unset options are `undefined`). */
export function readFlags(flags: Readonly<Record<string, unknown>>): SourceReading {
  const settings = new Map<FieldKey, RawSetting>()
  for (const field of FIELDS) {
    const value = flags[field.key]
    if (value === undefined) continue
    const flag =
      value === false && !("arg" in field) ? `--no-${flagOf(field.key).slice(2)}` : flagOf(field.key)
    settings.set(field.key, {
      value,
      name: flag,
      where: "arg" in field ? `${flag} ${show(field.key, value)}` : flag,
    })
  }
  return { settings, issues: [], warnings: [] }
}

/** `HERALD_<UPPER_SNAKE>` variables; an unknown `HERALD_*` name gets a warning with the nearest known one. */
export function readEnv(env: Readonly<Record<string, string | undefined>>): SourceReading {
  const settings = new Map<FieldKey, RawSetting>()
  const known = new Map(FIELDS.map((field) => [envOf(field.key), field.key]))
  const warnings: string[] = []
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("HERALD_") || value === undefined) continue
    const key = known.get(name)
    if (key !== undefined) {
      // An empty variable is how shells and compose files "unset" a setting: treat it as absent.
      if (value.trim() !== "") settings.set(key, { value, name, where: `${name}=${show(key, value)}` })
      continue
    }
    if (OTHER_HERALD_ENV.has(name)) continue
    const instead = settingInstead(name, envOf)
    const guess = nearest(name, [...known.keys()])
    const hint =
      instead !== undefined
        ? ` (${instead.why}: ${envOf(instead.key)}=${instead.example})`
        : guess !== undefined
          ? ` (did you mean ${guess}?)`
          : ""
    warnings.push(`${name} is not a Herald setting and is ignored${hint}`)
  }
  return { settings, issues: [], warnings }
}

/**
 * A JSON config file: one object whose keys are the settings' names (`port`, `hubUrl`, …). An
 * unknown key is an error naming the nearest valid one; `$schema` is allowed, for editors.
 */
export function readFile(file: string, cwd: string): SourceReading {
  const path = resolve(cwd, file)
  const label = relative(cwd, path) || path
  const settings = new Map<FieldKey, RawSetting>()
  let content: string
  try {
    content = readFileSync(path, "utf8")
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message
    return {
      settings,
      issues: [{ where: label, message: `cannot read the config file: ${reason}` }],
      warnings: [],
    }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(content)
  } catch (error) {
    return {
      settings,
      issues: [{ where: label, message: `not valid JSON: ${(error as Error).message}` }],
      warnings: [],
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return {
      settings,
      issues: [{ where: label, message: "expected a JSON object of settings" }],
      warnings: [],
    }
  }
  const issues: ConfigIssue[] = []
  for (const [key, value] of Object.entries(parsed)) {
    if (key === "$schema") continue
    const field = fieldByKey(key)
    if (field === undefined) {
      const instead = settingInstead(key, (other) => other)
      const guess = nearest(key, KEYS)
      const hint =
        instead !== undefined
          ? ` (${instead.why}: "${instead.key}": "${instead.example}")`
          : guess !== undefined
            ? ` (did you mean "${guess}"?)`
            : ""
      issues.push({ where: `${label}: ${key}`, message: `unknown key${hint}` })
      continue
    }
    if (value === null) continue
    const name = `${label}: ${key}`
    settings.set(field.key as FieldKey, { value, name, where: `${name} = ${show(key, value)}` })
  }
  return { settings, issues, warnings: [] }
}

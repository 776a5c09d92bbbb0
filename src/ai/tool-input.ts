import { DEFAULT_MAX_JSON_DEPTH } from "../auth/json-depth.js"

/**
 * A tool call's arguments as Messages' `input`, read fragment by fragment. Claude's input is
 * always one JSON object, and the Anthropic SDK parses what a stream gives it, so an upstream's
 * arguments reach an Anthropic client as the longest part of their first object that is valid
 * JSON (RFC 8259), closed there: `{"a": nope}` as `{}`, `{"city": "Os` (cut by a token limit) as
 * `{"city":"Os"}`, `{"a":1}{"a":1}` as `{"a":1}`; `{}` when they do not start as an object. The
 * stream and the whole answer give the same input.
 *
 * So that a stream never has to take back what it sent, only text that can stand as the end of
 * a value is streamed: a key waits for its value's first character, a comma for what follows it,
 * an escape, a literal (`tru`) and a number that needs more (`1.`, `-`) for their end. Closing
 * what was streamed then only takes a quote and the containers' ends.
 */
export interface InputScan {
  /** What the next character may be. */
  expect: Expect
  /** The ends of the containers open (`}` or `]`), innermost last. */
  readonly closers: string[]
  /** The open string is a key. */
  key: boolean
  /** The rest of a literal. */
  left: string
  /** The hex digits an escape `\u` still needs. */
  hexLeft: number
  /** Where a number is: what it may take next. */
  number: NumberPart
  /** Read but not streamed yet: they cannot stand as the end of a value. */
  held: string
  /** The last text streamed ends inside a string. */
  inString: boolean
}

type Expect =
  | "object" // before the first object: `{` or space
  | "first-key" // after `{`: a key or `}`
  | "key" // after a comma in an object
  | "colon" // after a key
  | "value" // after a colon, or a comma in an array
  | "first-value" // after `[`: a value or `]`
  | "after" // after a value: a comma or the container's end
  | "string"
  | "escape" // after a backslash in a string
  | "unicode" // in `\uXXXX`
  | "number"
  | "literal" // in `true`, `false` or `null`; `left` holds the rest
  | "closed" // the first object ended: what follows is left out
  | "broken" // not JSON from here on: the rest is left out
  | "other" // not an object: the input is `{}`

/** A number's parts (RFC 8259, section 6), and whether it could end there. */
type NumberPart = "minus" | "zero" | "int" | "point" | "fraction" | "e" | "exponent-sign" | "exponent"
const NUMBER_MAY_END = new Set<NumberPart>(["zero", "int", "fraction", "exponent"])

const WHITESPACE = new Set([" ", "\t", "\n", "\r"])
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"])
const LITERAL_REST: Record<string, string> = { t: "rue", f: "alse", n: "ull" }
const HEX = /^[0-9a-fA-F]$/
const DIGIT = /^[0-9]$/

export function newInputScan(): InputScan {
  return {
    expect: "object",
    closers: [],
    key: false,
    left: "",
    hexLeft: 0,
    number: "int",
    held: "",
    inString: false,
  }
}

/**
 * Reads `fragment`; returns what can be streamed of the input now (held text of earlier
 * fragments first), possibly nothing.
 */
export function scanInput(scan: InputScan, fragment: string): string {
  if (ended(scan)) return ""
  let safeEnd = -1
  for (let at = 0; at < fragment.length; at++) {
    step(scan, fragment[at] as string)
    if (scan.expect === "broken" || scan.expect === "other") break
    if (canEnd(scan)) {
      safeEnd = at
      scan.inString = scan.expect === "string"
    }
    if (scan.expect === "closed") break
  }
  if (ended(scan)) {
    const out = safeEnd < 0 ? "" : scan.held + fragment.slice(0, safeEnd + 1)
    scan.held = ""
    return out
  }
  if (safeEnd < 0) {
    scan.held += fragment
    return ""
  }
  const out = scan.held + fragment.slice(0, safeEnd + 1)
  scan.held = fragment.slice(safeEnd + 1)
  return out
}

/** What closes the input streamed so far into one JSON object: `{}` when none was streamed. */
export function inputEnd(scan: InputScan): string {
  if (scan.expect === "closed") return ""
  if (scan.expect === "object" || scan.expect === "other") return "{}"
  return `${scan.inString ? '"' : ""}${[...scan.closers].reverse().join("")}`
}

/** Nothing more of the arguments can be part of the input. */
function ended(scan: InputScan): boolean {
  return scan.expect === "closed" || scan.expect === "broken" || scan.expect === "other"
}

/** The input that arguments `text`, read whole, stream as: the same object, never `undefined`. */
export function toolInputOf(text: string): Record<string, unknown> {
  const scan = newInputScan()
  const streamed = scanInput(scan, text)
  return JSON.parse(streamed + inputEnd(scan)) as Record<string, unknown>
}

/** Whether the input read so far could end here with only a quote and the containers' ends. */
function canEnd(scan: InputScan): boolean {
  switch (scan.expect) {
    case "first-key":
    case "first-value":
    case "after":
    case "closed":
      return true
    case "string":
      return !scan.key
    case "number":
      return NUMBER_MAY_END.has(scan.number)
    default:
      return false
  }
}

/** One character of the arguments. */
function step(scan: InputScan, char: string): void {
  switch (scan.expect) {
    case "object":
      if (char === "{") open(scan, "}")
      else if (!WHITESPACE.has(char)) scan.expect = "other"
      return
    case "first-key":
    case "key":
      if (char === '"') startString(scan, true)
      else if (char === "}" && scan.expect === "first-key") close(scan)
      else if (!WHITESPACE.has(char)) scan.expect = "broken"
      return
    case "colon":
      if (char === ":") scan.expect = "value"
      else if (!WHITESPACE.has(char)) scan.expect = "broken"
      return
    case "value":
    case "first-value":
      if (char === "]" && scan.expect === "first-value") close(scan)
      else if (!WHITESPACE.has(char)) startValue(scan, char)
      return
    case "after":
      if (char === ",") scan.expect = scan.closers.at(-1) === "}" ? "key" : "value"
      else if (char === scan.closers.at(-1)) close(scan)
      else if (!WHITESPACE.has(char)) scan.expect = "broken"
      return
    case "string":
      if (char === '"') scan.expect = scan.key ? "colon" : "after"
      else if (char === "\\") scan.expect = "escape"
      // "All Unicode characters may be placed within the quotation marks, except for the
      // characters that MUST be escaped: quotation mark, reverse solidus, and the control
      // characters (U+0000 through U+001F)."
      else if (char < " ") scan.expect = "broken"
      return
    case "escape":
      if (char === "u") {
        scan.expect = "unicode"
        scan.hexLeft = 4
      } else scan.expect = ESCAPES.has(char) ? "string" : "broken"
      return
    case "unicode":
      if (!HEX.test(char)) scan.expect = "broken"
      else if (--scan.hexLeft === 0) scan.expect = "string"
      return
    case "number":
      stepNumber(scan, char)
      return
    case "literal":
      if (char !== scan.left[0]) scan.expect = "broken"
      else {
        scan.left = scan.left.slice(1)
        if (scan.left === "") scan.expect = "after"
      }
      return
    default:
      return
  }
}

function startValue(scan: InputScan, char: string): void {
  if (char === "{") open(scan, "}")
  else if (char === "[") open(scan, "]")
  else if (char === '"') startString(scan, false)
  else if (char === "-" || DIGIT.test(char)) {
    scan.expect = "number"
    scan.number = char === "-" ? "minus" : char === "0" ? "zero" : "int"
  } else if (LITERAL_REST[char] !== undefined) {
    scan.expect = "literal"
    scan.left = LITERAL_REST[char]
  } else scan.expect = "broken"
}

function stepNumber(scan: InputScan, char: string): void {
  const part = scan.number
  if (DIGIT.test(char) && part !== "zero") scan.number = afterDigit(part, char)
  else if (char === "." && (part === "zero" || part === "int")) scan.number = "point"
  else if ((char === "e" || char === "E") && (part === "zero" || part === "int" || part === "fraction"))
    scan.number = "e"
  else if ((char === "+" || char === "-") && part === "e") scan.number = "exponent-sign"
  else if (NUMBER_MAY_END.has(part)) {
    // The number ended: this character is the next token's.
    scan.expect = "after"
    step(scan, char)
  } else scan.expect = "broken"
}

/** Where a number is after digit `char`; a leading zero takes no digit after it. */
function afterDigit(part: NumberPart, char: string): NumberPart {
  switch (part) {
    case "minus":
      return char === "0" ? "zero" : "int"
    case "point":
      return "fraction"
    case "e":
    case "exponent-sign":
      return "exponent"
    default:
      return part
  }
}

function startString(scan: InputScan, key: boolean): void {
  scan.expect = "string"
  scan.key = key
}

/** Opens a container, unless it would nest deeper than a stored entry may. */
function open(scan: InputScan, closer: "}" | "]"): void {
  if (scan.closers.length >= DEFAULT_MAX_JSON_DEPTH) {
    scan.expect = "broken"
    return
  }
  scan.closers.push(closer)
  scan.expect = closer === "}" ? "first-key" : "first-value"
}

function close(scan: InputScan): void {
  scan.closers.pop()
  scan.expect = scan.closers.length === 0 ? "closed" : "after"
}

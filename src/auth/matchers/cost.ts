/**
 * Static cost analysis of URL patterns (draft-08 "URL Pattern" and "URL-Pattern Denial of
 * Service"): "hubs MUST either use a regular expression engine that guarantees linear-time
 * matching (such as RE2) or enforce an implementation-defined evaluation cost or time limit".
 *
 * JavaScript's RegExp engine backtracks and cannot be interrupted, so the limit is enforced before
 * a pattern is accepted: a pattern is compiled only if its worst-case evaluation cost is bounded
 * by a small polynomial of the topic's length, and topics are capped in length (see matcher.ts).
 *
 * The analysis reads each component of a URL pattern as the URL Pattern standard compiles it: a
 * sequence of literal characters and variable-length parts (`:name` segment wildcards, `*` full
 * wildcards, quantified atoms of custom `(regexp)` groups, optional and repeated parts). It rejects:
 *
 * 1. back-references and lookarounds in regexp groups;
 * 2. a quantified group containing a quantifier or an alternation (`(?:a+)+`, `(?:a|aa)*`), and a
 *    repeated part (`+`/`*` modifier) whose repetitions are not separated by a character the
 *    repeated part cannot match — both are the exponential "nested quantifier" shape;
 * 3. more than {@link MAX_AMBIGUOUS_PARTS} ambiguous parts in one component. A variable part is
 *    unambiguous when it is followed by the end of the component, or by a literal that contains a
 *    character the part cannot match (`/:a/` — the segment wildcard cannot match `/`), because
 *    then only one end position can lead on. Each ambiguous part multiplies the backtracking by up
 *    to the input length, and the last part scans it once more: one keeps the worst case quadratic
 *    (under a millisecond on 1024 characters), two make it cubic (half a second, measured);
 * 4. more than {@link MAX_GROUPS} wildcards and groups in the whole pattern (a component that is
 *    exactly `*` — the default for unspecified ones — is not counted);
 * 5. branches that multiply the ways to match one text past {@link MAX_BRANCHES} in one component,
 *    or any inside a repeated part: an alternation whose alternatives do not each start with a
 *    character of their own (`(?:a|a)`, `(jpg|jpeg)`: as many ways as alternatives), and an
 *    optional part that what follows it can also start (`{a}?a`: two). Each multiplies the work by
 *    a constant, but a row of them backtracks exponentially (`(?:a|a)b` 24 times took 0.9 s).
 */

/** Most variable-length parts per component whose end is not forced: the degree of the worst case. */
export const MAX_AMBIGUOUS_PARTS = 1

/** Most ways one component may match one text through its branches (alternations, optional parts). */
export const MAX_BRANCHES = 16

/** Most wildcards, named groups and regexp groups per pattern. */
export const MAX_GROUPS = 16

/** A component of a URL pattern, by its URLPattern property name. */
export type Component =
  | "protocol"
  | "username"
  | "password"
  | "hostname"
  | "port"
  | "pathname"
  | "search"
  | "hash"

/** What one component costs. */
export interface ComponentCost {
  /** Wildcards, named groups and regexp groups. */
  readonly groups: number
  /** Variable-length parts whose end position is not forced. */
  readonly ambiguous: number
  /** The ways its branches give to match one text (1: none branch). */
  readonly branches: number
}

/** Why a pattern is too costly to accept. */
export class CostError extends Error {
  override name = "CostError"
}

/** Which characters a part may match. */
type CharTest = (char: string) => boolean

const ANY: CharTest = () => true

/** An item of a component's flattened sequence. */
type Item =
  /** A literal character; `optional` when it belongs to an optional or repeated part. */
  | { readonly kind: "literal"; readonly char: string; readonly optional: boolean }
  /** A fixed-width non-literal (an unquantified class like `\d`, or an assertion). */
  | { readonly kind: "fixed" }
  /** A variable-length part; `extra` counts ambiguous parts nested in it. */
  | { readonly kind: "variable"; readonly matches: CharTest; readonly extra: number }
  /**
   * Where an optional part (`?`) of `length` items begins; `first` is its first character when
   * that is a literal. Taking the part and skipping it are two ways on.
   */
  | { readonly kind: "optional"; readonly first: string | undefined; readonly length: number }
  /** Where an alternation of `ways` alternatives that may match the same text begins. */
  | { readonly kind: "branch"; readonly ways: number }

// ---------------------------------------------------------------------------------------------
// URL Pattern tokens (the standard's tokenizer, lenient: the pattern already compiled).

type Token =
  | { readonly type: "char"; readonly value: string }
  | { readonly type: "name" }
  | { readonly type: "regexp"; readonly value: string }
  | { readonly type: "asterisk" }
  | { readonly type: "modifier"; readonly value: string }
  | { readonly type: "open" }
  | { readonly type: "close" }

// The standard's name code points: "$", "_", ZWNJ, ZWJ, and ID_Continue.
const NAME_CHAR = /^(?:[$_\p{ID_Continue}]|\u200C|\u200D)$/u

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = []
  const chars = Array.from(pattern)
  let i = 0
  while (i < chars.length) {
    const c = chars[i] as string
    if (c === "*") {
      tokens.push({ type: "asterisk" })
      i++
    } else if (c === "+" || c === "?") {
      tokens.push({ type: "modifier", value: c })
      i++
    } else if (c === "\\") {
      tokens.push({ type: "char", value: chars[i + 1] ?? "" })
      i += 2
    } else if (c === "{") {
      tokens.push({ type: "open" })
      i++
    } else if (c === "}") {
      tokens.push({ type: "close" })
      i++
    } else if (c === ":") {
      i++
      while (i < chars.length && NAME_CHAR.test(chars[i] as string)) i++
      tokens.push({ type: "name" })
    } else if (c === "(") {
      // Up to the matching ")", counting nested groups, skipping escaped characters.
      let depth = 1
      let body = ""
      i++
      while (i < chars.length) {
        const d = chars[i] as string
        if (d === "\\") {
          body += d + (chars[i + 1] ?? "")
          i += 2
          continue
        }
        if (d === "(") depth++
        else if (d === ")" && --depth === 0) break
        body += d
        i++
      }
      i++
      tokens.push({ type: "regexp", value: body })
    } else {
      tokens.push({ type: "char", value: c })
      i++
    }
  }
  return tokens
}

// ---------------------------------------------------------------------------------------------
// Regexp group bodies (a subset of JavaScript regexp syntax, `u` flag, as URL Pattern compiles them).

interface Atom {
  /** Source of a single-character atom, or undefined for groups and assertions. */
  readonly source?: string
  readonly group?: Alternatives
  readonly quantified: boolean
  readonly assertion: boolean
}
type Alternatives = Atom[][]

class RegexpReader {
  private i = 0
  constructor(private readonly src: string) {}

  read(): Alternatives {
    const result = this.alternatives()
    if (this.i < this.src.length) throw new CostError(`unbalanced ")" in regexp group "(${this.src})"`)
    return result
  }

  private alternatives(): Alternatives {
    const alternatives: Alternatives = [[]]
    while (this.i < this.src.length && this.src[this.i] !== ")") {
      if (this.src[this.i] === "|") {
        this.i++
        alternatives.push([])
        continue
      }
      ;(alternatives[alternatives.length - 1] as Atom[]).push(this.atom())
    }
    return alternatives
  }

  private atom(): Atom {
    const src = this.src
    const start = this.i
    const c = src[this.i] as string
    let group: Alternatives | undefined
    let assertion = false
    if (c === "(") {
      if (/^\(\?(?:=|!|<=|<!)/.test(src.slice(this.i, this.i + 4))) {
        throw new CostError("lookaround assertions are not allowed in regexp groups")
      }
      const named = /^\(\?<[^>]*>/.exec(src.slice(this.i))
      this.i += src.startsWith("(?:", this.i) ? 3 : named ? named[0].length : 1
      group = this.alternatives()
      if (src[this.i] !== ")") throw new CostError(`unclosed group in regexp "(${src})"`)
      this.i++
    } else if (c === "[") {
      this.i++
      if (src[this.i] === "^") this.i++
      if (src[this.i] === "]") this.i++
      while (this.i < src.length && src[this.i] !== "]") this.i += src[this.i] === "\\" ? 2 : 1
      this.i++
    } else if (c === "\\") {
      const next = src[this.i + 1] ?? ""
      if (/[1-9]/.test(next) || next === "k") {
        throw new CostError("back-references are not allowed in regexp groups")
      }
      if (next === "b" || next === "B") assertion = true
      // \p{...}, \u{...}, \uXXXX, \xXX, \cX: one character class or character in all.
      const long =
        /^\\(?:[pP]\{[^}]*\}|u\{[0-9A-Fa-f]+\}|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|c[A-Za-z]|.)/su.exec(
          src.slice(this.i),
        )
      this.i += long ? long[0].length : 2
    } else {
      if (c === "^" || c === "$") assertion = true
      this.i += (src.codePointAt(this.i) as number) > 0xffff ? 2 : 1
    }
    const source = group || assertion ? undefined : src.slice(start, this.i)
    const quantifier = /^(?:[*+?]|\{\d+(?:,\d*)?\})\??/.exec(src.slice(this.i))
    if (quantifier) this.i += quantifier[0].length
    if (quantifier && group && containsVariability(group)) {
      throw new CostError(
        `the quantified group "${src.slice(start, this.i)}" contains a quantifier or an alternation, ` +
          "which can backtrack exponentially; quantify a single character or class instead",
      )
    }
    return { source, group, quantified: quantifier !== null, assertion }
  }
}

function containsVariability(group: Alternatives): boolean {
  if (group.length > 1) return true
  return (group[0] ?? []).some((atom) => atom.quantified || (atom.group && containsVariability(atom.group)))
}

/** The characters a single-character atom matches, tested with the engine itself. */
function atomTest(source: string): CharTest {
  let re: RegExp
  try {
    re = new RegExp(`^(?:${source})$`, "u")
  } catch {
    return ANY
  }
  return (char) => re.test(char)
}

function unionTest(tests: CharTest[]): CharTest {
  if (tests.includes(ANY)) return ANY
  return (char) => tests.some((test) => test(char))
}

/** Every single-character test within `group`, for a union class. */
function groupTests(group: Alternatives): CharTest[] {
  const tests: CharTest[] = []
  for (const sequence of group) {
    for (const atom of sequence) {
      if (atom.group) tests.push(...groupTests(atom.group))
      else if (atom.source !== undefined) tests.push(atomTest(atom.source))
    }
  }
  return tests
}

/** Quantified atoms anywhere in `group`: each counted as ambiguous when nested in an alternation. */
function countQuantified(group: Alternatives): number {
  let count = 0
  for (const sequence of group) {
    for (const atom of sequence) {
      if (atom.quantified) count++
      else if (atom.group) count += countQuantified(atom.group)
    }
  }
  return count
}

/** A regexp atom that stands for one character, itself (escaped or not). */
const LITERAL = /^(?:[^\\^$.|?*+()[\]{}]|\\[^A-Za-z0-9])$/u

/** A literal single-character atom's character, else undefined. */
function literalChar(atom: Atom | undefined): string | undefined {
  if (atom === undefined || atom.quantified || atom.assertion || atom.source === undefined) return undefined
  return LITERAL.test(atom.source) ? atom.source.replace(/^\\/, "") : undefined
}

/**
 * An alternation's ways to match one text: one when each alternative starts with its own literal
 * character (at most one can go on from a position), else as many as it has alternatives.
 */
function alternationWays(alternatives: Alternatives): number {
  const firsts = alternatives.map((sequence) => literalChar(sequence[0]))
  const distinct = new Set(firsts)
  return firsts.every((char) => char !== undefined) && distinct.size === firsts.length
    ? 1
    : alternatives.length
}

/** An alternation: one variable part (quantifiers inside count as ambiguous), after its branch point. */
function pushAlternation(alternatives: Alternatives, items: Item[]): void {
  const ways = alternationWays(alternatives)
  if (ways > 1) items.push({ kind: "branch", ways })
  items.push({
    kind: "variable",
    matches: unionTest(groupTests(alternatives)),
    extra: countQuantified(alternatives),
  })
}

/** Flattens one alternative of a regexp body into items. */
function flattenSequence(sequence: Atom[], items: Item[]): void {
  for (const atom of sequence) {
    if (atom.assertion) {
      items.push({ kind: "fixed" })
    } else if (atom.group) {
      if (atom.quantified) {
        // No quantifier or alternation inside (checked when read): a variable part of its characters.
        items.push({ kind: "variable", matches: unionTest(groupTests(atom.group)), extra: 0 })
      } else if (atom.group.length === 1) {
        flattenSequence(atom.group[0] as Atom[], items)
      } else {
        pushAlternation(atom.group, items)
      }
    } else {
      const source = atom.source as string
      const literal = LITERAL.test(source)
      if (atom.quantified) items.push({ kind: "variable", matches: atomTest(source), extra: 0 })
      else if (literal) items.push({ kind: "literal", char: source.replace(/^\\/, ""), optional: false })
      else items.push({ kind: "fixed" })
    }
  }
}

function flattenRegexp(body: string, items: Item[]): void {
  const alternatives = new RegexpReader(body).read()
  if (alternatives.length === 1) flattenSequence(alternatives[0] as Atom[], items)
  else pushAlternation(alternatives, items)
}

// ---------------------------------------------------------------------------------------------
// Components.

/** How a component's segment wildcard (`:name`) is compiled, and its automatic prefix. */
export interface ComponentOptions {
  /** The character a segment wildcard cannot match (`/` in paths, `.` in hostnames), or "". */
  readonly delimiter: string
  /** The character that becomes a part's prefix when it precedes it (`/` in paths), or "". */
  readonly prefix: string
}

/** Items of a part (name, regexp or asterisk), without prefix. */
function partItems(tokens: Token[], index: number, options: ComponentOptions, items: Item[]): number {
  const token = tokens[index] as Token
  if (token.type === "asterisk") {
    items.push({ kind: "variable", matches: ANY, extra: 0 })
    return index + 1
  }
  if (token.type === "name") {
    const next = tokens[index + 1]
    if (next?.type === "regexp") {
      flattenRegexp(next.value, items)
      return index + 2
    }
    const delimiter = options.delimiter
    items.push({ kind: "variable", matches: delimiter ? (char) => char !== delimiter : ANY, extra: 0 })
    return index + 1
  }
  if (token.type === "regexp") flattenRegexp(token.value, items)
  return index + 1
}

function itemsTest(items: Item[]): CharTest {
  const tests: CharTest[] = []
  for (const item of items) {
    if (item.kind === "variable") tests.push(item.matches)
    else if (item.kind === "fixed") tests.push(ANY)
    else if (item.kind === "literal") tests.push((char) => char === item.char)
  }
  return unionTest(tests)
}

/**
 * Wraps a part's items (prefix, group, suffix) under a modifier. `?` keeps them in sequence but
 * makes the literals optional (they can no longer force anything). `*` and `+` repeat them: the
 * repeated part must be told apart by a separator, and becomes one variable part.
 */
function applyModifier(modifier: string, prefix: Item[], group: Item[], suffix: Item[], items: Item[]): void {
  const all = [...prefix, ...group, ...suffix]
  if (modifier === "?") {
    const first = all[0]
    items.push({
      kind: "optional",
      first: first?.kind === "literal" ? first.char : undefined,
      length: all.length,
    })
    for (const item of all) items.push(item.kind === "literal" ? { ...item, optional: true } : item)
    return
  }
  if (group.some((item) => item.kind === "branch")) {
    throw new CostError(
      `a repeated ("${modifier}") part with alternatives that can match the same text multiplies its ways ` +
        "with every repetition; give each alternative its own first character",
    )
  }
  if (group.some((item) => item.kind === "variable")) {
    const inner = itemsTest(group)
    const separated = [...prefix, ...suffix].some((item) => item.kind === "literal" && !inner(item.char))
    if (!separated) {
      throw new CostError(
        `a repeated ("${modifier}") part that matches a variable length must be separated by a character ` +
          "it cannot match (as in /:id+, repeated over /), or it can backtrack exponentially",
      )
    }
  }
  items.push({ kind: "variable", matches: itemsTest(all), extra: countAmbiguous(group, false) })
}

/**
 * Whether both ways past the optional part at `at` (taking it, skipping it) can go on: unless it
 * starts with a literal that what follows it cannot start with (the end of the component, or a
 * required literal of another character), in which case the character decides.
 */
function optionalAmbiguous(items: Item[], at: number): boolean {
  const optional = items[at] as Extract<Item, { kind: "optional" }>
  if (optional.first === undefined) return true
  const after = items[at + 1 + optional.length]
  if (after === undefined) return false
  return !(after.kind === "literal" && !after.optional && after.char !== optional.first)
}

/** Ambiguous parts in `items`; `endForces` when the end of `items` ends the input. */
function countAmbiguous(items: Item[], endForces: boolean): number {
  let count = 0
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Item
    if (item.kind !== "variable") continue
    count += item.extra
    let forced = false
    let j = i + 1
    for (; j < items.length; j++) {
      const next = items[j] as Item
      if (next.kind === "optional" || next.kind === "branch") continue
      if (next.kind !== "literal" || next.optional) break
      if (!item.matches(next.char)) {
        forced = true
        break
      }
    }
    if (j === items.length && endForces) forced = true
    if (!forced) count++
  }
  return count
}

/** The ways `items` may match one text through their branch points and ambiguous optional parts. */
function countBranches(items: Item[]): number {
  let ways = 1
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Item
    if (item.kind === "branch") ways *= item.ways
    else if (item.kind === "optional" && optionalAmbiguous(items, i)) ways *= 2
  }
  return ways
}

/**
 * The cost of one component pattern (as normalized by URLPattern, e.g. `pattern.pathname`).
 * Throws {@link CostError} for a regexp group or part shape that can backtrack exponentially.
 */
export function componentCost(pattern: string, options: ComponentOptions): ComponentCost {
  if (pattern === "*") return { groups: 0, ambiguous: 0, branches: 1 }
  const tokens = tokenize(pattern)
  const items: Item[] = []
  let groups = 0
  let i = 0
  while (i < tokens.length) {
    const token = tokens[i] as Token
    if (token.type === "char") {
      items.push({ kind: "literal", char: token.value, optional: false })
      i++
    } else if (token.type === "open") {
      // { prefix part? suffix } modifier?
      const prefix: Item[] = []
      const group: Item[] = []
      const suffix: Item[] = []
      i++
      while (i < tokens.length && tokens[i]?.type === "char") {
        prefix.push({ kind: "literal", char: (tokens[i] as { value: string }).value, optional: false })
        i++
      }
      const partType = tokens[i]?.type
      if (partType === "name" || partType === "regexp" || partType === "asterisk") {
        groups++
        i = partItems(tokens, i, options, group)
      }
      while (i < tokens.length && tokens[i]?.type === "char") {
        suffix.push({ kind: "literal", char: (tokens[i] as { value: string }).value, optional: false })
        i++
      }
      if (tokens[i]?.type === "close") i++
      const modifier = tokens[i]
      if (modifier?.type === "modifier" || modifier?.type === "asterisk") {
        applyModifier(modifier.type === "asterisk" ? "*" : modifier.value, prefix, group, suffix, items)
        i++
      } else {
        items.push(...prefix, ...group, ...suffix)
      }
    } else if (token.type === "name" || token.type === "regexp" || token.type === "asterisk") {
      groups++
      const group: Item[] = []
      i = partItems(tokens, i, options, group)
      const modifier = tokens[i]
      if (modifier?.type === "modifier" || modifier?.type === "asterisk") {
        // The automatic prefix: the component's prefix character right before the part.
        const last = items[items.length - 1]
        const prefix: Item[] = []
        if (options.prefix && last?.kind === "literal" && last.char === options.prefix)
          prefix.push(items.pop() as Item)
        applyModifier(modifier.type === "asterisk" ? "*" : modifier.value, prefix, group, [], items)
        i++
      } else {
        items.push(...group)
      }
    } else {
      // A lone modifier or brace the parser accepted as literal text.
      i++
    }
  }
  return { groups, ambiguous: countAmbiguous(items, true), branches: countBranches(items) }
}

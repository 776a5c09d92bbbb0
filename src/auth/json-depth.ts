/**
 * How deep JSON from a client may nest before the code that recurses into it (`JSON.stringify` for
 * a stored entry, an upstream request, an answer, a token's payload in a subscription document)
 * could run out of stack. A tool's JSON Schema nested 10 levels (OpenAI's own bound for structured
 * outputs) is about 25 deep with the request around it, so 64 fits every real body, every real
 * tool call's arguments and every real token easily.
 */
export const DEFAULT_MAX_JSON_DEPTH = 64

/** Whether `value` nests arrays and objects more than `max` levels deep (a flat object is 1). Iterative: the walk itself cannot run out of stack. */
export function nestsDeeper(value: unknown, max: number): boolean {
  const pending: { readonly value: unknown; readonly depth: number }[] = [{ value, depth: 0 }]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== "object" || next.value === null) continue
    const depth = next.depth + 1
    if (depth > max) return true
    for (const child of Object.values(next.value)) {
      if (typeof child === "object" && child !== null) pending.push({ value: child, depth })
    }
  }
  return false
}

/**
 * How many keys one JSON object from a client may have by default. An object of more than about
 * a hundred keys costs several times more per key to parse, walk and copy (V8 makes it a hash
 * table), and a huge one more again: one of 500 000 keys (5.6 MiB) held the event loop 1.5 to
 * 3 s in an AI request's parse, depth walk and translation. Real objects have tens to hundreds (a
 * tool's JSON Schema `properties`, metadata; OpenAI's structured outputs take 5 000 properties
 * in a whole schema), so 10 000 is past every real one; a lower bound would cost no less, as
 * objects of 1 000 keys cost as much per key as objects of 10 000 (an 8 MiB body of either
 * parses in about 150 to 200 ms).
 */
export const DEFAULT_MAX_JSON_KEYS = 10_000

/**
 * Walks JSON text without parsing it: calls `visit` with the index of each `,` `[` `]` `{` `}`
 * outside strings and the nesting depth after it, until `visit` returns true (then returns true).
 * One loop, no allocation: whatever the depth, it neither recurses nor builds the value.
 */
export function walkJsonText(text: string, visit: (index: number, depth: number) => boolean): boolean {
  let depth = 0
  for (let index = 0; index < text.length; index++) {
    const char = text[index]
    if (char === '"') {
      // To the string's end, found by indexOf (a long text or an image's base64 costs microseconds,
      // not a step per character): the next quote after an even run of backslashes.
      for (;;) {
        index = text.indexOf('"', index + 1)
        if (index === -1) return false
        let backslashes = 0
        while (text[index - 1 - backslashes] === "\\") backslashes++
        if (backslashes % 2 === 0) break
      }
    } else if (char === "[" || char === "{") {
      if (visit(index, ++depth)) return true
    } else if (char === "]" || char === "}") {
      if (visit(index, --depth)) return true
    } else if (char === "," && visit(index, depth)) return true
  }
  return false
}

/**
 * How many values JSON from a client may hold by default, at any depth: every item of an array
 * and every member of an object (a key and its value) is one. Parsing costs per value, and an
 * empty object or array, or a key of an object of hundreds of keys, costs the most: an 8 MiB
 * body of `{}` (2.8 million values) held the event loop 1 to 2.5 s in an AI request's parse, and
 * 8 MiB of messages of 10 000 keys (680 000 values) half a second to 1.5 s with its translation.
 * 200 000 hold it 30 ms as `{}`, at most 0.15 s as keys of such messages. The longest real AI
 * request, an agent transcript at the message bounds (2 000 messages of thinking, text and tool
 * calls, 11 000 content parts) with 50 tool schemas, holds 90 000 (a schema of 5 000 properties,
 * 22 000).
 */
export const DEFAULT_MAX_JSON_VALUES = 200_000

/** Bounds on JSON from a client, checked on its text by {@link textPassesBound}. */
export interface JsonTextBounds {
  /** How deep arrays and objects may nest (a flat object is 1). */
  readonly maxDepth: number
  /** How many keys one object may have. */
  readonly maxKeys: number
  /** How many values (array items and object members, at any depth) the text may hold. */
  readonly maxValues: number
}

/** A bound of {@link JsonTextBounds} that JSON text passes. */
export type JsonTextBound = "depth" | "keys" | "values"

/** The bounds on a client's JSON inside a request (a tool call's arguments, a string): the defaults. */
export const DEFAULT_JSON_TEXT_BOUNDS: JsonTextBounds = Object.freeze({
  maxDepth: DEFAULT_MAX_JSON_DEPTH,
  maxKeys: DEFAULT_MAX_JSON_KEYS,
  maxValues: DEFAULT_MAX_JSON_VALUES,
})

/** An app's bounds on a JSON request body, as its settings name them. */
export interface JsonBodyBounds {
  readonly maxBodyDepth: number
  readonly maxBodyKeys: number
  readonly maxBodyValues: number
}

/** {@link textPassesBound} for a whole request body, with the app's body bounds. */
export function bodyPassesBound(text: string, limits: JsonBodyBounds): JsonTextBound | undefined {
  return textPassesBound(text, {
    maxDepth: limits.maxBodyDepth,
    maxKeys: limits.maxBodyKeys,
    maxValues: limits.maxBodyValues,
  })
}

/**
 * The first of `bounds` that JSON text passes, or `undefined`: read before it is parsed, as
 * `JSON.parse` is the cost it bounds (of 8 MiB of `[`, seconds and hundreds of MB; of an object
 * of 500 000 keys, 400 ms; of 8 MiB of `{}`, a second). It stops where a bound is passed: an
 * object of a million keys is refused after its first `maxKeys`, a body of a million values after
 * its first `maxValues`. Texts that share one `maxValues` (the tool calls of one request) pass
 * one `tally`: each adds the values it holds to it. Text that is not JSON may be answered either
 * way; its parse refuses it.
 */
export function textPassesBound(
  text: string,
  bounds: JsonTextBounds,
  tally: { values: number } = { values: 0 },
): JsonTextBound | undefined {
  // Per open container, by depth: the commas seen in it if it is an object, -1 if an array.
  const commas: number[] = []
  let passed: JsonTextBound | undefined
  walkJsonText(text, (index, depth) => {
    const char = text[index]
    if (char === "{" || char === "[") {
      if (depth > bounds.maxDepth) passed = "depth"
      else {
        commas[depth] = char === "{" ? 0 : -1
        // A container holds a first value unless it closes at once; each comma parts one more.
        if (text[nextToken(text, index + 1)] !== (char === "{" ? "}" : "]")) tally.values++
      }
    } else if (char === ",") {
      tally.values++
      const seen = commas[depth]
      // In an object, n commas part n + 1 keys.
      if (seen !== undefined && seen >= 0) {
        commas[depth] = seen + 1
        if (seen + 1 >= bounds.maxKeys) passed = "keys"
      }
    }
    if (passed === undefined && tally.values > bounds.maxValues) passed = "values"
    return passed !== undefined
  })
  return passed
}

/** The index of the first character from `index` on that is not JSON whitespace. */
function nextToken(text: string, index: number): number {
  let at = index
  while (text[at] === " " || text[at] === "\n" || text[at] === "\r" || text[at] === "\t") at++
  return at
}

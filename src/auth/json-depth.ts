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
 * Walks JSON text without parsing it: calls `visit` with the index of each `,` `[` `]` `{` `}`
 * outside strings and the nesting depth after it, until `visit` returns true (then returns true).
 * One loop, no allocation: whatever the depth, it neither recurses nor builds the value.
 */
export function walkJsonText(text: string, visit: (index: number, depth: number) => boolean): boolean {
  let depth = 0
  let inString = false
  for (let index = 0; index < text.length; index++) {
    const char = text[index]
    if (inString) {
      if (char === "\\") index++
      else if (char === '"') inString = false
    } else if (char === '"') inString = true
    else if (char === "[" || char === "{") {
      if (visit(index, ++depth)) return true
    } else if (char === "]" || char === "}") {
      if (visit(index, --depth)) return true
    } else if (char === "," && visit(index, depth)) return true
  }
  return false
}

/**
 * Whether JSON text nests arrays and objects more than `max` levels deep, read before it is parsed:
 * `JSON.parse` of 8 MiB of `[` takes seconds and hundreds of MB. Text that is not JSON may be
 * answered either way; its parse refuses it.
 */
export function textNestsDeeper(text: string, max: number): boolean {
  return walkJsonText(text, (_, depth) => depth > max)
}

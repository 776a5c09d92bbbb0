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

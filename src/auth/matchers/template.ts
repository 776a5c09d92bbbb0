/**
 * Pre-standardization URI template selectors (draft-08, last appendix: "raw topic selectors passed
 * as `topic` query parameters"): RFC 6570 templates such as `https://example.com/books/{id}`,
 * matched by de-substitution with the `uri-templates` package.
 */
import uriTemplates from "uri-templates"

const VARCHAR = "(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})"
const VARSPEC = `${VARCHAR}(?:\\.?${VARCHAR})*(?::[1-9][0-9]{0,3}|\\*)?`
/** RFC 6570 section 2.2 `expression`, with the level 2-4 operators (the reserved ones are refused). */
const EXPRESSION = new RegExp(`^\\{[+#./;?&]?${VARSPEC}(?:,${VARSPEC})*\\}$`)

/**
 * Why `template` is not a well-formed RFC 6570 template, or `undefined`. The library parses
 * anything without complaint (an unclosed `{` becomes literal text), so a typo would silently
 * become a selector that matches nothing.
 */
export function templateSyntaxError(template: string): string | undefined {
  let i = 0
  while (i < template.length) {
    const open = template.indexOf("{", i)
    const close = template.indexOf("}", i)
    if (close !== -1 && (open === -1 || close < open)) return `unmatched "}" at position ${close}`
    if (open === -1) return undefined
    const end = template.indexOf("}", open)
    if (end === -1) return `unclosed "{" at position ${open}`
    const expression = template.slice(open, end + 1)
    if (!EXPRESSION.test(expression)) {
      return `malformed expression "${expression}" at position ${open} (expected {name}, {+name}, {name*}, {/a,b}, ...)`
    }
    i = end + 1
  }
  return undefined
}

/** Variables in `template` (a `{a,b}` expression has two). */
export function templateVariableCount(template: string): number {
  return uriTemplates(template).varNames.length
}

/**
 * A predicate for topics `template` produces. Strict de-substitution (a simple `{id}` does not
 * span a `/`), then a round trip: the values found must expand back to the very topic, so that
 * a loose guess never counts as a match. A topic equal to the template text also matches, as in
 * the pre-standardization hubs. Never throws.
 */
export function templateMatcher(template: string): (topic: string) => boolean {
  const parsed = uriTemplates(template)
  return (topic) => {
    if (topic === template) return true
    try {
      const values = parsed.fromUri(topic, { strict: true })
      return values !== undefined && parsed.fill(values) === topic
    } catch {
      return false
    }
  }
}

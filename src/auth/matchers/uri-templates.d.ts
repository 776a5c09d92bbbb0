/** Types for the parts of `uri-templates` (RFC 6570 with de-substitution) that Herald uses. */
declare module "uri-templates" {
  /** Values of a template's variables: strings, lists, or key/value maps. */
  type UriTemplateValues = Record<string, unknown>

  /** A parsed RFC 6570 template. */
  interface UriTemplate {
    /** Expands the template. */
    fill(values: UriTemplateValues | ((name: string) => unknown)): string
    /** The variables' values that produce `uri`, or `undefined` when it cannot be produced. */
    fromUri(uri: string, options?: { strict?: boolean }): UriTemplateValues | undefined
    /** Whether `fromUri` finds values. */
    test(uri: string, options?: { strict?: boolean }): boolean
    /** The variable names, in order. */
    readonly varNames: readonly string[]
    /** The template as given. */
    readonly template: string
  }

  /** Parses `template`. Never throws: malformed input yields a template of literal text. */
  function uriTemplates(template: string): UriTemplate
  export default uriTemplates
}

/** One problem in the configuration: where it came from and what is wrong. */
export interface ConfigIssue {
  /** `--port "abc"`, `HERALD_PORT="abc"`, `herald.json: port`, or `config` for problems across settings. */
  readonly where: string
  /** What is expected, or what to do. */
  readonly message: string
}

/**
 * The configuration cannot be used. `message` lists every issue, one a line, each naming the
 * source and the setting, so that all of them can be fixed in one go.
 */
export class ConfigError extends Error {
  override name = "ConfigError"
  readonly issues: readonly ConfigIssue[]

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map((issue) => `${issue.where}: ${issue.message}`).join("\n"))
    this.issues = issues
  }
}

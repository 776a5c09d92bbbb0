/** How one check came out. `skip`: the watch gave it nothing to judge (the reason says why). */
export type Verdict = "pass" | "warn" | "fail" | "skip"

/** Where a fix goes: a proxy or platform in front of the server, or the server itself. */
export type FixTarget = "server" | "nginx" | "Caddy" | "AWS ALB" | "Cloudflare" | "doctor"

/** A change that makes a check pass, for one place in the path. */
export interface Fix {
  readonly target: FixTarget
  readonly snippet: string
}

/** The outcome of one check: its verdict, why, and what to change when it is not a pass. */
export interface CheckResult {
  /** Stable identifier, used by `--json` consumers. */
  readonly id: string
  readonly verdict: Verdict
  /** One sentence: what was seen and what it means. */
  readonly reason: string
  readonly fixes: readonly Fix[]
}

/** A result without fixes (a pass or a skip, or a problem no configuration snippet solves). */
export function result(
  id: string,
  verdict: Verdict,
  reason: string,
  fixes: readonly Fix[] = [],
): CheckResult {
  return { id, verdict, reason, fixes: verdict === "pass" || verdict === "skip" ? [] : fixes }
}

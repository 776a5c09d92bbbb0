import { ADMISSION_RETRY_AFTER_SECONDS, type Admission } from "../server/admission.js"
import { HttpError } from "./http-error.js"

/** The hub's side of an {@link Admission} that other apps may share (`herald serve`'s AI endpoints). */
export interface HubAdmission {
  /** Takes a slot for `address`, or throws a 429 {@link HttpError} saying which limit was hit. */
  admit(address: string): void
  /** Gives a slot back. */
  release(address: string): void
  /** The hub's own subscriber connections: its figures leave out the other apps' responses. */
  readonly open: number
}

/** Admits the hub's subscribers through `shared`. */
export function hubAdmission(shared: Admission): HubAdmission {
  let open = 0
  const retryAfter = { "retry-after": String(ADMISSION_RETRY_AFTER_SECONDS) }
  return {
    admit(address) {
      const refused = shared.admit(address)
      if (refused === undefined) {
        open++
        return
      }
      const hint =
        refused.limit === "maxConnectionsPerAddress"
          ? " Close unused EventSources, or share one connection with several match parameters."
          : ""
      throw new HttpError(429, refused.message + hint, retryAfter)
    },
    release(address) {
      shared.release(address)
      open--
    },
    get open() {
      return open
    },
  }
}

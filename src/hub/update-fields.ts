import { addressesReservedNamespace, invalidCharacterReason } from "../auth/matchers/validate.js"
import { hasEdgeWhitespace } from "../protocol/header-value.js"
import type { FormFields } from "./form.js"
import { HttpError } from "./http-error.js"
import type { ResolvedLimits } from "./settings.js"
import type { NewUpdate } from "./update.js"

/** An update as it arrived (form fields or a JSON object), before validation. */
export interface UpdateDraft {
  readonly topics: readonly string[]
  readonly data?: string | undefined
  readonly private: boolean
  readonly id?: string | undefined
  readonly type?: string | undefined
  readonly retry?: string | undefined
}

/**
 * The update carried by a form-encoded publish request. "hubs MUST ignore fields they do not
 * recognize"; "The presence of the field name marks the update as private regardless of its value".
 */
export function draftFromForm(fields: FormFields): UpdateDraft {
  const topics: string[] = []
  let data: string | undefined
  let isPrivate = false
  let id: string | undefined
  let type: string | undefined
  let retry: string | undefined
  for (const [name, value] of fields) {
    if (name === "topic") topics.push(value)
    else if (name === "data") data = value
    else if (name === "private") isPrivate = true
    else if (name === "id") id = value
    else if (name === "type") type = value
    else if (name === "retry") retry = value
  }
  return { topics, data, private: isPrivate, id, type, retry }
}

/** What validation needs from the hub. */
export interface UpdateRules {
  readonly hubUrl: URL
  readonly limits: ResolvedLimits
}

/**
 * Checks an update against draft-08 "Publication" and the hub's limits and returns it ready for
 * the engine. Throws an {@link HttpError}: 400 naming the field and the rule, or 413 for a limit.
 * `where` prefixes messages in batch requests (e.g. `update 3: `).
 */
export function validateUpdate(draft: UpdateDraft, rules: UpdateRules, where = ""): NewUpdate {
  const fail = (status: number, message: string): never => {
    throw new HttpError(status, where + message)
  }
  const { topics } = draft
  if (topics.length === 0) {
    fail(400, 'The update has no "topic" field. Add at least one, e.g. topic=https://example.com/books/1.')
  }
  if (topics.length > rules.limits.maxTopicsPerUpdate) {
    fail(
      413,
      `The update has ${topics.length} topics; the hub accepts at most ${rules.limits.maxTopicsPerUpdate} (--max-topics-per-update).`,
    )
  }
  for (const topic of topics) checkTopic(topic, rules, fail)

  const id = draft.id === "" ? undefined : draft.id
  if (id !== undefined) {
    checkLength("id", id, rules, fail)
    // Checked before the characters, so that an edge tab gets this message, not "a C0 control".
    if (hasEdgeWhitespace(id)) {
      fail(
        400,
        `"id" ${quote(id)} starts or ends with a space or tab, which HTTP strips from the Last-Event-ID header that a reconnecting client sends back: the hub could not find the update, and subscribers could not resume from it. Trim the id.`,
      )
    }
    checkCharacters("id", id, fail)
    if (id.startsWith("#"))
      fail(400, `"id" must not start with "#" (reserved for ids the hub generates); got ${quote(id)}.`)
    if (id === "earliest")
      fail(400, '"id" must not be "earliest": that value is reserved for resuming from the start.')
  }

  const type = draft.type === "" ? undefined : draft.type
  if (type !== undefined) {
    checkLength("type", type, rules, fail)
    checkCharacters("type", type, fail)
    if (type === "mercure") {
      fail(400, '"type" must not be "mercure": that event type is reserved for events the hub generates.')
    }
  }

  let retry: number | undefined
  if (draft.retry !== undefined) {
    // "The value MUST consist solely of ASCII digits".
    if (!/^[0-9]+$/.test(draft.retry))
      fail(400, `"retry" must be ASCII digits only (milliseconds); got ${quote(draft.retry)}.`)
    retry = Number(draft.retry)
    if (!Number.isSafeInteger(retry)) fail(400, `"retry" is too large; got ${draft.retry}.`)
  }

  const data = draft.data ?? ""
  // Form bodies are decoded strictly; JSON strings may still carry an escaped lone surrogate.
  if (/\p{Cs}/u.test(data)) fail(400, '"data" is not valid UTF-8 text (it holds a lone surrogate).')

  return {
    topics,
    data,
    private: draft.private,
    ...(id === undefined ? {} : { id }),
    ...(type === undefined ? {} : { type }),
    ...(retry === undefined ? {} : { retry }),
  }
}

function checkTopic(
  topic: string,
  rules: UpdateRules,
  fail: (status: number, message: string) => never,
): void {
  checkLength("topic", topic, rules, fail)
  checkCharacters("topic", topic, fail)
  if (topic === "*") {
    fail(400, '"topic" must not be "*": it is the wildcard matcher and would match every subscriber.')
  }
  if (addressesReservedNamespace(topic, rules.hubUrl)) {
    fail(
      400,
      `"topic" ${quote(topic)} is in the hub's reserved namespace (${rules.hubUrl.pathname}/…), which only the hub publishes to. Choose a topic outside it.`,
    )
  }
}

function checkLength(
  field: string,
  value: string,
  rules: UpdateRules,
  fail: (status: number, message: string) => never,
): void {
  if (value.length > rules.limits.maxPatternLength) {
    fail(
      413,
      `"${field}" is ${value.length} characters long; the hub accepts at most ${rules.limits.maxPatternLength} (--max-pattern-length).`,
    )
  }
}

function checkCharacters(
  field: string,
  value: string,
  fail: (status: number, message: string) => never,
): void {
  // These fields travel in SSE framing and HTTP fields: a control character could inject a field.
  const reason = invalidCharacterReason(value)
  if (reason !== undefined) fail(400, `"${field}" ${quote(value)} is not allowed: ${reason}.`)
}

const quote = (value: string): string => JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)

/**
 * `herald/hub`: a Mercure-protocol (draft-dunglas-mercure-08) pub/sub hub for `node:http`, on a
 * pluggable engine — the same hub `herald serve` runs. Mount `hub.handle` on any server.
 *
 * @packageDocumentation
 */

export { createDevTokens, type DevTokenOptions, type DevTokens, signAccessToken } from "../auth/dev-tokens.js"
export { AuthError, type BearerErrorCode } from "../auth/errors.js"
export type { Action, App, Grants, Role } from "../auth/grants.js"
export type { TrustedKey } from "../auth/keys.js"
export type { Engine } from "../engine/engine.js"
export type { Logger } from "../logger.js"
export type { HubActivity, HubFigures, RecentUpdate } from "./activity.js"
export { BATCH_PUBLISH_PATH } from "./batch-publish.js"
export { createHub, type Hub } from "./hub.js"
export type { HubLimits, HubOptions, RoleAuthOptions } from "./options.js"
export { CURSOR_NOT_FOUND_EVENT } from "./subscribe.js"
export { EARLIEST, type NewUpdate, type StoredUpdate } from "./update.js"
export { DEFAULT_HUB_LOG, type UpdateLog } from "./update-log.js"

import { MATCHER_TYPES } from "../auth/matchers/matcher.js"
import { toHeaderValue } from "../server/index.js"
import type { HubSettings } from "./settings.js"

/** The Mercure authorization detail type (draft-08 "Authorization Details"). */
export const AUTHORIZATION_DETAIL_TYPE = "https://mercure.rocks/authorization-detail"

/**
 * The OAuth 2.0 Protected Resource Metadata document (RFC 9728) of the hub, served at the path
 * derived from the hub URL (`/.well-known/oauth-protected-resource/.well-known/mercure`).
 */
export function protectedResourceMetadata(settings: HubSettings): Record<string, unknown> {
  return {
    resource: settings.resource,
    authorization_details_types_supported: [AUTHORIZATION_DETAIL_TYPE],
    bearer_methods_supported: ["header"],
    // The cookie is a Mercure extension, advertised on its own member rather than as a bearer method.
    mercure_cookie: settings.cookieNames[0],
    mercure_matcher_types_supported: MATCHER_TYPES,
    ...(settings.subscriptions ? { mercure_subscriptions: true } : {}),
  }
}

/**
 * The `rel="mercure"` Link header value, optionally with target attributes (`last-event-id`, `type`, …),
 * ready to write: attribute values may come from input (an event id), see {@link toHeaderValue}.
 */
export function mercureLink(
  settings: HubSettings,
  attributes: Readonly<Record<string, string>> = {},
): string {
  let link = `<${settings.hubUrl.href}>; rel="mercure"`
  for (const [name, value] of Object.entries(attributes))
    link += `; ${name}="${value.replace(/["\\]/g, "\\$&")}"`
  return toHeaderValue(link)
}

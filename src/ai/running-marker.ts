import { subjectFolder } from "./subject-scoped-log.js"

/**
 * A running generation's marker: an empty log that exists from before its generation's log is
 * made until that log is closed, owned (its config's `owner`) by the node that runs it. Markers
 * are what every node lists to count a subject's running generations (subject-limits.ts) and to
 * find the open generations of a node that died (dead-node-scan.ts): a listing of the markers
 * reads only what runs now, where one of the generation logs reads all that retention keeps.
 *
 * The name: `ai/run/<the subject, hashed>/<generation id>`.
 */
export const RUNNING_MARKER_PREFIX = "ai/run/"

/** The folder of `subject`'s markers: a listing of it counts the subject's running generations. */
export function subjectMarkers(subject: string | undefined): string {
  return subjectFolder(RUNNING_MARKER_PREFIX, subject)
}

/** The marker of generation `id` of `subject`. */
export function runningMarker(subject: string | undefined, id: string): string {
  return `${subjectMarkers(subject)}${id}`
}

/** The generation id a marker's name ends with. */
export function markedGeneration(marker: string): string {
  return marker.slice(marker.lastIndexOf("/") + 1)
}

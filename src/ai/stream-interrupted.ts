/**
 * What a generation's stream says, in its format's error event of type `stream_interrupted` (sent
 * without an `id:`), when it ends before the generation's end while the generation may run on: the
 * client is to resume from the last event id it got. The AI SDK's UI message stream has no error
 * type, only this text, by which Herald's transport (`herald/ai/ai-sdk`) tells such an end from
 * the generation's own failure and resumes instead.
 */
export const STREAM_INTERRUPTED = {
  /** This node shut down (a rolling deploy) before the generation's end: another node serves the rest. */
  shutdown:
    "this server shut down before the generation's end: resume it on another from the last event id received (GET /v1/generations/{id}/stream with Last-Event-ID)",
  /** The reader fell behind, or the store failed under it. */
  stopped:
    "this stream stopped before the generation's end: resume it from the last event id received (GET /v1/generations/{id}/stream with Last-Event-ID)",
} as const

/** Whether `message` is one of {@link STREAM_INTERRUPTED}'s: the stream ended early, its generation did not. */
export function isStreamInterrupted(message: string): boolean {
  return message === STREAM_INTERRUPTED.shutdown || message === STREAM_INTERRUPTED.stopped
}

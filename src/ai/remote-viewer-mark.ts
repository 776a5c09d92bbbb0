/**
 * The mark that generation `id` has had a viewer on a node other than the one running it: an
 * empty log, made by the viewer's node, that the running node looks for before it stops the
 * generation for a disconnect (disconnect-grace.ts). The `ai.viewer` signal tells that node at
 * once, but a signal is delivered at most once, and Redis drops a subscriber with what it missed
 * (past `client-output-buffer-limit pubsub`, in a failover): the mark is what a lost signal
 * leaves, as the stop flag is for a cancel's.
 *
 * The name: `ai/viewed/<generation id>`.
 */
export function remoteViewerMark(id: string): string {
  return `ai/viewed/${id}`
}

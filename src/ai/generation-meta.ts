/**
 * The wire format a generation was created in: what its stream renders by default. `ai-sdk` is
 * the Vercel AI SDK's UI message stream (`POST /v1/ai-sdk/chat`).
 */
export type GenerationFormat = "openai" | "anthropic" | "ai-sdk"

const FORMATS: ReadonlySet<string> = new Set<GenerationFormat>(["openai", "anthropic", "ai-sdk"])

/** Whether `name` is a {@link GenerationFormat}. */
export function isGenerationFormat(name: string): name is GenerationFormat {
  return FORMATS.has(name)
}

/** What a generation's log records about it besides its entries (the log's `config.meta`). */
export interface GenerationMeta {
  /** The model name the client asked for (a configured name, not the upstream's). */
  readonly model: string
  readonly format: GenerationFormat
  /** The `sub` of the token that created it: it owns the generation. `undefined` without one. */
  readonly owner: string | undefined
  /** When the request arrived, in ms since the Unix epoch. */
  readonly createdAt: number
  /** The OpenAI client asked for the usage chunk (`stream_options.include_usage`). */
  readonly includeUsage: boolean
  /**
   * The id of the UI message the answer belongs to, which the AI SDK's view sends in its `start`
   * part: the assistant message an AI SDK chat request continued (after a tool's output, say).
   * `undefined` for a new message (and in a generation stored before it was kept): `msg_<id>`.
   */
  readonly messageId?: string
}

/** `meta` as the engine stores it: strings only. */
export function metaToRecord(meta: GenerationMeta): Record<string, string> {
  return {
    model: meta.model,
    format: meta.format,
    ...(meta.owner === undefined ? {} : { owner: meta.owner }),
    createdAt: String(meta.createdAt),
    includeUsage: meta.includeUsage ? "true" : "false",
    ...(meta.messageId === undefined ? {} : { messageId: meta.messageId }),
  }
}

/** The meta of a generation's log, or `undefined` when the log is not a generation's. */
export function metaFromRecord(
  record: Readonly<Record<string, string>> | undefined,
): GenerationMeta | undefined {
  if (record === undefined || record.model === undefined) return undefined
  const format = record.format
  if (format === undefined || !isGenerationFormat(format)) return undefined
  return {
    model: record.model,
    format,
    owner: record.owner,
    createdAt: Number(record.createdAt),
    includeUsage: record.includeUsage === "true",
    ...(record.messageId === undefined ? {} : { messageId: record.messageId }),
  }
}

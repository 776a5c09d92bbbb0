import type { GenerationMeta } from "../../src/ai/generation-meta.js"

/** The request of a generation started straight on `Generations` (no endpoint): one user turn. */
export const REQUEST = {
  model: "m",
  messages: [{ role: "user" as const, content: [{ type: "text" as const, text: "hi" }] }],
}

/** The meta of such a generation: an OpenAI-format stream for the subject `urn:test`. */
export const META: GenerationMeta = {
  model: "m",
  format: "openai",
  owner: "urn:test",
  createdAt: Date.now(),
  includeUsage: false,
}

/**
 * The demo model's answers: a deterministic, varied text built from the prompt's words, so the
 * same prompt always gets the same answer, and different prompts get different ones.
 *
 * @packageDocumentation
 */

/** Words too common to be what a prompt is about. */
const STOP_WORDS = new Set(
  "a an and are as at be but by can could do does for from how i if in into is it its me my of on or please so tell that the their them then there these this to was what when where which who why will with would you your".split(
    " ",
  ),
)

const OPENERS = [
  "You asked about {a}, so here is a short answer.",
  "Good question about {a}.",
  "Let's think about {a} together.",
  "Here is how I see {a}.",
]

const SENTENCES = [
  "The heart of {a} is how it relates to {b}.",
  "A useful way to picture {a} is as a conversation with {b}.",
  "Most people start with {a}, and only later notice {b}.",
  "When {a} changes, {b} usually follows a moment later.",
  "It helps to write {a} down first, then look again at {b}.",
  "There is no single answer about {a}, but {b} is a good place to begin.",
  "Some say {a} is simple; the details of {b} suggest otherwise.",
  "If you remember one thing, remember that {a} and {b} go together.",
  "A small experiment with {a} teaches more than a long debate about {b}.",
  "Over time, {a} tends to matter more than {b}.",
]

const CLOSING = "(This is Herald's offline demo model: no real model wrote it.)"

/** Topics when a prompt has no word worth repeating. */
const FALLBACK_TOPICS = ["your question", "streaming", "the answer"]

/**
 * The demo answer to `prompt`: an opener, sentences that mention the prompt's words, and a
 * closing line saying it is a demo. About `words` words long (whole sentences, at least the
 * opener and closing).
 */
export function demoAnswer(prompt: string, words: number): string {
  const random = seededRandom(hash(prompt))
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
  const topics = topicsOf(prompt)
  const fill = (template: string): string => {
    const a = pick(topics)
    const others = topics.filter((topic) => topic !== a)
    return template.replace("{a}", a).replace("{b}", others.length > 0 ? pick(others) : "what comes next")
  }
  const sentences = [fill(pick(OPENERS))]
  let count = wordCount(sentences[0] as string) + wordCount(CLOSING)
  // Bounded by `words`: each sentence adds at least five words.
  while (count < words) {
    const sentence = fill(pick(SENTENCES))
    sentences.push(sentence)
    count += wordCount(sentence)
  }
  sentences.push(CLOSING)
  return sentences.join(" ")
}

/** How much of the prompt is looked at for topics: its start says what it is about. */
const TOPIC_SAMPLE_CHARS = 4096
/** Longer "words" (a pasted hash, `aaaa…`) are not topics: the answer stays about `words` long. */
const MAX_TOPIC_CHARS = 24

/** The prompt's distinct words worth mentioning, in order of appearance, at most twelve. */
function topicsOf(prompt: string): string[] {
  const words =
    prompt
      .slice(0, TOPIC_SAMPLE_CHARS)
      .toLowerCase()
      .match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? []
  const topics = [
    ...new Set(
      words.filter((word) => word.length > 2 && word.length <= MAX_TOPIC_CHARS && !STOP_WORDS.has(word)),
    ),
  ].slice(0, 12)
  return topics.length > 0 ? topics : FALLBACK_TOPICS
}

function wordCount(text: string): number {
  return text.split(" ").length
}

/** FNV-1a, 32 bits: a stable seed from the prompt. */
function hash(text: string): number {
  let value = 0x811c9dc5
  for (let at = 0; at < text.length; at++) {
    value ^= text.charCodeAt(at)
    value = Math.imul(value, 0x01000193)
  }
  return value >>> 0
}

/** mulberry32: a small seeded generator, the same sequence for the same seed on every platform. */
function seededRandom(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

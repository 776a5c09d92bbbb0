// The demo model's answer as it streams it (src/ai/demo.ts): the text of demoAnswer(prompt,
// words), encoded with gpt-tokenizer's r50k_base and decoded piece by piece, each piece with the
// number of tokens taken so far (`sent`, from 1): the demo sends a piece at start + (sent − 1)
// intervals (time to first token 0).
import { decodeGenerator, encode } from "gpt-tokenizer/encoding/r50k_base"
import { demoAnswer } from "../../dist/ai/demo-text.js"

/** `{ text, pieces: [{ text, sent, end }] }`: `end` is the answer's length up to and including the piece. */
export function demoPieces(prompt, words) {
  const text = demoAnswer(prompt, words)
  let sent = 0
  const counted = (function* () {
    for (const token of encode(text)) {
      sent++
      yield token
    }
  })()
  const pieces = []
  let end = 0
  for (const piece of decodeGenerator(counted)) {
    end += piece.length
    pieces.push({ text: piece, sent, end })
  }
  return { text, pieces }
}

// The bounds on a client's JSON, read on its text before it is parsed: how deep it nests, and how
// many keys one object has. What the walk counts (an object's keys, not an array's items; nothing
// inside strings, whatever their escapes), and that it stops at the first bound passed.
import { describe, expect, it } from "vitest"
import { DEFAULT_MAX_JSON_KEYS, textPassesBound, walkJsonText } from "../../src/auth/json-depth.js"

/** An object of `count` keys `"k0"`, `"k1"`…, each `value`. */
function keys(count: number, value = "0"): string {
  return `{${Array.from({ length: count }, (_, at) => `"k${at}":${value}`).join(",")}}`
}

const bounds = (maxKeys: number, maxDepth = 64) => ({ maxDepth, maxKeys })

describe("textPassesBound, on keys", () => {
  it("passes an object of maxKeys keys, not one of a key more, at any depth", () => {
    expect(textPassesBound(keys(3), bounds(3))).toBeUndefined()
    expect(textPassesBound(keys(4), bounds(3))).toBe("keys")
    expect(textPassesBound(`{"a":[${keys(3)},${keys(3)}]}`, bounds(3))).toBeUndefined()
    expect(textPassesBound(`{"a":[${keys(3)},${keys(4)}]}`, bounds(3))).toBe("keys")
    expect(textPassesBound(`[1,"x",${keys(4, "null")}]`, bounds(3))).toBe("keys")
  })

  it("counts each object's own keys: an inner object or array does not end the outer one's count", () => {
    expect(textPassesBound('{"a":{"b":1,"c":2},"d":[1,2,3],"e":3}', bounds(3))).toBeUndefined()
    expect(textPassesBound('{"a":{"b":1,"c":2},"d":[1,2,3],"e":3,"f":4}', bounds(3))).toBe("keys")
    expect(textPassesBound('[{"a":1,"b":2},{"a":1,"b":2},{"a":1,"b":2}]', bounds(2))).toBeUndefined()
  })

  it("does not count an array's items, nor commas in strings, whatever their escapes", () => {
    expect(textPassesBound(`[${Array(100_000).fill("0").join(",")}]`, bounds(3))).toBeUndefined()
    expect(textPassesBound('{"a,b,c,d":"x,\\",y,\\\\","e":",,,"}', bounds(2))).toBeUndefined()
    expect(textPassesBound('{"a":"\\\\\\\\","b":"\\"\\\\","c":1}', bounds(2))).toBe("keys")
  })

  it("stops at the first bound passed: the keys past it, or a deeper nesting after it, are never read", () => {
    // Past the bound the text is no JSON at all, then nests past maxDepth: read on, either
    // would be another answer.
    const tail = `,${"[".repeat(100)}${"]".repeat(100)}`
    const many = keys(500_000)
    expect(textPassesBound(`${many.slice(0, -1)}${tail}}`, bounds(DEFAULT_MAX_JSON_KEYS))).toBe("keys")
    expect(textPassesBound(`${"[".repeat(100)}${many}${"]".repeat(100)}`, bounds(10))).toBe("depth")
  })
})

describe("textPassesBound, on depth", () => {
  it("passes JSON nested maxDepth deep (a flat object is 1), not a level more; brackets in strings do not count", () => {
    expect(textPassesBound('[[{"a":"[[[["}]]', bounds(10, 3))).toBeUndefined()
    expect(textPassesBound('[[{"a":[]}]]', bounds(10, 3))).toBe("depth")
    expect(textPassesBound(`${"[".repeat(200_000)}${"]".repeat(200_000)}`, bounds(10, 64))).toBe("depth")
  })
})

describe("walkJsonText", () => {
  it("skips strings to their closing quote: one after an even run of backslashes", () => {
    const seen: string[] = []
    const text = '["\\\\",["\\"]"],"\\\\\\"[",{}]'
    walkJsonText(text, (index, depth) => {
      seen.push(`${text[index]}${depth}`)
      return false
    })
    expect(JSON.parse(text)).toEqual(["\\", ['"]'], '\\"[', {}])
    expect(seen).toEqual(["[1", ",1", "[2", "]1", ",1", ",1", "{2", "}1", "]0"])
  })
})

// The bounds on a client's JSON, read on its text before it is parsed: how deep it nests, how
// many keys one object has, and how many values it holds in all. What the walk counts (an
// object's keys, not an array's items, for one object; every item and member for the values;
// nothing inside strings, whatever their escapes), and that it stops at the first bound passed.
import { describe, expect, it } from "vitest"
import {
  DEFAULT_MAX_JSON_KEYS,
  DEFAULT_MAX_JSON_VALUES,
  textPassesBound,
  walkJsonText,
} from "../../src/auth/json-depth.js"

/** An object of `count` keys `"k0"`, `"k1"`…, each `value`. */
function keys(count: number, value = "0"): string {
  return `{${Array.from({ length: count }, (_, at) => `"k${at}":${value}`).join(",")}}`
}

const bounds = (maxKeys: number, maxDepth = 64, maxValues = 1_000_000) => ({ maxDepth, maxKeys, maxValues })

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

describe("textPassesBound, on values", () => {
  /** The bounds with `maxValues` alone binding. */
  const values = (maxValues: number) => bounds(1_000_000, 64, maxValues)
  /** Whether `text` holds exactly `count` values: it passes that many, not one fewer. */
  const holds = (text: string, count: number) => {
    expect(textPassesBound(text, values(count)), text).toBeUndefined()
    expect(textPassesBound(text, values(count - 1)), text).toBe("values")
  }

  it("counts every array item and object member, scalar or not, at any depth, and nothing in strings", () => {
    for (const empty of ["[]", "{}", "[ ]", "{ \n\t}", "0", '"a"']) {
      expect(textPassesBound(empty, values(1)), empty).toBeUndefined()
      expect(textPassesBound(`[${empty}]`, values(1)), empty).toBeUndefined()
      expect(textPassesBound(`[${empty},${empty}]`, values(1)), empty).toBe("values")
    }
    holds('[1,[2,3],{"a":4,"b":[]}]', 7)
    holds('{"a":{},"b":[[],{}],"c":null}', 5)
    holds('[ 1 , { "a" : [ ] } ]', 3)
    holds('["a,b,[c]","{\\"x\\":[1,2]}",{"k,{":"]"}]', 4)
    holds(`[${Array(1000).fill("0").join(",")}]`, 1000)
  })

  it("passes 200 000 empty objects under the default bound, not one more", () => {
    const objects = (count: number) => `[${Array(count).fill("{}").join(",")}]`
    const defaults = bounds(DEFAULT_MAX_JSON_KEYS, 64, DEFAULT_MAX_JSON_VALUES)
    expect(textPassesBound(objects(DEFAULT_MAX_JSON_VALUES), defaults)).toBeUndefined()
    expect(textPassesBound(objects(DEFAULT_MAX_JSON_VALUES + 1), defaults)).toBe("values")
  })

  it("stops at the value past the bound: what follows, no JSON, nested past maxDepth, is never read", () => {
    const text = `[${Array(1000).fill("{}").join(",")},${"[".repeat(100)}`
    expect(textPassesBound(text, bounds(10, 64, 1000))).toBe("values")
    expect(textPassesBound(text, bounds(10, 64, 2000))).toBe("depth")
  })

  it("counts on in the tally the texts share: each adds what it holds, and the bound is on the sum", () => {
    const tally = { values: 0 }
    expect(textPassesBound('{"a":[1,2]}', values(5), tally)).toBeUndefined()
    expect(tally.values).toBe(3)
    expect(textPassesBound('{"b":1}', values(5), tally)).toBeUndefined()
    expect(textPassesBound("[1,2]", values(5), tally)).toBe("values")
    expect(textPassesBound("[1,2]", values(5))).toBeUndefined()
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

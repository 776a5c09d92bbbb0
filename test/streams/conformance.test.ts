import { createMemoryEngine } from "../../src/engine/memory.js"
import { describeConformance } from "./conformance.js"

describeConformance("the memory engine", () => createMemoryEngine())

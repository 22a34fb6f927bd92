import { it } from "vitest"
import { stringify } from "yaml"
it("scratch", () => {
  console.log(stringify({ c: Buffer.from("hello world"), u: new Uint8Array([1,2,3]), n: 644, s: ["y", "n", "on", "1:2", "0644", "~", "null"], e: [] , o: {}}, { version: "1.1" }))
})

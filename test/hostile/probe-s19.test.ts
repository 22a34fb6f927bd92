import { it } from "vitest"
import { parseConf } from "../../src/clouds/scaleway.js"
const t = (label: string, f: () => unknown) => { const s = performance.now(); const r = f(); console.log(label, Math.round(performance.now() - s), JSON.stringify([...(r as Map<string,string>)].slice(0,2))) }
it("p", () => {
  for (const n of [5000, 10000, 20000, 40000]) t(`open quote ${n}`, () => parseConf("HOSTNAME=h\n" + "X='a\n".repeat(n)))
})

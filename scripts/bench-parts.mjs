// What `npm run bench` and `npm run bench:shell` share: the program as the
// package installs it, the simulator and the pretend system from the sources.
import { execFileSync } from "node:child_process"
import { join, resolve } from "node:path"
import { build } from "esbuild"

export const REPO = resolve(new URL("..", import.meta.url).pathname)

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
export const ms = (x) => `${x.toFixed(0)} ms`

/** `make install` into WORK/image, its code caches prepared; returns the image */
export const installImage = (work) => {
  const image = join(work, "image")
  execFileSync("make", ["-s", "install", `DESTDIR=${image}`], { cwd: REPO, stdio: ["ignore", "ignore", "inherit"] })
  return image
}

/** the simulator, the pretend system and the demo instance, bundled from the sources into WORK */
export const loadHelpers = async (work) => {
  const helpers = join(work, "helpers.cjs")
  await build({
    stdin: {
      contents: `export { startSimulator } from "./src/sim/simulator.ts"; export { makeFakeSystem } from "./src/sim/fake-system.ts"; export { demoInstance } from "./src/programs/simulate.ts"`,
      resolveDir: REPO,
      loader: "ts"
    },
    bundle: true,
    platform: "node",
    format: "cjs",
    outfile: helpers,
    logLevel: "error"
  })
  return (await import(helpers)).default
}

/** a service's start() as OpenRC runs it, as a shell command line */
export const serviceStart = (image, phase) => `ebegin() { :; }; eend() { return "$1"; }; . "${image}/etc/init.d/tiny-cloud-${phase}"; start`

import build from "../support/build.js"
import { unmetRequirements } from "./guest.js"

/** vitest global setup of the VM test: build the bundle, unless the test will be skipped anyway */
export default function setup() {
  if (unmetRequirements() === undefined) build()
}

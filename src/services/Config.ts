import * as Context from "effect/Context"
import type { Settings } from "../domain/settings.js"

/** The effective configuration (file, environment, defaults). */
export class Config extends Context.Tag("tiny-cloud/Config")<Config, Settings>() {}

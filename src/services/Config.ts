import { Context } from "effect"
import type { Settings } from "../schema/config.js"

export class Config extends Context.Tag("tiny-cloud/Config")<Config, Settings>() {}

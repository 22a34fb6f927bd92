/**
 * `tiny-cloud config [--json]`: every configuration key with its effective
 * value and where it came from; keys of the file this program does not know
 * (with the known key meant, for a likely typo) and invalid values. The
 * output is itself a valid tiny-cloud.conf. Exit 1 when invalid.
 */
import * as Effect from "effect/Effect"
import { isActionName } from "../domain/actions.js"
import { DEFAULT_ACTIONS } from "../domain/plan.js"
import type { Phase } from "../domain/phases.js"
import { CONFIG_KEYS, ENVIRONMENT_ONLY, fileWarnings, type ConfigKey, type Settings, type Source } from "../domain/settings.js"
import { Cloud } from "../services/Cloud.js"
import { Config } from "../services/Config.js"
import { Output, print } from "../services/Output.js"
import { HOTPLUG_MODULES } from "./actions/hotplug.js"
import { ownEntry } from "../domain/own.js"
import { printable, withoutSecrets } from "../domain/text.js"
import { shellWord } from "../domain/shell-words.js"

const CONF = "/etc/tiny-cloud.conf"

const actions = (phase: Phase) => (s: Settings) => (s.initActions[phase] ?? DEFAULT_ACTIONS[phase]).join(" ")

/** each key's effective value, as the program uses it */
const EFFECTIVE: Readonly<Record<ConfigKey, (s: Settings) => string>> = {
  ROOT: (s) => s.root,
  CLOUD: (s) => s.cloud,
  CLOUD_USER: (s) => s.cloudUser,
  TINY_CLOUD_VAR: (s) => s.varDir,
  TINY_CLOUD_LOGS: (s) => s.logDir,
  SKIP_INIT_ACTIONS: (s) => s.skipActions.join(" "),
  INIT_ACTIONS_BOOT: actions("boot"),
  INIT_ACTIONS_EARLY: actions("early"),
  INIT_ACTIONS_MAIN: actions("main"),
  INIT_ACTIONS_FINAL: actions("final"),
  HOTPLUG_TYPE: (s) => s.hotplugType,
  HOTPLUG_MODULES: (s) => s.hotplugModules.join(" "),
  IMDS_TOKEN_TTL: (s) => String(s.imdsTokenTtl),
  IMDS_ENDPOINT: (s) => s.imdsEndpoint ?? "",
  IMDS_TIMEOUT: (s) => String(s.imdsTimeout),
  IMDS_DEADLINE: (s) => String(s.imdsDeadline),
  TINY_CLOUD_LINK_WAIT_MAX: (s) => String(s.linkWaitMax),
  DEBUG: (s) => (s.debug ? s.values.DEBUG! : ""),
  IMDS_RETRY_DELAY: (s) => String(s.imdsRetryDelay),
  IMDS_RETRY_MAX_DELAY: (s) => String(s.imdsRetryMaxDelay),
  USERDATA_MAX_BYTES: (s) => String(s.userDataMaxBytes),
  IMDS_MAX_BYTES: (s) => String(s.imdsMaxBytes),
  IMDS_MAX_KEYS: (s) => String(s.imdsMaxKeys),
  TINY_CLOUD_RESIDENT_IDLE: (s) => String(s.residentIdle),
  AZURE_WIRESERVER: (s) => s.azureWireserver ?? "",
  TINY_CLOUD_CODE_CACHE: (s) => (s.sources.TINY_CLOUD_CODE_CACHE?.from === "environment" && s.values.TINY_CLOUD_CODE_CACHE) || "/run/tiny-cloud"
}

export interface KeyReport {
  readonly key: ConfigKey
  readonly value: string
  readonly source: Source["from"]
  readonly line?: number
  /** why the value as written is invalid (the key keeps its default) */
  readonly problem?: string
}

export interface ConfigReport {
  readonly valid: boolean
  readonly keys: ReadonlyArray<KeyReport>
  readonly warnings: ReadonlyArray<string>
  readonly problems: ReadonlyArray<string>
}

const describeSource = (source: Source): string =>
  source.from === "file" ? `${CONF} line ${source.line}` : source.from === "environment" ? "environment" : "default"

const sourceOf = (s: Settings, key: ConfigKey): Source => {
  const source = s.sources[key] ?? { from: "default" }
  return ENVIRONMENT_ONLY.has(key) && source.from === "file" ? { from: "default" } : source
}

/**
 * What a boot takes without failing but cannot do as asked: names of
 * actions or hotplug modules that do not exist (a boot logs each as
 * `unknown`), a hotplug system without modules.
 */
const boundsProblem = (s: Settings, key: ConfigKey): string | undefined => {
  const unknownNames = (names: ReadonlyArray<string>, known: (n: string) => boolean, what: string) => {
    const unknown = names.filter((n) => !known(n))
    return unknown.length === 0 ? undefined : `${key}: unknown ${what}${unknown.length === 1 ? "" : "s"} ${unknown.map((n) => `'${printable(n)}'`).join(", ")}`
  }
  switch (key) {
    case "SKIP_INIT_ACTIONS":
      return unknownNames(s.skipActions, isActionName, "action")
    case "INIT_ACTIONS_BOOT":
    case "INIT_ACTIONS_EARLY":
    case "INIT_ACTIONS_MAIN":
    case "INIT_ACTIONS_FINAL":
      return unknownNames(s.initActions[key.slice("INIT_ACTIONS_".length).toLowerCase() as Phase] ?? [], isActionName, "action")
    case "HOTPLUG_TYPE":
      // as install_hotplugs takes it: another system is said only of the modules it cannot install
      return s.hotplugType === "mdev" || s.hotplugModules.length === 0 ? undefined : `HOTPLUG_TYPE: unsupported '${printable(s.hotplugType)}'; mdev is the one with modules`
    case "HOTPLUG_MODULES":
      // as install_hotplugs takes them: a module of other clouds is unknown on a configured cloud (`auto` is detected at boot)
      return unknownNames(
        s.hotplugModules,
        (n) => {
          const clouds = ownEntry(HOTPLUG_MODULES, n)?.clouds
          return ownEntry(HOTPLUG_MODULES, n) !== undefined && (clouds === undefined || s.cloud === "auto" || clouds.includes(s.cloud))
        },
        "module"
      )
    default:
      return undefined
  }
}

/**
 * the keys whose value may be a URL with a user and password or a token in its query (`IMDS_ENDPOINT=https://user:pass@host`,
 * `http://host/?token=...`, which are no HOST:PORT): an invalid one is shown as its problem names it, the credentials
 * and the query hidden (a valid one holds no `@` nor `?`)
 */
const URL_LIKE: ReadonlySet<ConfigKey> = new Set<ConfigKey>(["IMDS_ENDPOINT", "AZURE_WIRESERVER"])

/** a value as written, as the report shows it */
const shownValue = (key: ConfigKey, value: string): string => (URL_LIKE.has(key) ? withoutSecrets(value) : value)

export const configReport = (s: Settings, cloudKnown: boolean): ConfigReport => {
  const problemOf = (key: ConfigKey): string | undefined =>
    key === "CLOUD" && !cloudKnown ? `CLOUD: unknown cloud '${printable(s.cloud)}'` : (s.problems.find((p) => p.key === key)?.message ?? boundsProblem(s, key))
  const keys = CONFIG_KEYS.map((key): KeyReport => {
    const source = sourceOf(s, key)
    const problem = problemOf(key)
    return {
      key,
      value: problem !== undefined && key !== "CLOUD" ? shownValue(key, s.values[key]!) : EFFECTIVE[key](s),
      source: source.from,
      ...(source.from === "file" ? { line: source.line } : {}),
      ...(problem !== undefined ? { problem } : {})
    }
  })
  const problems = [
    ...s.problems.filter((p) => p.key === undefined).map((p) => p.message),
    ...keys.flatMap((k) => (k.problem !== undefined ? [`${describeSource(sourceOf(s, k.key))}: ${k.problem}`] : []))
  ]
  return { valid: problems.length === 0, keys, warnings: [...fileWarnings(s), ...s.warnings], problems }
}

/** every key as an assignment; those read from the environment only are comments, so that the output read back as tiny-cloud.conf warns of nothing */
const render = (report: ConfigReport): string => {
  const assignments = report.keys.map((k) => `${ENVIRONMENT_ONLY.has(k.key) ? "#" : ""}${k.key}=${shellWord(k.value)}`)
  const width = Math.min(48, Math.max(...assignments.map((a) => a.length)))
  return report.keys
    .map((k, i) => {
      const source = k.source === "file" ? `${CONF} line ${k.line}` : k.source
      return `${assignments[i]!.padEnd(width)}  # ${source}${k.problem !== undefined ? " (invalid)" : ""}\n`
    })
    .join("")
}

export const configCommand = (options: { readonly json: boolean }) =>
  Effect.gen(function* () {
    const settings = yield* Config
    // a configured cloud is checked by name; `auto` is never wrong and detects nothing here
    const cloudKnown = settings.cloud === "auto" || (yield* Effect.flatMap(Cloud, (c) => c.choice)).known
    const report = configReport(settings, cloudKnown)
    if (options.json) {
      yield* print(`${JSON.stringify(report, null, 2)}\n`)
    } else {
      yield* print(render(report))
      const output = yield* Output
      for (const w of report.warnings) yield* output.stderr(`warning: ${w}\n`)
      for (const p of report.problems) yield* output.stderr(`invalid: ${p}\n`)
    }
    return report.valid ? 0 : 1
  })

import type { RunningSim } from "../../src/sim/simulator.js"

/** what an instance's program sees besides PATH: its ROOT, short waits and retries, the cloud and its simulator, the test's own settings */
export const instanceSettings = (
  root: string,
  cloud: string,
  sim: RunningSim | undefined,
  options: { readonly noSimulator?: boolean; readonly env?: Readonly<Record<string, string>> }
): Record<string, string> => ({
  ROOT: root,
  TINY_CLOUD_LINK_WAIT_MAX: "1",
  IMDS_DEADLINE: "5",
  IMDS_RETRY_DELAY: "20",
  IMDS_RETRY_MAX_DELAY: "200",
  ...(options.noSimulator ? {} : { CLOUD: cloud }),
  ...(sim?.endpoint ? { IMDS_ENDPOINT: sim.endpoint } : {}),
  ...sim?.settings,
  ...options.env
})

/**
 * For tests whose metadata service is always there and which test what
 * happens after it answers (user-data): the in-process simulator shares its
 * thread with the file's concurrent tests, so on a loaded machine it may
 * answer after the short deadline above, and the test would see a metadata
 * failure it is not about. Their deadline is the test's timeout instead.
 */
export const PATIENT_METADATA: Readonly<Record<string, string>> = { IMDS_TIMEOUT: "20", IMDS_DEADLINE: "50" }

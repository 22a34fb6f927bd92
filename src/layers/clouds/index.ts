import { aws } from "./aws.js"
import { nocloud } from "./nocloud.js"
import type { CloudProvider } from "./provider.js"

/** every cloud we know, by the name `CLOUD` uses */
export const PROVIDERS: ReadonlyArray<CloudProvider> = [aws, nocloud]

export const providerNamed = (name: string): CloudProvider | undefined => PROVIDERS.find((p) => p.name === name)

import { aws } from "./aws.js"
import { azure } from "./azure.js"
import { digitalocean } from "./digitalocean.js"
import { gcp } from "./gcp.js"
import { hetzner } from "./hetzner.js"
import { incus } from "./incus.js"
import { nocloud } from "./nocloud.js"
import { oci } from "./oci.js"
import { openstack } from "./openstack.js"
import type { CloudProvider } from "./provider.js"
import { scaleway } from "./scaleway.js"

/** every cloud we know, by the name `CLOUD` uses: the one list */
export const PROVIDERS: ReadonlyArray<CloudProvider> = [aws, azure, gcp, oci, nocloud, hetzner, scaleway, incus, digitalocean, openstack]

export const CLOUD_NAMES: ReadonlyArray<string> = PROVIDERS.map((p) => p.name)

export const providerNamed = (name: string): CloudProvider | undefined => PROVIDERS.find((p) => p.name === name)

/**
 * Azure Instance Metadata Service, and the wireserver beside it.
 *
 * IMDS (`/metadata/...`): header `Metadata: true` is required (400
 * otherwise), and so is an `api-version` query parameter (400 otherwise).
 * `format=text` gives a leaf's value as is, or a node's children one a line
 * (objects and lists alike: sub-nodes end with `/`, as EC2 listings do); the
 * default is JSON. `compute/name` is the VM's resource name, which is not its
 * `osProfile/computerName` (a scale set's instance: `web-1_0` / `web-1`).
 *
 * Provisioning media (`/dev/sr0` at the first boot): `ovf-env.xml` with the
 * instance's custom data (`az vm create --custom-data`), base64, as
 * `<ns1:CustomData>` of `LinuxProvisioningConfigurationSet`; IMDS does not
 * serve it (its `compute/customData` is always empty).
 *
 * Wireserver (`/machine/`, at 168.63.129.16 in production; here on the same
 * server, reached through `AZURE_WIRESERVER`): headers `x-ms-agent-name` and
 * `x-ms-version: 2012-11-30` are required (400 otherwise). `GET
 * /machine/?comp=goalstate` answers the GoalState XML; `POST
 * /machine/?comp=health` takes a Health document whose incarnation,
 * container id and role instance id must be the goal state's (400
 * otherwise), and records its state as a report.
 */
import {
  type CloudHandler,
  type CloudHandlerOptions,
  type SimulatedCloud,
  type CloudReply,
  type SimInstance,
  type Tree,
  type TreeDir,
  below,
  childrenOf,
  headerValue,
  isLeaf,
  JSON_TYPE,
  leafBytes,
  lookup,
  methodNotAllowed,
  decoder,
  nicsOf,
  prefixLength,
  present,
  reply,
  toBase64,
  toJson
} from "../instance.js"

const jsonError = (status: number, error: string, extra?: Record<string, unknown>): CloudReply =>
  reply(status, JSON.stringify({ error, ...extra }), JSON_TYPE)

const NEWEST_VERSIONS = ["2023-07-01", "2021-12-13", "2021-05-01"]

/** Azure writes MACs as twelve upper-case hex digits, no separators */
const azureMac = (mac: string): string => mac.replace(/[^0-9a-fA-F]/g, "").toUpperCase()

const azureTree = (options: CloudHandlerOptions): TreeDir => {
  const instance = options.instance
  const name = instance.hostname
  return {
    compute: {
      azEnvironment: "AzurePublicCloud",
      location: "simulated",
      name: instance.resourceName ?? (name === undefined ? undefined : `${name.split(".")[0]}_0`),
      osProfile: { adminUsername: "azureuser", computerName: name ?? "", disablePasswordAuthentication: "true" },
      osType: "Linux",
      publicKeys: present(instance.sshKeys).map((keyData) => ({ keyData, path: "/home/azureuser/.ssh/authorized_keys" })),
      userData: instance.userData === undefined ? "" : toBase64(instance.userData),
      customData: "",
      vmId: options.instanceId
    },
    network: {
      interface: nicsOf(instance).map((nic) => {
        const ipv4 = present(nic.ipv4)
        const ipv4Net = present(nic.ipv4Net)
        return {
          macAddress: azureMac(nic.mac),
          ipv4: {
            ipAddress: ipv4.map((privateIpAddress) => ({ privateIpAddress, publicIpAddress: "" })),
            subnet: ipv4Net.map((cidr) => ({ address: cidr.replace(/\/\d+$/, ""), prefix: String(prefixLength(cidr) ?? "") }))
          },
          ipv6: {
            ipAddress: present(nic.ipv6).map((privateIpAddress) => ({ privateIpAddress })),
            subnet: present(nic.ipv6Net).map((cidr) => ({ address: cidr.replace(/\/\d+$/, ""), prefix: String(prefixLength(cidr) ?? "") }))
          }
        }
      })
    }
  }
}

const WIRESERVER_VERSION = "2012-11-30"
const XML = "text/xml; charset=utf-8"

/** the goal state's identities for this instance */
const azureGoalState = (options: CloudHandlerOptions) => ({
  incarnation: "1",
  containerId: "c6d5fe1a-3c2b-4b8e-9a51-5e0f7c1d2b34",
  instanceId: `${options.instanceId}.${options.instance.hostname?.split(".")[0] ?? "vm"}`
})

const goalStateXml = (goal: ReturnType<typeof azureGoalState>) => `<?xml version="1.0" encoding="utf-8"?>
<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">
  <Version>${WIRESERVER_VERSION}</Version>
  <Incarnation>${goal.incarnation}</Incarnation>
  <Machine>
    <ExpectedState>Started</ExpectedState>
    <StopRolesDeadlineHint>300000</StopRolesDeadlineHint>
    <LBProbePorts>
      <Port>16001</Port>
    </LBProbePorts>
    <ExpectHealthReport>FALSE</ExpectHealthReport>
  </Machine>
  <Container>
    <ContainerId>${goal.containerId}</ContainerId>
    <RoleInstanceList>
      <RoleInstance>
        <InstanceId>${goal.instanceId}</InstanceId>
        <State>Started</State>
        <Configuration>
          <HostingEnvironmentConfig>http://168.63.129.16:80/machine/${goal.containerId}/${goal.instanceId}?comp=config&amp;type=hostingEnvironmentConfig&amp;incarnation=${goal.incarnation}</HostingEnvironmentConfig>
          <SharedConfig>http://168.63.129.16:80/machine/${goal.containerId}/${goal.instanceId}?comp=config&amp;type=sharedConfig&amp;incarnation=${goal.incarnation}</SharedConfig>
        </Configuration>
      </RoleInstance>
    </RoleInstanceList>
  </Container>
</GoalState>
`

const xmlError = (status: number, message: string): CloudReply =>
  reply(status, `<?xml version="1.0" encoding="utf-8"?>\n<Error xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n  <Code>BadRequest</Code>\n  <Message>${message}</Message>\n</Error>\n`, XML)

/** the text of the first `<TAG>` element */
const element = (xml: string, tag: string): string | undefined => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1]?.trim()

const wireserver = (options: CloudHandlerOptions): CloudHandler => {
  const goal = azureGoalState(options)
  return (request) => {
    if (headerValue(request.headers["x-ms-version"]) !== WIRESERVER_VERSION || headerValue(request.headers["x-ms-agent-name"]) === undefined) {
      return xmlError(400, "The request is missing the x-ms-agent-name header or an x-ms-version the server supports.")
    }
    if (request.path === "/" && request.query.get("comp") === "versions") {
      return reply(200, `<?xml version="1.0" encoding="utf-8"?>\n<Versions>\n  <Preferred>\n    <Version>${WIRESERVER_VERSION}</Version>\n  </Preferred>\n  <Supported>\n    <Version>${WIRESERVER_VERSION}</Version>\n  </Supported>\n</Versions>\n`, XML)
    }
    if (request.path !== "/machine" && request.path !== "/machine/") return xmlError(404, "Not found.")
    const comp = request.query.get("comp")
    if (comp === "goalstate") return request.method === "GET" ? reply(200, goalStateXml(goal), XML) : methodNotAllowed()
    if (comp !== "health") return xmlError(400, "Unknown component.")
    if (request.method !== "POST") return methodNotAllowed()
    if (!/xml/.test(headerValue(request.headers["content-type"]) ?? "")) return xmlError(400, "The Health document must be sent as text/xml.")
    const doc = decoder.decode(request.body)
    const report = {
      incarnation: element(doc, "GoalStateIncarnation"),
      containerId: element(doc, "ContainerId"),
      instanceId: element(doc, "InstanceId"),
      state: element(doc, "State")
    }
    if (!/^<\?xml[^>]*\?>\s*<Health[\s>]/.test(doc)) return xmlError(400, "The body is not a Health document.")
    if (report.incarnation !== goal.incarnation) return xmlError(400, "The goal state incarnation is not the current one.")
    if (report.containerId !== goal.containerId || report.instanceId !== goal.instanceId) return xmlError(400, "No such container or role instance.")
    if (report.state !== "Ready" && report.state !== "NotReady") return xmlError(400, "The state must be Ready or NotReady.")
    options.report({ kind: "health", incarnation: report.incarnation, containerId: report.containerId, instanceId: report.instanceId, state: report.state })
    return reply(200, "")
  }
}

const imds = (options: CloudHandlerOptions): CloudHandler => {
  const tree = azureTree(options)
  return (request) => {
    if (request.headers["x-forwarded-for"] !== undefined) return jsonError(400, "Bad request. Request contains X-Forwarded-For header")
    if (headerValue(request.headers["metadata"])?.toLowerCase() !== "true") {
      return jsonError(400, "Bad request. Required metadata header not specified")
    }
    const version = request.query.get("api-version")
    if (version === null || version === "") {
      return jsonError(400, "Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds", {
        "newest-versions": NEWEST_VERSIONS
      })
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(version)) {
      return jsonError(400, "Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds", {
        "newest-versions": NEWEST_VERSIONS
      })
    }
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed()
    const segments = below(request.path, "/metadata/instance")
    if (segments === undefined) return jsonError(404, "Not found")
    const node: Tree | undefined = lookup(tree, segments)
    if (node === undefined) return jsonError(404, "Not found")
    const format = request.query.get("format") ?? "json"
    if (format === "text") {
      if (isLeaf(node)) return reply(200, leafBytes(node))
      return reply(200, childrenOf(node as TreeDir).map((c) => (isLeaf(c.node) ? c.name : `${c.name}/`)).join("\n"))
    }
    if (format !== "json") return jsonError(400, "Bad request. Unsupported format")
    return reply(200, JSON.stringify(toJson(node)), JSON_TYPE)
  }
}

/** the provisioning media's `ovf-env.xml`, as Azure writes it (namespace prefix `ns1:`), around the custom data */
export const ovfEnvXml = (instance: SimInstance, customData: Uint8Array): string => `<?xml version="1.0" encoding="utf-8"?>
<ns0:Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:ns0="http://schemas.dmtf.org/ovf/environment/1" xmlns:ns1="http://schemas.microsoft.com/windowsazure" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <ns1:ProvisioningSection>
    <ns1:Version>1.0</ns1:Version>
    <ns1:LinuxProvisioningConfigurationSet>
      <ns1:ConfigurationSetType>LinuxProvisioningConfiguration</ns1:ConfigurationSetType>
      <ns1:HostName>${instance.hostname?.split(".")[0] ?? ""}</ns1:HostName>
      <ns1:UserName>azureuser</ns1:UserName>
      <ns1:DisableSshPasswordAuthentication>true</ns1:DisableSshPasswordAuthentication>
      <ns1:CustomData>${toBase64(customData)}</ns1:CustomData>
    </ns1:LinuxProvisioningConfigurationSet>
  </ns1:ProvisioningSection>
  <ns1:PlatformSettingsSection>
    <ns1:Version>1.0</ns1:Version>
    <ns1:PlatformSettings>
      <ns1:ProvisionGuestAgent>false</ns1:ProvisionGuestAgent>
      <ns1:PreprovisionedVm>false</ns1:PreprovisionedVm>
    </ns1:PlatformSettings>
  </ns1:PlatformSettingsSection>
</ns0:Environment>
`

/** `/metadata/` is the metadata service; the rest is the wireserver */
const handler = (options: CloudHandlerOptions): CloudHandler => {
  const [metadata, wire] = [imds(options), wireserver(options)]
  return (request) => (request.path.startsWith("/metadata/") ? metadata(request) : wire(request))
}

export const simulated: SimulatedCloud = {
  handler,
  defaultInstanceId: "d1b6a8b2-1c44-4f1b-9d47-3d6a0c5b7e21",
  settings: ({ endpoint }) => ({ AZURE_WIRESERVER: endpoint }),
  media: (instance) => (instance.customData === undefined ? undefined : { device: "/dev/sr0", files: { "ovf-env.xml": ovfEnvXml(instance, instance.customData) } })
}

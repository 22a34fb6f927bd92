/**
 * The ways in a cloud offers that this edition does not set up (azure's
 * password, gcp's OS Login): set_ssh_keys names each in one line, so that an
 * instance left without keys says why; the user, hostname and any keys are
 * set up as always, and an instance that offers none says nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { FixtureRoute } from "../support/fixture-http.js"
import { phasesOver, recorded, WIRESERVER } from "../support/fixture-boot.js"

/**
 * the recorded routes with the one at `path` left out (the cloud answers 404), or answering `body` as the hostname's
 * route answers (its headers and query)
 */
const withRoute = (routes: ReadonlyArray<FixtureRoute>, path: string, body?: string): ReadonlyArray<FixtureRoute> => {
  const others = routes.filter((r) => r.path !== path)
  const like = routes.find((r) => /\/(compute\/name|instance\/hostname)$/.test(r.path))!
  return body === undefined ? others : [...others, { ...like, path, body }]
}

const AZURE_PASSWORD = "/metadata/instance/compute/osProfile/disablePasswordAuthentication"
const AZURE_LINE =
  "azure: the VM was made with a password (compute/osProfile/disablePasswordAuthentication is false), which is not set here: its user logs in with SSH keys only\n"

describe("azure: the VM's admin user", () => {
  it.scopedLive("another than the cloud user (every VM has one: the portal's azureuser) is not named; the keys are the cloud user's", () =>
    Effect.gen(function* () {
      const fixture = recorded("azure/single-vm.json")
      const { results, read } = yield* phasesOver("azure", fixture, [...fixture.routes!, ...WIRESERVER], ["main"])
      expect(results[0]!.code, results[0]!.stderr).toBe(0)
      expect(results[0]!.stderr).not.toContain("azureuser")
      expect(read("/etc/passwd")).not.toContain("azureuser")
      expect(read("/home/alpine/.ssh/authorized_keys")).toBe(fixture.expect.sshKeys!.map((k) => `${k}\n`).join(""))
    })
  )
})

describe("azure: a VM made with a password", () => {
  it.scopedLive("password alone (no keys): the line says the password is not set; the user and hostname are set up, and Ready reported", () =>
    Effect.gen(function* () {
      const fixture = recorded("azure/password-login.json")
      const { results, read } = yield* phasesOver("azure", fixture, [...fixture.routes!, ...WIRESERVER], ["early", "main"])
      const main = results[1]!
      expect(main.code, main.stderr).toBe(0)
      expect(main.stderr).toContain(AZURE_LINE)
      expect(main.stderr).toContain("set_ssh_keys: no ssh key found\n")
      expect(main.stderr).toContain("report_ready: Ready reported")
      // the password itself is on the media, never read, never said
      expect(main.stderr + results[0]!.stderr).not.toContain("Sup3r")
      expect(read("/etc/hostname")).toBe("pwvm\n")
      expect(read("/etc/passwd")).toContain("alpine:x:")
    })
  )

  it.scopedLive.each([
    { what: "a VM made for SSH keys (true)", body: "true" },
    { what: "an IMDS without the field (404)", body: undefined }
  ])("$what: nothing is said", ({ body }) =>
    Effect.gen(function* () {
      const fixture = recorded("azure/password-login.json")
      const { results } = yield* phasesOver("azure", fixture, [...withRoute(fixture.routes!, AZURE_PASSWORD, body), ...WIRESERVER], ["main"])
      expect(results[0]!.code, results[0]!.stderr).toBe(0)
      expect(results[0]!.stderr).not.toContain("password")
    })
  )

  it.scopedLive("password and keys (az vm create --authentication-type all): the keys are installed, and the password named", () =>
    Effect.gen(function* () {
      const fixture = recorded("azure/single-vm.json")
      const { results, read } = yield* phasesOver("azure", fixture, [...withRoute(fixture.routes!, AZURE_PASSWORD, "false"), ...WIRESERVER], ["main"])
      expect(results[0]!.code, results[0]!.stderr).toBe(0)
      expect(results[0]!.stderr).toContain(AZURE_LINE)
      expect(read("/home/alpine/.ssh/authorized_keys")).toBe(fixture.expect.sshKeys!.map((k) => `${k}\n`).join(""))
    })
  )
})

const GCP_ON = (where: string) =>
  `gcp: OS Login is turned on (enable-oslogin on ${where}), which is not set up here: Google accounts do not log in, the metadata's ssh-keys do\n`
const PROJECT_OS_LOGIN = "/computeMetadata/v1/project/attributes/enable-oslogin"
const INSTANCE_OS_LOGIN = "/computeMetadata/v1/instance/attributes/enable-oslogin"

describe("gcp: OS Login turned on", () => {
  it.scopedLive("on the project, no keys in the metadata: the line says OS Login is not set up; the user and hostname are set up", () =>
    Effect.gen(function* () {
      const fixture = recorded("gcp/oslogin-project.json")
      const { results, read } = yield* phasesOver("gcp", fixture, fixture.routes!, ["early", "main"])
      const main = results[1]!
      expect(main.code, main.stderr).toBe(0)
      expect(main.stderr).toContain(GCP_ON("the project"))
      expect(main.stderr).toContain("set_ssh_keys: no ssh key found\n")
      expect(read("/etc/hostname")).toBe("app-3\n")
      expect(read("/etc/passwd")).toContain("alpine:x:")
    })
  )

  it.scopedLive("on the instance, beside the metadata's keys: they are installed, as cloud-init installs them, and OS Login named", () =>
    Effect.gen(function* () {
      const fixture = recorded("gcp/basic.json")
      const { results, read } = yield* phasesOver("gcp", fixture, withRoute(fixture.routes!, INSTANCE_OS_LOGIN, "TRUE"), ["main"])
      expect(results[0]!.code, results[0]!.stderr).toBe(0)
      expect(results[0]!.stderr).toContain(GCP_ON("the instance"))
      expect(read("/home/alpine/.ssh/authorized_keys")).toBe(fixture.expect.sshKeys!.map((k) => `${k}\n`).join(""))
    })
  )

  it.scopedLive.each([
    { what: "turned off on the instance that the project turns on", routes: (r: ReadonlyArray<FixtureRoute>) => withRoute(r, INSTANCE_OS_LOGIN, "FALSE") },
    { what: "set nowhere (404)", routes: (r: ReadonlyArray<FixtureRoute>) => withRoute(r, PROJECT_OS_LOGIN) }
  ])("$what: nothing is said", ({ routes }) =>
    Effect.gen(function* () {
      const fixture = recorded("gcp/oslogin-project.json")
      const { results } = yield* phasesOver("gcp", fixture, routes(fixture.routes!), ["main"])
      expect(results[0]!.code, results[0]!.stderr).toBe(0)
      expect(results[0]!.stderr).not.toContain("OS Login")
    })
  )
})

const OTHERS = (user: string, logins: string) =>
  `gcp: the ssh-keys of other logins than ${user} (${logins}) are not installed: their users are not made here, as Google's guest environment makes them\n`

describe("gcp: ssh-keys lines of other logins", () => {
  it.scopedLive("the local login's key gcloud compute ssh added (jdoe): not installed, and jdoe named; the user and hostname are set up", () =>
    Effect.gen(function* () {
      const fixture = recorded("gcp/gcloud-compute-ssh-local-login.json")
      const { results, read } = yield* phasesOver("gcp", fixture, fixture.routes!, ["early", "main"])
      const main = results[1]!
      expect(main.code, main.stderr).toBe(0)
      expect(main.stderr).toContain(OTHERS("alpine", "jdoe"))
      expect(main.stderr).toContain("set_ssh_keys: no ssh key found\n")
      expect(read("/etc/hostname")).toBe("dev-1\n")
      expect(read("/home/alpine/.ssh/authorized_keys")).toBeUndefined()
    })
  )

  it.scopedLive("several, beside the cloud user's own (CLOUD_USER=ops): each named once, sorted; ops's, cloudinit's and login-less keys installed", () =>
    Effect.gen(function* () {
      const fixture = recorded("gcp/login-filter.json")
      const { results, read } = yield* phasesOver("gcp", fixture, fixture.routes!, ["main"])
      expect(results[0]!.code, results[0]!.stderr).toBe(0)
      expect(results[0]!.stderr).toContain(OTHERS("ops", "alpine, someone"))
      expect(read("/home/ops/.ssh/authorized_keys")).toBe(fixture.expect.sshKeys!.map((k) => `${k}\n`).join(""))
    })
  )

  it.scopedLive("the login user-data names in the cloud user's place (#cloud-config user: jdoe): its keys are installed, nothing is said", () =>
    Effect.gen(function* () {
      const fixture = recorded("gcp/gcloud-compute-ssh-local-login.json")
      const routes = withRoute(fixture.routes!, "/computeMetadata/v1/instance/attributes/user-data", "#cloud-config\nuser: jdoe\n")
      const { results, read } = yield* phasesOver("gcp", fixture, routes, ["early", "main"])
      expect(results[1]!.code, results[1]!.stderr).toBe(0)
      expect(results[1]!.stderr).not.toContain("other logins")
      expect(read("/home/jdoe/.ssh/authorized_keys")).toContain(" jdoe\n")
    })
  )
})

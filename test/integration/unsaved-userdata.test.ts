/**
 * User-data the cloud gave that early failed to save is not "no user-data":
 * main and `tiny-cloud status` say it was not saved, on the built program.
 */
import { describe, expect, it } from "vitest"
import { useInstances } from "../support/harness.js"

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUnsavedKey a@example"
const newInstance = useInstances()

describe("user-data that early did not save", () => {
  it("over USERDATA_MAX_BYTES: main says no user-data found, and that it was not saved; status says so; the user, keys and hostname are set", async () => {
    const userData = new TextEncoder().encode("#!/bin/sh\necho hello there\n")
    const instance = await newInstance({ cloud: "aws", conf: "USERDATA_MAX_BYTES=10\n", instance: { hostname: "web-1.example", sshKeys: [KEY], userData } })
    const [, early, main] = await instance.boot()
    expect(early!.code).toBe(1)
    expect(early!.stderr).toContain("(USERDATA_MAX_BYTES)\n   ++ save_userdata: failed\n")
    expect(main!.code).toBe(0)
    // the contract's line (BEHAVIOUR.md §6: `no user-data found`, at notice), and why
    expect(main!.stderr).toContain("\nmissing_userdata: no user-data found (save_userdata failed in early: what the cloud gave, if anything, was not saved)\n")
    const status = await instance.run(["status"])
    expect(status.stdout.split("\n").slice(1, 3)).toEqual(["cloud: aws (configured)", "user-data: not saved (save_userdata failed)"])
    expect(instance.read("/etc/hostname")).toBe("web-1\n")
    expect(instance.read("/home/alpine/.ssh/authorized_keys")).toBe(`${KEY}\n`)
  })

  it("none given: main says no user-data found and status 'missing', as before", async () => {
    const instance = await newInstance({ cloud: "aws", instance: { hostname: "web-1.example", sshKeys: [KEY] } })
    const [, early, main] = await instance.boot()
    expect([early!.code, main!.code]).toEqual([0, 0])
    expect(main!.stderr).toContain("\nmissing_userdata: no user-data found\n")
    const status = await instance.run(["status"])
    expect(status.stdout.split("\n").slice(0, 3)).toEqual(["done", "cloud: aws (configured)", "user-data: missing"])
  })
})

/**
 * Documents in the forms cloud-init documents and accepts
 * (`test/fixtures/cloud-config/`): `tiny-cloud schema` exits 0 for every
 * one and reports no problem; what is not carried out is named in warnings.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { parseUserData } from "../../src/domain/userdata/parse.js"
import { checkUserData } from "../../src/domain/userdata/validate.js"
import { makeTestInstance } from "../support/instance.js"

const DIR = join(import.meta.dirname, "../fixtures/cloud-config")
const DOCUMENTS = readdirSync(DIR).filter((f) => f.endsWith(".yaml")).sort()
const OPTIONS = { maxBytes: 16 * 1024 * 1024 }

const check = (name: string, dir = DIR) => checkUserData(readFileSync(join(dir, name)), OPTIONS)

/** documents users wrote (Terraform and Packer templates, Lima, runner recipes), each citing its source on its second line */
const REAL_DIR = join(import.meta.dirname, "../fixtures/cloud-config-real")
const REAL_DOCUMENTS = readdirSync(REAL_DIR).filter((f) => f.endsWith(".yaml")).sort()

describe("cloud-init's documents", () => {
  it("are at least forty", () => {
    expect(DOCUMENTS.length).toBeGreaterThanOrEqual(40)
  })

  it.each(DOCUMENTS)("%s: no problem, something applied", (name) => {
    const { type, problems, usable } = check(name)
    expect({ type, problems, usable }).toEqual({ type: "cloud-config", problems: [], usable: true })
  })

  it.each([
    ["packages-by-manager.yaml", ["unsupported cloud-config keys: packages[1].apt, packages[2].snap"]],
    ["users-hyphenated-keys.yaml", ["unsupported cloud-config keys: users[1].selinux-user, users[1].ssh-import-id"]],
    [
      "ntp-custom-client.yaml",
      ['line 4: ntp.ntp_client: not an NTP client on Alpine; chrony is used', "unsupported cloud-config keys: ntp.config"]
    ],
    ["write-files-base64-truncated.yaml", ["line 5: write_files[0].content: 3 characters outside the base64 alphabet were dropped, as cloud-init drops them"]],
    ["duplicate-keys.yaml", ["line 4: packages: duplicate key; the last one is used, as cloud-init does"]],
    ["hostname-underscore.yaml", ["line 2: hostname: not a valid host name; it is used with each '_' made '-'"]],
    ["jinja.yaml", ["line 1: jinja templates are not supported; the rest is read as plain cloud-config"]],
    ["users-override-default.yaml", ["unsupported cloud-config keys: ssh_import_id"]],
    // create_hostname_file: true is what set_hostname does; prefer_fqdn_over_hostname: true is not
    ["hostname-fqdn.yaml", ["unsupported cloud-config keys: prefer_fqdn_over_hostname"]],
    [
      "bootcmd-instance-id.yaml",
      [
        "line 3: bootcmd[0]: uses INSTANCE_ID, which cloud-init sets for bootcmd and Tiny Cloud does not: it is empty",
        "line 5: bootcmd[2]: uses INSTANCE_ID, which cloud-init sets for bootcmd and Tiny Cloud does not: it is empty"
      ]
    ],
    [
      "write-files-cloud-init-scripts.yaml",
      [
        "line 3: write_files[0].path: cloud-init runs the programs in /var/lib/cloud/scripts/per-boot/; Tiny Cloud writes the file but does not run it",
        "line 9: write_files[1].path: cloud-init runs the programs in /var/lib/cloud/scripts/per-instance/; Tiny Cloud writes the file but does not run it"
      ]
    ],
    // every name mapped to false: cloud-init makes no user, not even the default one
    ["users-map-wanting-none.yaml", ["line 4: users: empty: cloud-init would create no default user; the default user is kept so that the instance stays reachable"]],
    ["users-every-option.yaml", ["unsupported cloud-config keys: users[1].expiredate, users[3].inactive, users[4].no_log_init, users[4].no_user_group"]],
    // an older cloud-init example's compression and perms, which cloud-init passes over too
    [
      "write-files-legacy-keys.yaml",
      ["unsupported cloud-config keys: write_files[0].compression, write_files[0].perms, write_files[2].compression, write_files[2].perms"]
    ]
  ])("%s names what it does not carry out", (name, warnings) => {
    expect(check(name).warnings).toEqual(warnings)
  })

  it.scopedLive("tiny-cloud schema exits 0 for every one", () =>
    Effect.gen(function* () {
      const instance = yield* makeTestInstance({ noSimulator: true })
      for (const name of DOCUMENTS) {
        const r = yield* instance.run(["schema", join(DIR, name)])
        expect({ name, code: r.code }).toEqual({ name, code: 0 })
      }
    })
  )
})

describe("users' documents", () => {
  // alpine-config-*.yaml are #alpine-config documents, the shell edition's own form
  it.each(REAL_DOCUMENTS)("%s: no problem, something applied", (name) => {
    const { type, problems, usable } = check(name, REAL_DIR)
    const expected = name.startsWith("alpine-config-") ? "alpine-config" : "cloud-config"
    expect({ type, problems, usable }).toEqual({ type: expected, problems: [], usable: true })
  })

  it.each([
    // cloud-init takes the type the first line starts with: `#cloud-config:` is cloud-config, not an unknown type
    ["github-runner-header-colon.yaml", ["unsupported cloud-config keys: apt"]],
    ["header-trailing-space.yaml", []],
    [
      "nutanix-top-level-user.yaml",
      [
        "line 10: apt_update: deprecated; read as package_update, as cloud-init does",
        "line 11: apt_upgrade: deprecated; read as package_upgrade, as cloud-init does",
        // chpasswd's expire: false alone expires nothing: the password it would keep is the one named
        "unsupported cloud-config keys: password, sudo"
      ]
    ],
    ["pulibrary-packer-duplicate-runcmd.yaml", ["line 44: runcmd: duplicate key; the last one is used, as cloud-init does", "unsupported cloud-config keys: chpasswd, locale, keyboard"]],
    // growpart's mode auto (the root grown, as expand_root grows it) and package_reboot_if_required: false ask what Tiny Cloud does anyway
    ["wsl-alpine-apk-repos.yaml", ["unsupported cloud-config keys: debug, ssh_fp_console_blacklist, ssh_key_console_blacklist, locale, locale_configfile"]],
    ["alpine-k8s-append-repositories.yaml", ["unsupported cloud-config keys: package_reboot_if_required"]],
    ["wireguard-server-scripts.yaml", []],
    // system_info's default_user is read (its groups), a key beside it is not
    ["aws-wireguard-groups-system-info.yaml", ["unsupported cloud-config keys: apt, system_info.wguser"]],
    ["incus-profile-timezone.yaml", []],
    ["rpi-imager-tailscale.yaml", ["unsupported cloud-config keys: manage_etc_hosts, apt"]],
    ["hcloud-k3s-bashrc.yaml", []],
    // resize_rootfs: noblock grows the root as expand_root does; chpasswd's expire: false alone expires nothing (Proxmox VE's own document);
    // manage_etc_hosts: true (cloud-init's whole template file), preserve_hostname: true and ssh_genkeytypes are not carried out
    ["alpine-cubic-doas.yaml", ["unsupported cloud-config keys: ssh_genkeytypes"]],
    ["proxmox-user-and-default.yaml", ["unsupported cloud-config keys: manage_etc_hosts"]],
    ["callysto-system-info.yaml", ["unsupported cloud-config keys: preserve_hostname"]],
    ["vsphere-ssh-import-id-none.yaml", ["unsupported cloud-config keys: users[0].ssh_import_id"]],
    [
      "docker-version-pairs-apt-sources.yaml",
      [
        "line 16: packages[1]: a one-item list, not the [name, version] pair cloud-init's schema asks for: installed as the name alone, as cloud-init installs it on Alpine",
        "unsupported cloud-config keys: manage_etc_hosts, apt_sources"
      ]
    ],
    // `newgrp docker << END` and `END` as two entries: one here-document in the script, as cloud-init writes it
    ["runcmd-heredoc-across-entries.yaml", []],
    ["final-message-resolv-conf.yaml", ["unsupported cloud-config keys: manage-resolv-conf, resolv_conf, final_message"]],
    ["docker-b64-write-files.yaml", ["line 3: apt_update: deprecated; read as package_update, as cloud-init does"]],
    ["terraform-yamlencode-quoted-keys.yaml", []],
    ["terraform-jsonencode.yaml", []],
    ["alpine-config-mirror-agetty.yaml", []],
    ["alpine-config-virt-install-setup-disk.yaml", []],
    ["alpine-config-hostname-key.yaml", ["unknown #alpine-config keys ignored: hostname"]],
    ["alpine-config-user-ntp-apk-cache.yaml", []],
    ["alpine-config-user-string-write-files.yaml", ["line 16: write_files[3]: no path; skipped"]],
    ["alpine-config-mirror-version-dot.yaml", []],
    // documents users pasted into bug reports, tutorials and Q&A pages, and the odd YAML they carry
    // hyphenated user keys (primary-group, ssh-authorized-keys), groups as one string, a chpasswd inside a user entry (not cloud-init's either)
    ["hypriot-rpi-hyphenated-user.yaml", ["unsupported cloud-config keys: manage_etc_hosts, apt_preserve_sources_list, users[0].chpasswd"]],
    ["virtlet-pwauth-primary-group.yaml", []],
    // root as the first user (an account the image has), passwords left locked by lock_passwd's default; the header's trailing space
    [
      "elemental-root-first-user.yaml",
      [
        "line 4: users[0]: a password is given but lock_passwd is true (cloud-init's default): password login stays locked (*), keys work",
        "line 10: users[1]: a password is given but lock_passwd is true (cloud-init's default): password login stays locked (*), keys work"
      ]
    ],
    // chpasswd.list as a string (deprecated in 22.2): named, not carried out; ssh_pwauth is
    ["chpasswd-list-string.yaml", ["unsupported cloud-config keys: chpasswd"]],
    // sudo: true, which cloud-init's write_sudo_rules refuses (a TypeError), is read as the full rule; sudo: false writes none
    ["sudo-true-and-false.yaml", ["line 6: users[1].sudo: true is not a sudo rule; ALL=(ALL) NOPASSWD:ALL is used"]],
    ["azure-notepad-crlf.yaml", []],
    ["terraform-document-markers.yaml", []],
    ["tabs-in-block-scalars.yaml", []],
    ["hetzner-header-comment.yaml", []],
    ["duplicate-users-key.yaml", ["line 7: users: duplicate key; the last one is used, as cloud-init does"]],
    [
      "nocloud-system-info-same-user.yaml",
      ["line 8: users[0]: the default user, as system_info.default_user names it: its sudo not used, as cloud-init takes system_info.default_user's"]
    ],
    // `home` is no key of cloud-init's (homedir is): it ignores it, and it is named
    ["lxd-vagrant-profile.yaml", ["unsupported cloud-config keys: disable_root, disable_root_opts, apt, users[1].home"]],
    ["azure-tutorial-apt-upgrade.yaml", ["line 4: apt_upgrade: deprecated; read as package_upgrade, as cloud-init does"]],
    ["qa-runcmd-under-user-data.yaml", ["unsupported cloud-config keys: user-data"]],
    [
      "scaleway-user-key-string.yaml",
      ["line 9: users[1].lock_passwd: a string, which cloud-init takes as true whatever it says: the password stays locked (write false without quotes to unlock it)"]
    ],
    ["yaml11-values.yaml", []],
    // no fingerprints and no host keys on the console, which this edition never writes there: asked, not named
    ["integration-keys-to-console-off.yaml", []],
    // documents in the shape of cloud-init's integration tests: the user expiry and inactivity, which Tiny Cloud does not set, named
    ["integration-users-groups.yaml", ["unsupported cloud-config keys: users[1].expiredate, users[3].inactive"]],
    ["integration-write-files.yaml", []],
    ["almalinux-user-and-root.yaml", []],
    ["terraform-keys-block.yaml", []],
    ["groups-as-map-deprecated.yaml", []],
    [
      "lima-user-data.yaml",
      [
        "line 35: write_files[0].path: cloud-init runs the programs in /var/lib/cloud/scripts/per-boot/; Tiny Cloud writes the file but does not run it",
        "unsupported cloud-config keys: package_reboot_if_required, mounts, manage_resolv_conf, resolv_conf"
      ]
    ],
    // the clouds' own documentation, as their users follow it: EC2's repo_update/repo_upgrade are Amazon Linux's, not cloud-init's
    ["aws-lamp-find-exec-map.yaml", ["unsupported cloud-config keys: repo_update, repo_upgrade"]],
    ["azure-nginx-nodejs-custom-data.yaml", []],
    ["azure-add-user-sudo-group.yaml", []],
    ["azure-ephemeral-swap-mounts.yaml", ["unsupported cloud-config keys: disk_setup, fs_setup, mounts"]],
    ["gcp-cos-user-systemd-unit.yaml", []],
    ["oci-httpd-firewall-argv.yaml", []],
    ["hetzner-basic-hardening-reboot.yaml", []],
    ["scaleway-nginx-write-files.yaml", []],
    ["do-initial-setup-sshd-port.yaml", []],
    ["do-groups-system-user.yaml", []],
    // chpasswd's list (root's password) is not set; manage_etc_hosts: true (cloud-init's whole template file) is not carried out
    ["openstack-nova-fqdn-chpasswd-list.yaml", ["unsupported cloud-config keys: manage_etc_hosts, chpasswd"]],
    ["incus-docs-user-data-timezone.yaml", []]
  ])("%s names what it does not carry out", (name, warnings) => {
    expect(check(name, REAL_DIR).warnings).toEqual(warnings)
  })

  // EC2's LAMP example: `{}` in `[find, ..., -exec, chmod, 2775, {}, \;]` is YAML's empty map, which cloud-init's shellify writes '{}'
  it("aws-lamp-find-exec-map.yaml runs every runcmd entry, the find lines with {} as cloud-init writes them", () => {
    const parsed = parseUserData(readFileSync(join(REAL_DIR, "aws-lamp-find-exec-map.yaml")), OPTIONS)
    const config = Either.isRight(parsed) && parsed.right.kind === "config" ? parsed.right.config : undefined
    expect(config?.runcmd?.length).toBe(9)
    expect(config?.runcmd?.[6]).toEqual({ kind: "argv", argv: ["find", "/var/www", "-type", "d", "-exec", "chmod", "2775", "{}", "\\;"], index: 6 })
    expect(config?.packages).toEqual(["httpd", "mariadb-server"])
  })
})

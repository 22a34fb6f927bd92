/**
 * cloud-config keys whose value asks what this edition does anyway on
 * Alpine: cloud-init's default, or its module's effect on the same files
 * (cloud-config(5), "accepted"). Such a value is taken, never named as not
 * carried out (a warning makes the run `done with errors`); any other value
 * of the key is named, as a key outside the subset is.
 */
import { truthOf } from "../truth.js"
import type { Reader } from "./common.js"
import { asMap } from "./notes.js"
import { vendorDataSettingApplies } from "./vendor-data.js"

/** cc_growpart's own settings: mode `auto`, the root filesystem's device; a `/etc/growroot-disabled` is not looked at */
const growsRoot = (value: unknown): boolean => {
  const map = asMap(value)
  if (map === undefined) return false
  const { mode, devices, ignore_growroot_disabled: ignore, ...others } = map
  return (
    Object.keys(others).length === 0 &&
    (mode === undefined || mode === "auto") &&
    (devices === undefined || (Array.isArray(devices) && devices.length === 1 && devices[0] === "/")) &&
    (ignore === undefined || typeof ignore === "boolean")
  )
}

/**
 * cc_ssh's ssh_publish_hostkeys with `enabled` not true (its blacklist, of keys not published, changes nothing then: any
 * value, which get_cfg_option_list makes a list of its text)
 */
const publishesNone = (value: unknown): boolean => {
  const map = asMap(value)
  if (map === undefined || !Object.hasOwn(map, "enabled")) return false
  const { enabled, blacklist: _blacklist, ...others } = map
  return Object.keys(others).length === 0 && truthOf(enabled) !== true
}

/** each key, with the values (as cloud-init reads them) that ask what the action named does */
const DONE_ANYWAY: ReadonlyArray<readonly [string, (value: unknown) => boolean]> = [
  // cc_set_hostname: false sets the host name, as set_hostname and userdata_hostname do
  ["preserve_hostname", (v) => truthOf(v) === false],
  // Alpine's cloud-init writes /etc/hostname, as set_hostname does
  ["create_hostname_file", (v) => truthOf(v) === true],
  // the host named by hostname, not by the whole fqdn (cc_set_hostname reads it with get_cfg_option_bool: a quoted "false" is false)
  ["prefer_fqdn_over_hostname", (v) => truthOf(v) === false],
  // cc_update_etc_hosts: the 127.0.1.1 line names the host, the other lines left, as set_hostname writes it (true renders its own whole file)
  ["manage_etc_hosts", (v) => v === "localhost"],
  // cc_resizefs: the root filesystem grown (noblock: in the background), as expand_root grows it; translate_bool reads the
  // value stripped and lowercased, its added word noblock too ("NoBlock" grows it, in the foreground)
  ["resize_rootfs", (v) => truthOf(v) === true || (typeof v === "string" && v.trim().toLowerCase() === "noblock")],
  // cc_growpart: the root partition grown to the end of its disk, as expand_root grows it
  ["growpart", growsRoot],
  // cc_package_update_upgrade_install: no reboot after the packages
  ["package_reboot_if_required", (v) => truthOf(v) === false],
  // cc_ssh: the image's host keys kept (read by Python's truth: a quoted "false" deletes them)
  ["ssh_deletekeys", (v) => v === false || v === 0],
  // cc_resolv_conf: /etc/resolv.conf left alone
  ["manage_resolv_conf", (v) => truthOf(v) === false],
  // cc_ssh_authkey_fingerprints: true (util.is_true: a float 1.0 is no true word) logs no fingerprints of the users' keys, and none are logged here
  ["no_ssh_fingerprints", (v) => truthOf(v) === true],
  // cc_keys_to_console: emit_keys_to_console false (util.is_false: a false word; no value, another word or a float 0.0 writes
  // them) writes no host keys to the console, and none are written here
  ["ssh", (v) => Object.keys(asMap(v) ?? {}).join() === "emit_keys_to_console" && truthOf(asMap(v)?.["emit_keys_to_console"]) === false],
  // cc_ssh: the cloud's keys installed for the default user (get_cfg_option_bool: a true word), as set_ssh_keys installs them
  ["allow_public_ssh_keys", (v) => truthOf(v) === true],
  // cc_ssh: no host keys published to the cloud (`enabled` read by get_cfg_option_bool: anything but a true word), which this edition never does
  ["ssh_publish_hostkeys", publishesNone],
  // cloud-init's vendor_data turned off (a map whose `enabled` is not a true word): no vendor-data applied, which this edition
  // never applies (the vendor-data's own line names what a cloud's holds); one that is no map cloud-init warns of, and is named
  ["vendor_data", (v) => asMap(v) !== undefined && !vendorDataSettingApplies(v)],
  // cc_set_passwords expires only the passwords it sets: `expire: false` alone (Proxmox writes it for every instance) sets and expires none
  ["chpasswd", (v) => Object.keys(asMap(v) ?? {}).join() === "expire" && truthOf(asMap(v)?.["expire"]) === false]
]

/**
 * Keys whose YAML null (`resize_rootfs:` with no value, a template's value left empty) cloud-init does not read as
 * absent, so their readers take it: `get_cfg_option_str` makes it "None" and `get_cfg_option_bool` false (no resize, no
 * hostname file, none of the cloud's keys), cc_growpart leaves the partition alone when its settings are no map ("'growpart'
 * in config was not a dict"), cc_ssh fails on ssh_publish_hostkeys that is no map, and cc_keys_to_console on an `ssh:`
 * with no value (`cfg.get("ssh", {})` is None, which has no `.get`)
 */
export const DONE_ANYWAY_NULL_READ: ReadonlySet<string> = new Set(["resize_rootfs", "growpart", "create_hostname_file", "allow_public_ssh_keys", "ssh_publish_hostkeys", "ssh"])

export const DONE_ANYWAY_READERS: Readonly<Record<string, Reader>> = Object.fromEntries(
  DONE_ANYWAY.map(([key, asked]): [string, Reader] => [
    key,
    (value, path, { notes }) => {
      if (asked(value)) return {}
      notes.ignore(path)
      return undefined
    }
  ])
)

import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { ActionName } from "../../domain/actions.js"
import { bootstrapMarker } from "../../domain/bootstrap.js"
import { ActionFailed, FsError } from "../../domain/errors.js"
import { unfinishedBeforeFinal, unreadBeforeFinal } from "../../domain/run-record.js"
import { Config } from "../../services/Config.js"
import { RootFs } from "../../services/RootFs.js"
import { PhaseContext, type Action, type ActionError } from "../action.js"
import { readRecord } from "../status-record.js"
import { userdataApkCache, userdataApkRepositories, userdataPackages, userdataPackageUpdate, userdataPackageUpgrade } from "../userdata/actions/apk.js"
import { userdataAutoinstall } from "../userdata/actions/autoinstall.js"
import { userdataWriteDeferredFiles, userdataWriteFiles } from "../userdata/actions/files.js"
import { userdataHostname, userdataTimezone } from "../userdata/actions/host.js"
import { userdataNtp } from "../userdata/actions/ntp.js"
import { userdataBootcmd, userdataRuncmd, userdataScripts } from "../userdata/actions/run.js"
import { sshAuthorizedKeys, userdataSshPwauth, userdataUser, userdataUsers } from "../userdata/actions/users.js"
import { expandRoot } from "./disk.js"
import { installHotplugs } from "./hotplug.js"
import { reportReady } from "./ready.js"
import { setHostname } from "./hostname.js"
import { enableSshd, setDefaultInterfaces, setEphemeralNetwork, setNetworkInterfaces } from "./network.js"
import { createDefaultUser, setSshKeys } from "./user.js"
import { missingUserdata, runUserdata, saveUserdata, unknownUserdata } from "./userdata.js"

/**
 * The marker itself is written by the phase, after its run is recorded; its
 * directory is made here, so that a state directory that cannot be one (a
 * file there, no permission) fails the action in its own lines, not after
 * `bootstrap_complete: done`; so does a marker path the write would refuse
 * (a symbolic link, dangling, so that the phase did not take it for the
 * marker), or a state directory that takes no file (read-only). An earlier phase of this first boot whose
 * process ended during it (killed: out of memory, its service ended), or
 * that did not run at all (killed as it started, or not started by OpenRC
 * for want of the network), has
 * not done all its work (the keys, perhaps): the bootstrap is not marked
 * complete then, so that the next boot runs it again, as after a power cut
 * during that phase; nor when an earlier phase could not read the metadata
 * service (down for the whole phase, the network up late): its user, keys,
 * hostname or user-data come with the next boot's first boot.
 */
const bootstrapComplete: Action<PhaseContext | Config | RootFs> = Effect.gen(function* () {
  const fs = yield* RootFs
  const { varDir } = yield* Config
  yield* fs.makeDirectory(varDir)
  const marker = bootstrapMarker(varDir)
  if (yield* fs.isSymlink(marker)) return yield* Effect.fail(new ActionFailed({ reason: `write ${marker}: is a symbolic link; refused` }))
  // a file beside it, as the marker's write makes one: a state directory that takes none (read-only) fails here, not after `done`;
  // made in place, not written atomically (whose own temporary no later write would know), so a crash leaves only a temporary of the marker's
  yield* fs.removeStaleTemporaries(marker)
  const probe = yield* fs.temporaryOf(marker)
  yield* fs.createFile(probe).pipe(
    Effect.zipRight(fs.remove(probe)),
    Effect.mapError((e) => new FsError({ op: "write", path: marker, reason: e.reason }))
  )
  const { runs } = yield* readRecord
  const unfinished = unfinishedBeforeFinal(runs, process.pid)
  if (unfinished !== undefined) {
    const what = unfinished.started ? "ended before it finished (its process is gone)" : "did not run in this first boot (killed as it started, or never started)"
    return yield* Effect.fail(new ActionFailed({ reason: `the ${unfinished.phase} phase ${what}; not marked complete, so that the next boot runs the first boot again` }))
  }
  const unread = unreadBeforeFinal(runs, process.pid)
  if (unread !== undefined) {
    return yield* Effect.fail(new ActionFailed({ reason: `the ${unread.phase} phase could not read the metadata (${unread.action}); not marked complete, so that the next boot runs the first boot again` }))
  }
  yield* Effect.flatMap(PhaseContext, (ctx) => Ref.set(ctx.markComplete, true))
})

/** every action by its name: a name missing here, or one that is not an ActionName, fails the typecheck */
export const ACTIONS = {
  expand_root: expandRoot,
  install_hotplugs: installHotplugs,
  set_ephemeral_network: setEphemeralNetwork,
  set_default_interfaces: setDefaultInterfaces,
  set_network_interfaces: setNetworkInterfaces,
  enable_sshd: enableSshd,
  save_userdata: saveUserdata,
  create_default_user: createDefaultUser,
  set_hostname: setHostname,
  set_ssh_keys: setSshKeys,
  report_ready: reportReady,
  missing_userdata: missingUserdata,
  unknown_userdata: unknownUserdata,
  bootstrap_complete: bootstrapComplete,
  run_userdata: runUserdata,
  userdata_user: userdataUser,
  userdata_users: userdataUsers,
  userdata_hostname: userdataHostname,
  userdata_bootcmd: userdataBootcmd,
  userdata_write_files: userdataWriteFiles,
  userdata_ntp: userdataNtp,
  userdata_apk_cache: userdataApkCache,
  userdata_apk_repositories: userdataApkRepositories,
  userdata_package_update: userdataPackageUpdate,
  userdata_package_upgrade: userdataPackageUpgrade,
  userdata_packages: userdataPackages,
  userdata_timezone: userdataTimezone,
  ssh_authorized_keys: sshAuthorizedKeys,
  userdata_ssh_pwauth: userdataSshPwauth,
  userdata_write_deferred_files: userdataWriteDeferredFiles,
  userdata_runcmd: userdataRuncmd,
  userdata_scripts: userdataScripts,
  userdata_autoinstall: userdataAutoinstall
} satisfies { readonly [K in ActionName]: Effect.Effect<void, ActionError, any> }

/** the services the actions use between them */
export type ActionServices = Effect.Effect.Context<(typeof ACTIONS)[ActionName]>

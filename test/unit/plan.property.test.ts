import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { ActionName } from "../../src/domain/actions.js"
import { DEFAULT_ACTIONS, FINAL_ACTION, planPhase, type ActionChange } from "../../src/domain/plan.js"

/** two names the other pool never holds, to tell inserted ones apart */
const X: ActionName = "userdata_ntp"
const Y: ActionName = "userdata_packages"
import { PHASES } from "../../src/domain/phases.js"

const name = fc.constantFrom<ActionName>("expand_root", "enable_sshd", "save_userdata", "set_ssh_keys", "userdata_user", "set_hostname", FINAL_ACTION)
const list = fc.array(name, { maxLength: 8 })
const phase = fc.constantFrom(...PHASES)

describe("planPhase", () => {
  it("without changes is INIT_ACTIONS (or the defaults), and final always ends with exactly one bootstrap_complete", () => {
    fc.assert(
      fc.property(phase, fc.option(list, { nil: undefined }), (p, base) => {
        const plan = planPhase(p, base)
        const expected = base ?? DEFAULT_ACTIONS[p]
        if (p === "final") {
          expect(plan[plan.length - 1]).toBe(FINAL_ACTION)
          expect(plan.filter((a) => a === FINAL_ACTION).length).toBe(1)
          expect(plan.slice(0, -1)).toEqual(expected.filter((a) => a !== FINAL_ACTION))
        } else {
          expect(plan).toEqual(expected)
        }
      })
    )
  })

  it("inserts before and after every occurrence of the anchor, and nowhere when it is absent", () => {
    fc.assert(
      fc.property(list, name, fc.array(fc.constantFrom<ActionName>(X, Y), { minLength: 1, maxLength: 3 }), fc.boolean(), (base, anchor, added, before) => {
        const change: ActionChange = { phase: "main", op: before ? "before" : "after", anchor, actions: added }
        const plan = planPhase("main", base, [change])
        const occurrences = base.filter((a) => a === anchor).length
        expect(plan.length).toBe(base.length + occurrences * added.length)
        expect(plan.filter((a) => a !== X && a !== Y)).toEqual(base.filter((a) => a !== X && a !== Y))
        plan.forEach((a, i) => {
          if (a === anchor) {
            const around = before ? plan.slice(i - added.length, i) : plan.slice(i + 1, i + 1 + added.length)
            expect(around).toEqual(added)
          }
        })
      })
    )
  })

  it("applies cloud changes before user-data changes: the last one wins", () => {
    const cloud: Array<ActionChange> = [{ phase: "boot", op: "replace", anchor: "set_default_interfaces", actions: ["set_network_interfaces"] }]
    const userData: Array<ActionChange> = [{ phase: "boot", op: "replace", anchor: "set_network_interfaces", actions: ["userdata_ntp"] }]
    expect(planPhase("boot", undefined, cloud, userData)).toEqual(["expand_root", "install_hotplugs", "set_ephemeral_network", "userdata_ntp", "enable_sshd"])
    expect(planPhase("boot", undefined, userData, cloud)).toEqual(["expand_root", "install_hotplugs", "set_ephemeral_network", "set_network_interfaces", "enable_sshd"])
  })

  it("an action a change adds that the list already holds moves to its new place, the last one winning: it never runs twice", () => {
    // INIT_ACTIONS_FINAL naming run_userdata or userdata_runcmd, which the user-data type appends: the user's commands run once
    const script: Array<ActionChange> = [{ phase: "final", op: "append", actions: ["run_userdata"] }]
    expect(planPhase("final", ["run_userdata", "userdata_packages"], script)).toEqual(["userdata_packages", "run_userdata", FINAL_ACTION])
    const anchored: ActionChange = { phase: "main", op: "after", anchor: "set_ssh_keys", actions: ["ssh_authorized_keys", "userdata_ssh_pwauth"] }
    expect(planPhase("main", ["ssh_authorized_keys", "create_default_user", "set_ssh_keys"], [anchored])).toEqual(["create_default_user", "set_ssh_keys", "ssh_authorized_keys", "userdata_ssh_pwauth"])
    // a change that changes nothing (its anchor absent) moves nothing either
    expect(planPhase("main", ["ssh_authorized_keys", "set_hostname"], [anchored])).toEqual(["ssh_authorized_keys", "set_hostname"])
    fc.assert(
      fc.property(list, fc.array(name, { minLength: 1, maxLength: 3 }), fc.boolean(), (base, added, prepend) => {
        const plan = planPhase("main", base, [{ phase: "main", op: prepend ? "prepend" : "append", actions: added }])
        for (const a of new Set(added)) expect(plan.filter((b) => b === a).length).toBe(added.filter((b) => b === a).length)
      })
    )
  })

  it("changes for other phases leave this one alone", () => {
    fc.assert(
      fc.property(list, (base) => {
        expect(planPhase("early", base, [{ phase: "main", op: "prepend", actions: [X] }])).toEqual(base)
      })
    )
  })
})

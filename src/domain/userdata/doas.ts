/**
 * cloud-init's check of a user's doas rule, apart from the user-data's
 * reading so that the phases check a rule without loading Schema.
 */
const DOAS_OPTION = String.raw`(?:nolog|nopass|persist|keepenv|setenv\s*\{[^}]*\})`
/** `permit|deny [options] IDENTITY [as TARGET] [cmd CMD [args ...]]`; the identity is captured */
const DOAS_RULE = new RegExp(String.raw`^(?:permit|deny)(?:\s+${DOAS_OPTION})*\s+(\S+)(?:\s+as\s+\S+)?(?:\s+cmd\s+\S+(?:\s+args(?:\s+\S+)*)?)?\s*$`)

/** a rule must name the user, and only then are the user's rules written */
export const doasRuleNamesUser = (rule: string, user: string): boolean => DOAS_RULE.exec(rule)?.[1] === user

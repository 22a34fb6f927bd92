export const PHASES = ["boot", "early", "main", "final"] as const
export type Phase = (typeof PHASES)[number]

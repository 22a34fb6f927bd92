export const main = async (_args: ReadonlyArray<string>): Promise<never> => process.exit(1)

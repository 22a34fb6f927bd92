import { defineConfig } from "vitest/config"

/** `npm run test:faults`: hostile metadata and crash points, with a summary of each */
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/faults/**/*.faults.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "threads",
    isolate: false,
    // each crash point starts eight processes: two at a time on two cores
    maxConcurrency: 2,
    globalSetup: ["test/support/build.ts"],
    reporters: ["default", "./test/faults/summary.ts"]
  }
})

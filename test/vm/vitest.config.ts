import { defineConfig } from "vitest/config"

// `npm run test:vm`: the real boots under OpenRC in qemu (test/vm/boot.vm.ts).
// Kept out of `npm test`, whose config takes test/**/*.test.ts only.
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/vm/**/*.vm.ts"],
    // the first run builds the base guest (debootstrap: a minute or two); each boot takes about a minute under TCG
    testTimeout: 60_000,
    hookTimeout: 30 * 60_000,
    pool: "forks",
    fileParallelism: false,
    globalSetup: ["test/vm/setup.ts"],
    reporters: ["default", "./test/vm/summary-reporter.ts"]
  }
})

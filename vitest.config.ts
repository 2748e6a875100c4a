import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          environment: 'node',
        },
      },
    ],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 15_000,
  },
})

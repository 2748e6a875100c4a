#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseOptions, UsageError } from './cli/args.js'
import { DELIVERIES_HELP, deliveries } from './cli/deliveries.js'
import { SEND_TEST_HELP, sendTest } from './cli/send-test.js'
import { isConfigError } from './errors.js'
import { generateSecret } from './node/dev-secret.js'

const USAGE = `Usage: sms-hook <command> [options]

Commands:
  serve       run the service, as node build/node/main.js does
  check       read the configuration from the environment and say what would start or what is wrong
  send-test   send one hook call signed as GoTrue signs it, and print the answer
  deliveries  print what the hook knows of the sends to a number, or of one send (the support lookup)
  secret      print a new secret for GOTRUE_HOOK_SEND_SMS_SECRETS

"sms-hook <command> --help" describes a command; "sms-hook --version" prints the version.
Exit status: 0 success, 1 failure, 2 wrong usage.`

interface Command {
  help: string
  /** The exit status, or undefined when the command leaves it to what it started (the service). */
  run(args: string[]): Promise<number | undefined>
}

const COMMANDS: Record<string, Command> = {
  serve: {
    help: `Usage: sms-hook serve [--dev]

Run the service exactly as \`node build/node/main.js\` does: settings from the environment (docs/), production
unless NODE_ENV says otherwise, SIGTERM or SIGINT to stop after the hooks in flight.

  --dev   development mode (NODE_ENV=development): the console provider, a made-up secret when none is set,
          and the inbox at /dev/inbox

Exit status: 1 when the configuration is wrong or the address cannot be listened on, 0 after a clean stop.`,
    run: async (args) => {
      parseOptions(args, { dev: { type: 'boolean' } })
      // The entry runs on import and reads its flags from process.argv: it gets the command line it would have
      // had if started on its own, so that it cannot tell the two apart.
      process.argv = [process.argv[0]!, fileURLToPath(new URL('./node/main.js', import.meta.url)), ...args]
      await import('./node/main.js')
      return undefined
    },
  },
  check: {
    help: `Usage: sms-hook check

Read the configuration from the environment as \`sms-hook serve\` would, without listening, and print a summary
of what would start, or what is wrong naming the variable.

Exit status: 0 when the service would start with this configuration, 1 when it would not.`,
    run: async (args) => {
      parseOptions(args, {})
      // Loaded on use: it reads every provider's settings, which the other commands do not need.
      const { check } = await import('./node/check.js')
      const { status, out, err } = await check({ ...process.env })
      process.stdout.write(out)
      process.stderr.write(err)
      return status
    },
  },
  'send-test': { help: SEND_TEST_HELP, run: sendTest },
  deliveries: { help: DELIVERIES_HELP, run: deliveries },
  secret: {
    help: `Usage: sms-hook secret

Print a new secret for GOTRUE_HOOK_SEND_SMS_SECRETS: v1,whsec_ and 32 random bytes in base64.`,
    run: async (args) => {
      parseOptions(args, {})
      console.log(generateSecret())
      return 0
    },
  },
}

const version = (): string =>
  (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

/** Wrong usage: one line naming what is wrong and where the usage is, exit status 2. */
const refuse = (who: string, message: string): number => {
  console.error(`${who}: ${message}; see "${who} --help"`)
  return 2
}

const isHelp = (arg: string) => arg === '--help' || arg === '-h'

const run = async (argv: string[]): Promise<number | undefined> => {
  const [name, ...rest] = argv
  if (name === undefined) {
    console.error(USAGE)
    return 2
  }
  if (isHelp(name) || name === '--version' || name === 'help') {
    if (name === 'help' && rest.length === 1) {
      const topic = Object.hasOwn(COMMANDS, rest[0]!) ? COMMANDS[rest[0]!] : undefined
      if (topic === undefined) return refuse('sms-hook', `unknown command "${rest[0]}"`)
      console.log(topic.help)
      return 0
    }
    if (rest.length > 0) return refuse('sms-hook', `unexpected argument "${rest[0]}"`)
    console.log(name === '--version' ? version() : USAGE)
    return 0
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (command === undefined) {
    return refuse('sms-hook', name.startsWith('-') ? `unknown option ${name}` : `unknown command "${name}"`)
  }
  const options = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest
  if (options.some(isHelp)) {
    console.log(command.help)
    return 0
  }
  if (options.includes('--version')) {
    console.log(version())
    return 0
  }
  try {
    return await command.run(rest)
  } catch (error) {
    if (error instanceof UsageError || isConfigError(error)) return refuse(`sms-hook ${name}`, error.message)
    throw error
  }
}

const status = await run(process.argv.slice(2))
if (status !== undefined) process.exitCode = status

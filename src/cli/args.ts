import { parseArgs } from 'node:util'

/** The command line itself is wrong (exit status 2): an unknown option, a missing or malformed value. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export type OptionTypes = Record<string, { type: 'string' | 'boolean' }>

export type OptionValues<O extends OptionTypes> = {
  [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean
}

/**
 * Reads `args` against `options` and refuses whatever the command does not take: a word that is not an option,
 * an unknown option, a string option without its value, a value given to a flag. Node's strict mode refuses the
 * same, but in several lines about `--` and ambiguity; this says the one thing that is wrong. A string option
 * followed by another option (`--url --secret x`) is missing its value rather than taking `--secret` as its URL.
 */
export const parseOptions = <O extends OptionTypes>(args: string[], options: O): OptionValues<O> => {
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true })
  const values: Record<string, string | boolean> = {}
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue
    if (token.kind === 'positional') throw new UsageError(`unexpected argument "${token.value}"`)
    // hasOwn: `--constructor` is no option of ours even though every object has one.
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined
    if (option === undefined) throw new UsageError(`unknown option ${token.rawName}`)
    if (option.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`)
      values[token.name] = true
    } else {
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) {
        throw new UsageError(`${token.rawName} needs a value`)
      }
      values[token.name] = token.value
    }
  }
  return values as OptionValues<O>
}

/**
 * A `--url`, refused before any request when it cannot be one: `new URL` reads `localhost:8080` as a URL of scheme
 * `localhost:` and fetch then fails with no word of why.
 */
export const httpUrl = (value: string): URL => {
  if (!/^https?:\/\//i.test(value)) throw new UsageError(`--url "${value}": missing http:// or https://`)
  try {
    return new URL(value)
  } catch {
    throw new UsageError(`--url "${value}" is not a URL`)
  }
}

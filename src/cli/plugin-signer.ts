// `plugin-signer`: generate Ed25519 keys, sign and verify plugin bundles, print a key's pin hash.
// Flags are Go-style (`-privateKey x`) as in the original, and `--privateKey x` / `--privateKey=x`.
// Exit status: 0 done, 1 the operation failed (bad signature, unreadable file), 2 usage error.
import { readFile, writeFile } from 'node:fs/promises';
import {
  parsePrivateKey,
  parsePublicKey,
  sha256File,
  signBytes,
  verifyBytes,
  writeKeyPair,
} from '../plugins/signing.js';

export interface SignerIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = `usage: plugin-signer <command> [flags]

commands:
  generate-keys [-privateKey ed25519_private.key] [-publicKey ed25519_public.key] [-force]
      write a new Ed25519 key pair (PEM: PKCS#8 private with mode 0600, SPKI public);
      refuses to overwrite existing files unless -force
  sign -plugin <file> [-privateKey ed25519_private.key]
      write <file>.sig: hex Ed25519 signature of the file's SHA-256 digest
  verify -plugin <file> -publicKey <path>
      exit 0 when <file>.sig is a valid signature of <file>, 1 otherwise
  hash -publicKey <path>
      print the SHA-256 hex of the key file's bytes (the value of plugins.public_key_hash)

Flags may be written -flag value, --flag value or --flag=value. sign and verify also accept
the plugin file(s) as arguments. Exit status: 0 ok, 1 failure, 2 usage error.`;

type FlagName = 'privateKey' | 'publicKey' | 'plugin' | 'force' | 'help';

const BOOLEAN_FLAGS: ReadonlySet<FlagName> = new Set(['force', 'help']);

/** Accepted spellings (lower-cased, dashes removed) → flag. */
const FLAG_SPELLINGS: ReadonlyMap<string, FlagName> = new Map([
  ['privatekey', 'privateKey'],
  ['publickey', 'publicKey'],
  ['plugin', 'plugin'],
  ['force', 'force'],
  ['help', 'help'],
  ['h', 'help'],
]);

const COMMAND_FLAGS: Readonly<Record<string, ReadonlySet<FlagName>>> = {
  'generate-keys': new Set(['privateKey', 'publicKey', 'force', 'help']),
  sign: new Set(['plugin', 'privateKey', 'help']),
  verify: new Set(['plugin', 'publicKey', 'help']),
  hash: new Set(['publicKey', 'help']),
};

class UsageError extends Error {}

interface ParsedArgs {
  command?: string;
  flags: Map<FlagName, string>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags = new Map<FlagName, string>();
  const positionals: string[] = [];
  let command: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const token = argv[index] ?? '';
    if (token === '--') {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      if (command === undefined) command = token;
      else positionals.push(token);
      continue;
    }
    const body = token.replace(/^--?/, '');
    const equals = body.indexOf('=');
    const spelled = equals === -1 ? body : body.slice(0, equals);
    const flag = FLAG_SPELLINGS.get(spelled.toLowerCase().replaceAll('-', ''));
    if (!flag) throw new UsageError(`unknown flag: ${token}`);
    let value: string | undefined = equals === -1 ? undefined : body.slice(equals + 1);
    if (BOOLEAN_FLAGS.has(flag)) {
      value ??= 'true';
      if (value !== 'true' && value !== 'false') throw new UsageError(`-${spelled} takes true or false`);
    } else if (value === undefined) {
      value = argv[++index];
      if (value === undefined) throw new UsageError(`-${spelled} needs a value`);
    }
    if (value === '') throw new UsageError(`-${spelled} needs a non-empty value`);
    flags.set(flag, value);
  }
  return { command, flags, positionals };
}

/** Runs one command; resolves to the exit status. Never throws. */
export async function main(argv: readonly string[], io: SignerIo = consoleIo): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
    if (args.command === undefined || args.command === 'help') {
      if (args.flags.get('help') === 'true' || args.command === 'help') {
        io.out(USAGE);
        return 0;
      }
      throw new UsageError('missing command');
    }
    const allowed = COMMAND_FLAGS[args.command];
    if (!allowed) throw new UsageError(`unknown command: ${args.command}`);
    if (args.flags.get('help') === 'true') {
      io.out(USAGE);
      return 0;
    }
    for (const flag of args.flags.keys()) {
      if (!allowed.has(flag)) throw new UsageError(`${args.command} does not take -${flag}`);
    }
  } catch (error) {
    if (error instanceof UsageError) return usageError(io, error.message);
    throw error;
  }
  try {
    return await run(args.command, args, io);
  } catch (error) {
    if (error instanceof UsageError) return usageError(io, error.message);
    io.err(`plugin-signer: ${(error as Error).message}`);
    return 1;
  }
}

async function run(command: string, args: ParsedArgs, io: SignerIo): Promise<number> {
  switch (command) {
    case 'generate-keys':
      return generateKeys(args, io);
    case 'sign':
      return sign(args, io);
    case 'verify':
      return verify(args, io);
    default:
      return hash(args, io);
  }
}

async function generateKeys(args: ParsedArgs, io: SignerIo): Promise<number> {
  noPositionals(args);
  const privateKeyPath = args.flags.get('privateKey') ?? 'ed25519_private.key';
  const publicKeyPath = args.flags.get('publicKey') ?? 'ed25519_public.key';
  await writeKeyPair(privateKeyPath, publicKeyPath, { force: args.flags.get('force') === 'true' });
  io.out(`wrote ${privateKeyPath} (private, mode 0600) and ${publicKeyPath} (public)`);
  io.out(`public key hash (plugins.public_key_hash): ${await sha256File(publicKeyPath)}`);
  return 0;
}

async function sign(args: ParsedArgs, io: SignerIo): Promise<number> {
  const files = pluginFiles(args);
  const privateKeyPath = args.flags.get('privateKey') ?? 'ed25519_private.key';
  const privateKey = parsePrivateKey(await readFile(privateKeyPath).catch(explain('private key')));
  for (const file of files) {
    const signature = signBytes(await readFile(file).catch(explain('plugin')), privateKey);
    // No trailing newline: the original Go verifier hex-decodes the whole file.
    await writeFile(`${file}.sig`, signature);
    io.out(`signed ${file} -> ${file}.sig`);
  }
  return 0;
}

async function verify(args: ParsedArgs, io: SignerIo): Promise<number> {
  const files = pluginFiles(args);
  const publicKeyPath = required(args, 'publicKey');
  const publicKey = parsePublicKey(await readFile(publicKeyPath).catch(explain('public key')));
  let status = 0;
  for (const file of files) {
    const bytes = await readFile(file).catch(explain('plugin'));
    const signature = await readFile(`${file}.sig`, 'latin1').catch(explain('signature'));
    if (verifyBytes(bytes, signature, publicKey)) {
      io.out(`signature valid: ${file}`);
    } else {
      io.err(`plugin-signer: signature verification failed: ${file}`);
      status = 1;
    }
  }
  return status;
}

async function hash(args: ParsedArgs, io: SignerIo): Promise<number> {
  noPositionals(args);
  const publicKeyPath = required(args, 'publicKey');
  io.out(await sha256File(publicKeyPath).catch(explain('public key')));
  return 0;
}

function pluginFiles(args: ParsedArgs): string[] {
  const flagged = args.flags.get('plugin');
  const files = flagged === undefined ? args.positionals : [flagged, ...args.positionals];
  if (files.length === 0) throw new UsageError(`${args.command} needs -plugin <file>`);
  return files;
}

function required(args: ParsedArgs, flag: FlagName): string {
  const value = args.flags.get(flag);
  if (value === undefined) throw new UsageError(`${args.command} needs -${flag} <path>`);
  return value;
}

function noPositionals(args: ParsedArgs): void {
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument: ${args.positionals[0]}`);
}

/** Turns `ENOENT: no such file or directory, open 'x'` into `cannot read private key: ...`. */
function explain(what: string): (error: unknown) => never {
  return (error) => {
    throw new Error(`cannot read ${what}: ${(error as Error).message}`);
  };
}

function usageError(io: SignerIo, message: string): number {
  io.err(`plugin-signer: ${message} (see plugin-signer --help)`);
  return 2;
}

const consoleIo: SignerIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

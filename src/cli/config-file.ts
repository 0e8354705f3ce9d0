/**
 * The configuration file (/etc/imds-analyzer/imds-analyzer.conf): one `option = value` per line,
 * option names are the long command-line flags, `#` starts a comment. Deliberately tiny: a
 * Debian conffile an admin edits with vi, diffed by dpkg on upgrade.
 */
import { readFileSync } from 'node:fs';
import { CliError } from './usage-error.js';

export type ConfigValues = ReadonlyMap<string, string>;

/** Parses the text of a configuration file; `allowed` are the option names it may set. */
export function parseConfigText(
  text: string,
  source: string,
  allowed: ReadonlySet<string>,
): ConfigValues {
  const values = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const match = /^([a-z][a-z0-9-]*)\s*=\s*(.*)$/.exec(line);
    const where = `${source} line ${index + 1}`;
    if (match === null) {
      throw new CliError('ERR_CONFIG', `${where}: expected "option = value", got "${line}"`);
    }
    const [, name = '', rawValue = ''] = match;
    if (!allowed.has(name)) {
      throw new CliError(
        'ERR_CONFIG',
        `${where}: unknown option "${name}" (known: ${[...allowed].sort().join(', ')})`,
      );
    }
    values.set(name, rawValue.replace(/^"(.*)"$/, '$1'));
  });
  return values;
}

/** Reads a configuration file; a missing default file is not an error, a missing named one is. */
export function readConfigFile(
  path: string,
  required: boolean,
  allowed: ReadonlySet<string>,
): ConfigValues {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return new Map();
    throw new CliError(
      'ERR_CONFIG',
      `cannot read configuration file ${path} (${code ?? 'error'}); check the path and its permissions`,
    );
  }
  return parseConfigText(text, path, allowed);
}

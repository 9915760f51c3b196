import {gunzipBounded} from '../codec/decompress.js';
import {KhpkgError} from '../errors.js';
import {parseAutoconf} from '../archive/info.js';

/** A kernel `.config` (from `--config` or /proc/config.gz), with its set symbols in file order. */
export interface KernelConfig {
  text: Buffer;
  symbols: Map<string, string>;
}

export function parseConfig(raw: Buffer, origin: string): KernelConfig {
  const text = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipOrFail(raw, origin) : raw;
  const symbols = new Map<string, string>();
  for (const m of text.toString('utf8').matchAll(/^(CONFIG_[A-Za-z0-9_]+)=(.*)$/gm)) symbols.set(m[1]!, m[2]!);
  if (symbols.size === 0) throw new KhpkgError('bad-config', `${origin}: not a kernel .config (no CONFIG_ lines)`);
  return {text, symbols};
}

/** A kernel's .config is some 300 KB; 64 MiB is room for any and a bound for a gzip bomb. */
const MAX_CONFIG_BYTES = 64 << 20;

function gunzipOrFail(raw: Buffer, origin: string): Buffer {
  try {
    return gunzipBounded(raw, MAX_CONFIG_BYTES);
  } catch (e) {
    throw new KhpkgError('bad-config', `${origin}: ${(e as Error).message}`);
  }
}

/**
 * A config from another kernel would describe the wrong headers. autoconf.h in the archive was
 * generated from the kernel's own config, so every set symbol must agree with it.
 */
export function checkConfigMatches(config: KernelConfig, autoconfH: Buffer | undefined, origin: string): void {
  const defines = parseAutoconf(autoconfH?.toString('utf8') ?? '');
  const differ: string[] = [];
  for (const [sym, value] of config.symbols) {
    const ok = value === 'y' ? defines.get(sym) === '1' : value === 'm' ? defines.get(`${sym}_MODULE`) === '1' : sameValue(defines.get(sym), value);
    if (!ok) differ.push(sym);
  }
  if (differ.length > 0) {
    throw new KhpkgError(
      'bad-config',
      `${origin}: does not match the archive's include/generated/autoconf.h (${differ.length} symbols differ, e.g. ${differ.slice(0, 3).join(', ')}): it is another kernel's config`,
    );
  }
}

/** autoconf.h writes hex symbols with a `0x` even where .config has none (`0` → `0x0`). */
function sameValue(define: string | undefined, value: string): boolean {
  return define === value || (define !== undefined && define.toLowerCase() === `0x${value.toLowerCase()}`);
}

/**
 * `include/config/auto.conf` as kconfig writes it: the set symbols in .config order. Since Linux
 * 5.17 ("kconfig: do not quote string values in include/config/auto.conf") strings are unquoted.
 */
export function deriveAutoConf(config: KernelConfig, kernelVersion: string, srcarch: string): Buffer {
  const [maj = 0, min = 0] = kernelVersion.split('.').map(Number);
  const unquote = maj > 5 || (maj === 5 && min >= 17);
  const lines = [`#`, `# Automatically generated file; DO NOT EDIT.`, `# Linux/${srcarch} ${kernelVersion} Kernel Configuration`, `#`];
  for (const [sym, value] of config.symbols) {
    const v = unquote && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1).replace(/\\(["\\])/g, '$1') : value;
    lines.push(`${sym}=${v}`);
  }
  return Buffer.from(lines.join('\n') + '\n');
}

/**
 * `include/generated/rustc_cfg`, as Kconfig writes it beside auto.conf (scripts/kconfig/confdata.c,
 * print_symbol_for_rustccfg): every set symbol as `--cfg=CONFIG_X` (bool and tristate, like
 * IS_ENABLED) and `--cfg=CONFIG_X="value"`, hex values with their 0x, no header. The top Makefile of
 * 6.1x and later refuses to build anything without it, Rust or not.
 */
export function deriveRustcCfg(config: KernelConfig): Buffer {
  const lines: string[] = [];
  for (const [sym, value] of config.symbols) {
    if (value === 'n' || value === '') continue;
    if (value === 'y' || value === 'm') lines.push(`--cfg=${sym}`);
    const quoted = value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value : `"${value}"`;
    lines.push(`--cfg=${sym}=${quoted}`);
  }
  return Buffer.from(lines.map((l) => `${l}\n`).join(''));
}

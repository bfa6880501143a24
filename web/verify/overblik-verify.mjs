// overblik-verify.mjs - an independent verifier of overblik's access log (R-LOG-8), written
// from docs/log.md alone, in another language than the C code it checks. It verifies a
// checkpoint (a C2SP signed note) against the published verifier keys, with any witness
// cosignatures; an inclusion proof (overblik-log-proof-v2: the leaf recomputed from its
// hashed input, every shown field equal to the decoded leaf, the path to the signed root);
// and a consistency proof between two checkpoints (RFC 9162). No dependencies: WebCrypto
// (Ed25519, SHA-256), TextEncoder/TextDecoder, BigInt, so a browser page can load this file
// as it is; verify.mjs beside it is the command-line wrapper for Node.
//
// Every function throws a VerifyError whose `tamper` is true when the input is well formed
// but does not hold (a forged or altered proof), false when it is malformed.

const subtle = globalThis.crypto.subtle;
const enc = new TextEncoder();

export class VerifyError extends Error {
  constructor(msg, tamper = true) {
    super(msg);
    this.tamper = tamper;
  }
}
const bad = (msg) => new VerifyError(msg, false);
const forged = (msg) => new VerifyError(msg, true);

// ---------------------------------------------------------------- bytes, base64, hashes

function concat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function b64encode(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    s += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    s += i + 2 < bytes.length ? B64[n & 63] : '=';
  }
  return s;
}

// Standard base64 with padding, and only the canonical spelling (docs/log.md: one value
// has one written form, so a signature cannot be varied without changing its bytes).
export function b64decode(s, what = 'base64') {
  if (typeof s !== 'string' || s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s))
    throw bad(`${what} is not standard base64`);
  const out = [];
  let bits = 0,
    nb = 0;
  for (const ch of s.replace(/=+$/, '')) {
    bits = ((bits << 6) | B64.indexOf(ch)) & 0xffff;
    nb += 6;
    if (nb >= 8) {
      nb -= 8;
      out.push((bits >> nb) & 255);
    }
  }
  if (b64encode(out) !== s) throw bad(`${what} is not canonical base64`);
  return Uint8Array.from(out);
}

export async function sha256(bytes) {
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

const leafHash = (input) => sha256(concat(new Uint8Array([0]), input));
const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

async function ed25519Verify(pk, sig, msg) {
  try {
    const key = await subtle.importKey('raw', pk, { name: 'Ed25519' }, false, ['verify']);
    return await subtle.verify({ name: 'Ed25519' }, key, sig, msg);
  } catch {
    return false; // a public key that is not a curve point verifies nothing
  }
}

function u64(b, off) {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(b[off + i]);
  return v;
}

// ------------------------------------------------------------ strict JSON (RFC 8259)
// JSON.parse keeps the last of two equal keys; a proof viewer might show the other one, so
// a repeated key is refused here (as the C reader does). Integers come back as BigInt, so
// seqs and times compare exactly; a number with a fraction or exponent is a Number and is
// never equal to an integer field.

export function parseJSON(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (m) => {
    throw bad(`JSON: ${m} at offset ${i}`);
  };
  function value(depth) {
    if (depth > 64) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = new Map();
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a key must be a string');
        const k = string();
        if (obj.has(k)) throw forged(`JSON: the key "${k}" is given twice`);
        ws();
        if (text[i++] !== ':') fail("':' expected");
        obj.set(k, value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] === '}') return obj;
        fail("',' or '}' expected");
      }
    }
    if (c === '[') {
      i++;
      const arr = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i++] === ']') return arr;
        fail("',' or ']' expected");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]])
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('a value expected');
    i += m[0].length;
    return m[2] || m[3] ? Number(m[0]) : BigInt(m[0]);
  }
  function string() {
    i++; // the opening quote
    let s = '';
    for (;;) {
      if (i >= text.length) fail('an unterminated string');
      const c = text[i++];
      if (c === '"') break;
      if (c.charCodeAt(0) < 0x20) fail('a control character in a string');
      if (c !== '\\') {
        s += c;
        continue;
      }
      const e = text[i++];
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
      if (simple !== undefined) {
        s += simple;
        continue;
      }
      if (e !== 'u' || !/^[0-9a-fA-F]{4}$/.test(text.slice(i, i + 4))) fail('a bad escape');
      const u = parseInt(text.slice(i, i + 4), 16);
      i += 4;
      if (u === 0) fail('\\u0000 in a string');
      if (u >= 0xdc00 && u <= 0xdfff) fail('a lone low surrogate');
      if (u >= 0xd800 && u <= 0xdbff) {
        const lo = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(text.slice(i, i + 6));
        if (!lo) fail('a lone high surrogate');
        i += 6;
        s += String.fromCharCode(u, parseInt(lo[1], 16));
      } else s += String.fromCharCode(u);
    }
    if (!s.isWellFormed()) fail('a lone surrogate');
    return s;
  }
  ws();
  if (text[i] !== '{' && text[i] !== '[') fail('an object or array expected');
  const v = value(0);
  ws();
  if (i !== text.length) fail('text after the value');
  return v;
}

const isInt = (v) => typeof v === 'bigint';
function exactKeys(obj, keys, what) {
  if (!(obj instanceof Map)) throw bad(`${what} is not an object`);
  const want = new Set(keys);
  if (obj.size !== want.size || [...obj.keys()].some((k) => !want.has(k)))
    throw bad(`${what} must have exactly the keys ${keys.join(', ')}`);
}
function uint(obj, k, what = k) {
  const v = obj.get(k);
  if (!isInt(v) || v < 0n || v > 0x7fffffffffffffffn) throw bad(`${what} is not a non-negative integer`);
  return v;
}
function hashList(arr, max, what) {
  if (!Array.isArray(arr) || arr.length > max) throw bad(`${what} is not a list of at most ${max} hashes`);
  return arr.map((h, k) => {
    const b = b64decode(h, `${what}[${k}]`);
    if (b.length !== 32) throw bad(`${what}[${k}] is not 32 bytes`);
    return b;
  });
}

// ------------------------------------------------------------------ keys and notes

const ED25519 = 0x01; // the log's signed-note key type
const COSIG = 0x04; // tlog-cosignature/v1, a witness's key type
const NAME_MAX = 128;
const NOTE_MAX = 16384;
const MAX_SIGS = 32;

// A key name: 1..128 bytes, no ASCII control or space, no '+', no Unicode space.
function nameOk(name) {
  const b = enc.encode(name);
  if (b.length === 0 || b.length > NAME_MAX) return false;
  return !/[\u0000-\u0020+\u007f\u00a0\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/.test(name);
}

export async function keyId(name, type, pk) {
  const d = await sha256(concat(enc.encode(name), new Uint8Array([0x0a, type]), pk));
  return ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
}

// A verifier key `name+<8 hex id>+base64(type || public key)`.
export async function parseVerifierKey(line) {
  const m = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(line); // the key base64 may hold a +
  if (!m || !nameOk(m[1])) throw bad(`not a verifier key: ${line}`);
  const raw = b64decode(m[3], 'the verifier key');
  if (raw.length !== 33 || (raw[0] !== ED25519 && raw[0] !== COSIG)) throw bad(`not an Ed25519 verifier key: ${line}`);
  const k = { name: m[1], type: raw[0], pk: raw.slice(1), id: parseInt(m[2], 16) };
  if ((await keyId(k.name, k.type, k.pk)) !== k.id) throw bad(`the key id does not match the key: ${line}`);
  return k;
}

// The published key file (<db>.log-pub, GET /log/key): one log key a line; blank lines and
// lines starting with '#' are skipped.
export async function parseKeyFile(text) {
  const keys = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[\r ]+$/, '');
    if (!line || line.startsWith('#')) continue;
    const k = await parseVerifierKey(line);
    if (k.type !== ED25519) throw bad(`not a log signing key: ${line}`);
    keys.push(k);
  }
  if (!keys.length) throw bad('the key file holds no keys');
  return keys;
}

// Opens a signed note with the given keys (log keys and witness keys alike). Signature
// lines whose (name, id) no key has are ignored; a known one that fails rejects the note;
// at least one must verify. Returns the text and what verified.
export async function openNote(note, keys) {
  if (typeof note !== 'string' || !note.endsWith('\n') || note.includes('\0')) throw bad('note: empty or not ending in a newline');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw bad('note: a control character');
  const bytes = enc.encode(note);
  if (bytes.length > NOTE_MAX + MAX_SIGS * (4 + NAME_MAX + 1 + 104 + 2)) throw bad('note: too long');
  const split = note.lastIndexOf('\n\n');
  if (split <= 0) throw bad('note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const textBytes = enc.encode(text);
  if (textBytes.length > NOTE_MAX) throw bad('note: the text is too long');
  const lines = note.slice(split + 2, -1).split('\n');
  if (note.length === split + 2) throw bad('note: no signature lines');
  if (lines.length > MAX_SIGS) throw bad(`note: more than ${MAX_SIGS} signatures`);
  const verified = [];
  const cosigned = [];
  for (const line of lines) {
    const m = /^\u2014 ([^ ]+) ([^ ]+)$/.exec(line);
    if (!m || !nameOk(m[1])) throw bad(`note: a malformed signature line: ${line}`);
    const raw = b64decode(m[2], 'a note signature');
    if (raw.length < 5) throw bad('note: a signature is not base64 of id || signature');
    const id = ((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) >>> 0;
    for (const k of keys) {
      if (k.id !== id || k.name !== m[1]) continue;
      let ok = false;
      if (k.type === ED25519) ok = raw.length === 68 && (await ed25519Verify(k.pk, raw.slice(4), textBytes));
      else {
        const t = raw.length === 76 ? u64(raw, 4) : -1n;
        const msg = concat(enc.encode(`cosignature/v1\ntime ${t}\n`), textBytes);
        ok = t >= 0n && t <= 0x7fffffffffffffffn && (await ed25519Verify(k.pk, raw.slice(12), msg));
        if (ok) cosigned.push({ key: k, time: t });
      }
      if (!ok) throw forged(`note: the signature by ${k.name} does not verify`);
      if (!verified.includes(k)) verified.push(k);
    }
  }
  if (!verified.length) throw forged('note: not signed by any known key');
  return { text, verified, cosigned };
}

// A tlog-checkpoint: origin, decimal size, base64 root (extension lines may follow).
export function parseCheckpoint(text) {
  const l = text.split('\n');
  if (l.length < 4 || !l[0] || enc.encode(l[0]).length > NAME_MAX) throw bad('checkpoint: needs origin, size and root lines');
  if (!/^(0|[1-9][0-9]{0,19})$/.test(l[1]) || BigInt(l[1]) > 0xffffffffffffffffn) throw bad('checkpoint: the size line is not a decimal number');
  const root = b64decode(l[2], 'the checkpoint root');
  if (root.length !== 32) throw bad('checkpoint: the root is not 32 bytes');
  return { origin: l[0], size: BigInt(l[1]), root };
}

// Verifies a checkpoint note: signed by one of the log's keys whose name is the origin;
// every witness key given must have cosigned it.
export async function verifyCheckpoint(note, logKeys, witnessKeys = []) {
  const r = await openNote(note, [...logKeys, ...witnessKeys]);
  const cp = parseCheckpoint(r.text);
  if (!r.verified.some((k) => k.type === ED25519 && k.name === cp.origin))
    throw forged("checkpoint: its origin is not the name of a log key that signed it");
  for (const w of witnessKeys)
    if (!r.cosigned.some((c) => c.key === w)) throw forged(`checkpoint: no cosignature by ${w.name}`);
  return { ...cp, signers: r.verified.filter((k) => k.type === ED25519), cosigned: r.cosigned };
}

// ------------------------------------------------------------------ Merkle proofs

// RFC 9162 §2.1.3.2.
export async function verifyInclusionPath(leaf, index, size, path, root) {
  if (index >= size || path.length > 64) return false;
  let fn = index,
    sn = size - 1n,
    r = leaf;
  for (const p of path) {
    if (sn === 0n) return false;
    if (fn & 1n || fn === sn) {
      r = await nodeHash(p, r);
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else r = await nodeHash(r, p);
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equalBytes(r, root);
}

// RFC 9162 §2.1.4.2; m == n needs an empty proof and equal roots.
export async function verifyConsistencyPath(m, n, proof, root1, root2) {
  if (m > n || proof.length > 65) return false;
  if (m === n) return proof.length === 0 && equalBytes(root1, root2);
  if (m === 0n) return proof.length === 0;
  const path = (m & (m - 1n)) === 0n ? [root1, ...proof] : [...proof];
  if (!path.length) return false;
  let fn = m - 1n,
    sn = n - 1n;
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0],
    sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if (fn & 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else sr = await nodeHash(sr, c);
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equalBytes(fr, root1) && equalBytes(sr, root2);
}

// ------------------------------------------------------------------ the leaf

// The 14 string fields, in encoding order (docs/log.md, "Hashing").
export const FIELDS = ['actor_id', 'actor_name', 'actor_role', 'actor_org', 'actor_org_name', 'on_behalf_of', 'patient',
  'category', 'resource', 'purpose', 'rule', 'legal_basis', 'reason', 'justification'];
// event numbers to names (docs/log.md); any other number shows as "unknown".
export const EVENTS = ['decision', 'block_create', 'block_lift', 'consent_create', 'consent_revoke', 'permission_grant',
  'permission_revoke', 'relationship', 'disclosure', 'stats_release', 'data_change', 'alert', 'source_access'];

// Days since 1970-01-01 to (y, m, d) in the proleptic Gregorian calendar (H. Hinnant).
function civil(days) {
  const z = days + 719468n;
  const era = (z >= 0n ? z : z - 146096n) / 146097n;
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = doy - (153n * mp + 2n) / 5n + 1n;
  const m = mp < 10n ? mp + 3n : mp - 9n;
  return [yoe + era * 400n + (m <= 2n ? 1n : 0n), m, d];
}
const pad = (v, n) => (v < 0n ? '-' + String(-v).padStart(n - 1, '0') : String(v).padStart(n, '0'));
export function timeUtc(t) {
  const days = t >= 0n ? t / 86400n : -((-t + 86399n) / 86400n);
  const rem = t - days * 86400n;
  const [y, m, d] = civil(days);
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(rem / 3600n, 2)}:${pad((rem / 60n) % 60n, 2)}:${pad(rem % 60n, 2)}Z`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Decodes a leaf input: version 1, i64 time, 4 bytes, 14 length-prefixed UTF-8 strings
// without NUL, u64 seq, nothing left over. Returns the shown entry (a Map) and the seq.
export function decodeLeaf(b) {
  if (b.length < 13 + 4 * 14 + 8 || b[0] !== 1 || b[11] > 1 || b[12] > 1) throw forged('leaf_input is not a version-1 entry encoding');
  let t = u64(b, 1);
  if (t > 0x7fffffffffffffffn) t -= 1n << 64n;
  const entry = new Map([
    ['time', t], ['time_utc', timeUtc(t)], ['event', BigInt(b[9])], ['event_name', EVENTS[b[9]] ?? 'unknown'],
    ['capacity', BigInt(b[10])], ['permit', b[11] === 1], ['override', b[12] === 1],
  ]);
  let off = 13;
  for (const f of FIELDS) {
    if (b.length - off < 4) throw forged('leaf_input ends inside a field');
    const len = ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
    off += 4;
    if (len > b.length - off) throw forged('leaf_input: a field runs past the end');
    const bytes = b.subarray(off, off + len);
    if (bytes.includes(0)) throw forged('leaf_input: a NUL inside a field');
    try {
      entry.set(f, utf8.decode(bytes));
    } catch {
      throw forged(`leaf_input: ${f} is not UTF-8`);
    }
    off += len;
  }
  if (b.length - off !== 8) throw forged('leaf_input: not exactly a seq after the fields');
  return { entry, seq: u64(b, off) };
}

// ------------------------------------------------------------------ the two proofs

const PROOF_KEYS = ['format', 'seq', 'leaf_input', 'entry', 'index', 'tree_size', 'inclusion', 'checkpoint'];

// The proof JSON may also come as the FHIR Parameters resource $prove answers with; its
// "proof" parameter's valueString is the proof's own text.
function unwrapParameters(obj) {
  if (!(obj instanceof Map) || obj.get('resourceType') !== 'Parameters') return null;
  const p = (obj.get('parameter') ?? []).find((x) => x instanceof Map && x.get('name') === 'proof');
  if (!p || typeof p.get('valueString') !== 'string') throw bad('Parameters: no proof parameter');
  return p.get('valueString');
}

// Checks an overblik-log-proof-v2 (text) against the log's keys. Returns the entry shown,
// its seq and the checkpoint.
export async function verifyInclusion(proofText, logKeys, witnessKeys = []) {
  let p = parseJSON(proofText);
  const inner = unwrapParameters(p);
  if (inner !== null) p = parseJSON(inner);
  if (!(p instanceof Map) || p.get('format') !== 'overblik-log-proof-v2') throw bad('not an overblik-log-proof-v2');
  exactKeys(p, PROOF_KEYS, 'the proof');
  const input = b64decode(p.get('leaf_input'), 'leaf_input');
  const { entry, seq } = decodeLeaf(input);
  if (uint(p, 'seq') !== seq) throw forged('seq differs from the one in leaf_input');
  const shown = p.get('entry');
  if (!(shown instanceof Map) || shown.size !== entry.size) throw forged('entry: its fields must be exactly those in leaf_input');
  for (const [k, v] of entry)
    if (!shown.has(k) || shown.get(k) !== v) throw forged(`entry: ${k} differs from leaf_input`);
  const index = uint(p, 'index'),
    treeSize = uint(p, 'tree_size');
  const path = hashList(p.get('inclusion'), 64, 'inclusion');
  if (typeof p.get('checkpoint') !== 'string') throw bad('checkpoint is not a string');
  const cp = await verifyCheckpoint(p.get('checkpoint'), logKeys, witnessKeys);
  if (seq === 0n || index !== seq - 1n || treeSize !== cp.size || index >= cp.size)
    throw forged(`entry ${seq} is not at index ${index} of the tree of ${cp.size}`);
  if (!(await verifyInclusionPath(await leafHash(input), index, treeSize, path, cp.root)))
    throw forged('the inclusion path does not lead to the signed root');
  return { seq, entry: Object.fromEntries(entry), checkpoint: cp };
}

const CONS_KEYS = ['format', 'from', 'to', 'proof'];

// Checks an overblik-log-consistency-v1 (text): both checkpoints (from the proof, or given)
// signed by the log, of the same origin, of sizes from and to, and the RFC 9162 proof
// between their roots.
export async function verifyConsistency(proofText, logKeys, { fromNote, toNote } = {}) {
  const p = parseJSON(proofText);
  if (!(p instanceof Map) || p.get('format') !== 'overblik-log-consistency-v1') throw bad('not an overblik-log-consistency-v1');
  const keys = [...CONS_KEYS, ...['from_checkpoint', 'to_checkpoint'].filter((k) => p.has(k))];
  exactKeys(p, keys, 'the consistency proof');
  const m = uint(p, 'from'),
    n = uint(p, 'to');
  if (m === 0n || m > n) throw bad('a consistency proof needs 0 < from <= to');
  const proof = hashList(p.get('proof'), 65, 'proof');
  const note = (given, k) => {
    const v = given ?? p.get(k);
    if (typeof v !== 'string') throw bad(`no ${k} (give the checkpoint note of that size)`);
    return v;
  };
  const a = await verifyCheckpoint(note(fromNote, 'from_checkpoint'), logKeys);
  const b = await verifyCheckpoint(note(toNote, 'to_checkpoint'), logKeys);
  if (a.origin !== b.origin) throw forged('the two checkpoints are of different logs');
  if (a.size !== m || b.size !== n) throw forged(`the checkpoints are of sizes ${a.size} and ${b.size}, not ${m} and ${n}`);
  if (!(await verifyConsistencyPath(m, n, proof, a.root, b.root)))
    throw forged(`the proof does not show the tree of ${n} extends the tree of ${m}`);
  return { from: a, to: b };
}

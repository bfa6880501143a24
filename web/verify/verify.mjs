#!/usr/bin/env node
// verify.mjs - the command line of the independent verifier (overblik-verify.mjs), for
// Node 20 with no packages. Exit codes as overblik's: 0 it holds, 1 malformed input,
// 2 usage, 4 it does not hold (forged or altered).
//
//   node verify.mjs checkpoint  --keys PUBFILE [--witness-key VKEY]... NOTEFILE
//   node verify.mjs inclusion   --keys PUBFILE [--witness-key VKEY]... PROOFFILE
//   node verify.mjs consistency --keys PUBFILE [--from-note F --to-note F] PROOFFILE
//
// PUBFILE is the log's published key file (<db>.log-pub, GET /log/key); a VKEY is a
// witness's verifier key (name+id+key, as `overblik witness init` prints it).
import { readFileSync } from 'node:fs';
import { parseKeyFile, parseVerifierKey, verifyCheckpoint, verifyConsistency, verifyInclusion, b64encode } from './overblik-verify.mjs';

const usage = () => {
  console.error('usage: node verify.mjs checkpoint|inclusion|consistency --keys PUBFILE [--witness-key VKEY]...\n' +
    '                        [--from-note FILE --to-note FILE] FILE');
  process.exit(2);
};
const text = (f) => new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(f));

const [cmd, ...args] = process.argv.slice(2);
const o = { witness: [] };
let file;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--keys') o.keys = args[++i];
  else if (a === '--witness-key') o.witness.push(args[++i]);
  else if (a === '--from-note') o.fromNote = args[++i];
  else if (a === '--to-note') o.toNote = args[++i];
  else if (!a.startsWith('--') && !file) file = a;
  else usage();
}
if (!['checkpoint', 'inclusion', 'consistency'].includes(cmd) || !o.keys || !file) usage();

try {
  const keys = await parseKeyFile(text(o.keys));
  const wit = [];
  for (const w of o.witness) wit.push(await parseVerifierKey(w.trim()));
  const input = text(file);
  if (cmd === 'checkpoint') {
    const cp = await verifyCheckpoint(input, keys, wit);
    console.log(`checkpoint holds: ${cp.origin}, ${cp.size} entries, root ${b64encode(cp.root)}`);
    for (const c of cp.cosigned) console.log(`  cosigned by ${c.key.name} at ${c.time}`);
  } else if (cmd === 'inclusion') {
    const r = await verifyInclusion(input, keys, wit);
    console.log(`proof holds: entry ${r.seq} (${r.entry.time_utc}, ${r.entry.event_name}) is in the signed log of ${r.checkpoint.size}`);
  } else {
    const r = await verifyConsistency(input, keys, {
      fromNote: o.fromNote && text(o.fromNote),
      toNote: o.toNote && text(o.toNote),
    });
    console.log(`consistency holds: the log of ${r.to.size} extends the log of ${r.from.size}`);
  }
  process.exit(0);
} catch (err) {
  if (err && typeof err.tamper === 'boolean') {
    console.log(`does NOT hold: ${err.message}`);
    process.exit(err.tamper ? 4 : 1);
  }
  console.error(`verify.mjs: ${err && err.message ? err.message : err}`);
  process.exit(1);
}

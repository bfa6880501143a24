// js_verifier_forge.mjs - makes one forged copy of a real proof or checkpoint for
// js_verifier.sh: node js_verifier_forge.mjs KIND OP IN OUT, KIND inclusion|consistency|
// checkpoint. Byte surgery only (Buffer's base64, JSON.parse/stringify); it shares no code
// with the verifiers it is used against.
import { readFileSync, writeFileSync } from 'node:fs';

const [kind, op, inp, outp] = process.argv.slice(2);
const text = readFileSync(inp, 'utf8');

const flip = (b64, at) => {
  const b = Buffer.from(b64, 'base64');
  b[at % b.length] ^= 0x01;
  return b.toString('base64');
};
// the note's parts: text lines (origin, size, root, ...) and signature lines
const split = (note) => {
  const i = note.lastIndexOf('\n\n');
  return { body: note.slice(0, i + 1).split('\n').slice(0, -1), sigs: note.slice(i + 2, -1).split('\n') };
};
const join = ({ body, sigs }) => body.join('\n') + '\n\n' + sigs.join('\n') + '\n';
const sigOp = (line, f) => {
  const sp = line.lastIndexOf(' ');
  return line.slice(0, sp + 1) + f(line.slice(sp + 1));
};
// a log signature is id[4] || sig[64]; a cosignature id[4] || time[8] || sig[64]
const isCosig = (line) => Buffer.from(line.slice(line.lastIndexOf(' ') + 1), 'base64').length === 76;

function note(n, o) {
  const p = split(n);
  switch (o) {
    case 'sig': {
      const k = p.sigs.findIndex((l) => !isCosig(l));
      p.sigs[k] = sigOp(p.sigs[k], (s) => flip(s, 20));
      break;
    }
    case 'cosig': {
      const k = p.sigs.findIndex(isCosig);
      p.sigs[k] = sigOp(p.sigs[k], (s) => flip(s, 30));
      break;
    }
    case 'cosigtime': {
      const k = p.sigs.findIndex(isCosig);
      p.sigs[k] = sigOp(p.sigs[k], (s) => flip(s, 11));
      break;
    }
    case 'dropcosig':
      p.sigs = p.sigs.filter((l) => !isCosig(l));
      break;
    case 'root':
      p.body[2] = flip(p.body[2], 7);
      break;
    case 'size':
      p.body[1] = String(BigInt(p.body[1]) + 1n);
      break;
    case 'origin':
      p.body[0] = p.body[0] + 'x';
      break;
    case 'nosig':
      p.sigs = p.sigs.filter(isCosig);
      if (!p.sigs.length) return n.slice(0, n.lastIndexOf('\n\n') + 1);
      break;
    default:
      throw new Error(`unknown note op ${o}`);
  }
  return join(p);
}

let out;
if (kind === 'checkpoint') out = note(text, op);
else {
  const j = JSON.parse(text);
  if (kind === 'inclusion') {
    const leaf = Buffer.from(j.leaf_input, 'base64');
    switch (op) {
      case 'sig': case 'root': case 'size': case 'cosig': case 'origin': case 'nosig':
        j.checkpoint = note(j.checkpoint, op);
        break;
      case 'size+tree':
        j.checkpoint = note(j.checkpoint, 'size');
        j.tree_size += 1;
        break;
      case 'tree_size': j.tree_size += 1; break;
      case 'path': j.inclusion[0] = flip(j.inclusion[0], 3); break;
      case 'path-last': j.inclusion[j.inclusion.length - 1] = flip(j.inclusion.at(-1), 31); break;
      case 'path-drop': j.inclusion.pop(); break;
      case 'path-add': j.inclusion.push(j.inclusion[0]); break;
      case 'leaf':
        j.leaf_input = flip(j.leaf_input, leaf.length - 20);
        break;
      case 'leaf+entry': // a consistent forgery: permit flipped in both leaf and display
        leaf[11] ^= 1;
        j.leaf_input = leaf.toString('base64');
        j.entry.permit = !j.entry.permit;
        break;
      case 'seq': j.seq += 1; break;
      case 'seq+index': j.seq += 1; j.index += 1; break;
      case 'index': j.index += 1; break;
      case 'time_utc': j.entry.time_utc = '2001-01-01T00:00:00Z'; break;
      case 'event_name': j.entry.event_name = 'alert'; break;
      case 'actor_name': j.entry.actor_name = 'Someone Else'; break;
      case 'reason': j.entry.reason = 'forged'; break;
      case 'time': j.entry.time += 1; break;
      case 'drop-field': delete j.entry.justification; break;
      case 'extra-field': j.entry.note = 'x'; break;
      case 'extra-key': j.extra = 1; break;
      case 'format': j.format = 'overblik-log-proof-v3'; break;
      default: throw new Error(`unknown inclusion op ${op}`);
    }
  } else {
    switch (op) {
      case 'node': j.proof[0] = flip(j.proof[0], 5); break;
      case 'node-last': j.proof[j.proof.length - 1] = flip(j.proof.at(-1), 30); break;
      case 'node-drop': j.proof.pop(); break;
      case 'node-add': j.proof.push(j.proof[0]); break;
      case 'from-root': j.from_checkpoint = note(j.from_checkpoint, 'root'); break;
      case 'to-root': j.to_checkpoint = note(j.to_checkpoint, 'root'); break;
      case 'from-sig': j.from_checkpoint = note(j.from_checkpoint, 'sig'); break;
      case 'to-sig': j.to_checkpoint = note(j.to_checkpoint, 'sig'); break;
      case 'to-size': j.to_checkpoint = note(j.to_checkpoint, 'size'); j.to += 1; break;
      case 'from': j.from += 1; break;
      case 'to': j.to += 1; break;
      case 'swap': [j.from_checkpoint, j.to_checkpoint] = [j.to_checkpoint, j.from_checkpoint]; [j.from, j.to] = [j.to, j.from]; break;
      case 'same': j.from_checkpoint = j.to_checkpoint; j.from = j.to; break;
      case 'extra-key': j.extra = 1; break;
      default: throw new Error(`unknown consistency op ${op}`);
    }
  }
  out = JSON.stringify(j, null, 2) + '\n';
}
writeFileSync(outp, out);

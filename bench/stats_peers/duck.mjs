// duck.mjs - loads the benchmark CSVs into an in-memory DuckDB and times query.sql (best of
// REPS), printing the rows as CSV to rows.csv and the timing line for run.sh.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, writeFileSync } from 'node:fs';

const dir = process.argv[2];
const reps = Number(process.argv[3] || 5);
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
const t0 = performance.now();
for (const t of ['clinics', 'patients', 'diagnoses', 'observations', 'checkups'])
  await con.run(`CREATE TABLE ${t} AS SELECT * FROM read_csv_auto('${dir}/${t}.csv', header=true)`);
const load = performance.now() - t0;
const sql = readFileSync(new URL('./query.sql', import.meta.url), 'utf8');
let best = Infinity, rows;
for (let i = 0; i < reps; i++) {
  const s = performance.now();
  const reader = await con.runAndReadAll(sql);
  const dt = performance.now() - s;
  if (dt < best) best = dt;
  rows = reader.getRows();
}
writeFileSync(`${dir}/duckdb_rows.csv`, rows.map((r) => r.map(String).join(',')).join('\n') + '\n');
console.log(`RESULT duckdb_query_ms=${best.toFixed(1)} duckdb_load_ms=${load.toFixed(0)}`);

// validate.js - validates FHIR R4 JSON resources with the npm `fhir` package
// (FHIR.js, Lantana): structure, cardinalities, data types, unknown elements
// (errorOnUnexpected) and required-binding codes. Usage: node validate.js FILE...
// Prints one line per error and exits 1 if any resource has an error or fatal message.
'use strict';
const fs = require('fs');
const { Fhir } = require('fhir');

const fhir = new Fhir();
let failed = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  let resource;
  try {
    resource = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    console.log(`${file}: not JSON: ${err.message}`);
    failed++;
    continue;
  }
  const res = fhir.validate(resource, { errorOnUnexpected: true });
  const bad = res.messages.filter((m) => m.severity === 'error' || m.severity === 'fatal');
  checked++;
  if (bad.length) {
    failed++;
    for (const m of bad) console.log(`${file}: ${m.severity} at ${m.location}: ${m.message}`);
  }
}
console.log(`validate.js: ${checked} resources checked, ${failed} with errors`);
process.exit(failed ? 1 : 0);

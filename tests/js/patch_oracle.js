'use strict';
// Differential-test oracle for SCIM PATCH: applies PatchOp requests with the `scim-patch` package.
//
// Input (stdin): one JSON object per line, {"resource": <SCIM resource>, "body": <PatchOp message>}.
// Output (stdout): one JSON object per input line, in order: {"ok": <patched resource>} or
// {"error": "<error class>: <message>"}. Everything is written once stdin is closed.

const readline = require('readline');
const { scimPatch, patchBodyValidation } = require('scim-patch');

function run(c) {
  try {
    patchBodyValidation(c.body);
    const patched = scimPatch(c.resource, c.body.Operations, { mutateDocument: false, treatMissingAsAdd: true });
    // Round-trip through JSON so that what is compared is what would be sent on the wire.
    return { ok: JSON.parse(JSON.stringify(patched)) };
  } catch (e) {
    const name = e && e.constructor ? e.constructor.name : 'Error';
    return { error: `${name}: ${e && e.message}` };
  }
}

const results = [];
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  results.push(JSON.stringify(run(JSON.parse(line))));
});
lines.on('close', () => {
  process.stdout.write(results.map((r) => r + '\n').join(''));
});

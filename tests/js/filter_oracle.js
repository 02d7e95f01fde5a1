#!/usr/bin/env node
// Differential-test oracle: evaluates SCIM filters with the npm package scim2-parse-filter.
//
// Input (JSON, from the file named by the first argument, or stdin):
//   { "resourceSets": { "<name>": [resource, ...], ... },
//     "cases": [ { "filter": "<text>", "resources": "<set name>" }, ... ] }
// Output (JSON on stdout), one result per case, in order:
//   { "results": [ { "ok": true, "ast": <the package's AST>, "matches": [bool, ...] }
//                | { "ok": false, "error": "<message>" }, ... ] }
// A case without "resources" is parsed only ("matches" is empty).
'use strict';

const fs = require('fs');
const { parse, filter } = require('scim2-parse-filter');

function readInput() {
  const path = process.argv[2];
  return JSON.parse(fs.readFileSync(path === undefined || path === '-' ? 0 : path, 'utf8'));
}

function run(input) {
  const sets = input.resourceSets || {};
  return input.cases.map((c) => {
    let ast;
    try {
      ast = parse(c.filter);
    } catch (e) {
      return { ok: false, error: String(e && e.message ? e.message : e) };
    }
    const resources = c.resources == null ? [] : sets[c.resources];
    if (resources === undefined) {
      throw new Error(`unknown resource set ${c.resources}`);
    }
    const test = filter(ast);
    return { ok: true, ast, matches: resources.map((r) => test(r)) };
  });
}

process.stdout.write(JSON.stringify({ results: run(readInput()) }));

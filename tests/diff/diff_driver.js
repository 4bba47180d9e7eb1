#!/usr/bin/env node
//  diff_driver.js - the differential test of Baton's HTTP parser against
//  llhttp (Node's parser, strict mode). For every file in the cases
//  directory it compares what http_parse_cli and llhttp_verdicts.js make of
//  the same bytes:
//    FAIL when a message Baton accepts is not accepted by llhttp, or ends at
//         another byte (two parsers framing one connection differently is
//         request smuggling);
//    FAIL when Baton's verdict contradicts the file name's tag: NAME.accept.http,
//         NAME.reject.http, NAME.incomplete.http (untagged: no expectation);
//    INFO when llhttp accepts more than Baton does (Baton is stricter).
//  Usage: node diff_driver.js HTTP_PARSE_CLI CASES_DIR
//  Exits 0 (pass), 1 (fail), 77 (skip: no usable llhttp binding in this node).
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const llhttp = require('./llhttp_verdicts.js');

function listCases(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listCases(full));
    else if (entry.name.endsWith('.http')) out.push(full);
  }
  return out.sort();
}

function ourVerdicts(cli, files) {
  const verdicts = [];
  for (let i = 0; i < files.length; i += 200) {
    const chunk = files.slice(i, i + 200);
    const text = execFileSync(cli, chunk, { encoding: 'utf8', maxBuffer: 64 << 20 });
    const lines = text.split('\n').filter((l) => l.length);
    if (lines.length !== chunk.length) throw new Error(`${cli} printed ${lines.length} lines for ${chunk.length} files`);
    verdicts.push(...lines.map((l) => JSON.parse(l)));
  }
  return verdicts;
}

function accepted(v) { return v.end === 'clean' || v.end === 'closed' || v.end === 'upgrade'; }

function describe(v) {
  const msgs = `${v.ends.length} msg${v.ends.length === 1 ? '' : 's'}`;
  if (v.end === 'error') return `${msgs}, then ${v.status ? v.status + ' ' + v.reason : v.code} at ${v.offset}`;
  return `${msgs}, ${v.end}`;
}

function main() {
  const [cli, dir] = process.argv.slice(2);
  if (!cli || !dir) {
    console.error('usage: node diff_driver.js HTTP_PARSE_CLI CASES_DIR');
    process.exit(2);
  }
  if (!llhttp.available()) {
    console.log('SKIP: this node has no process.binding("http_parser") (llhttp)');
    process.exit(77);
  }
  const files = listCases(dir);
  const ours = ourVerdicts(cli, files);
  const fails = [];
  const stricter = [];
  const tally = { 'both accept': 0, 'both reject': 0, 'Baton stricter': 0, fail: 0 };

  files.forEach((file, i) => {
    const name = path.relative(dir, file);
    const us = ours[i];
    const them = llhttp.verdict(fs.readFileSync(file));
    const problems = [];

    //  Every message we accept must be accepted by llhttp, ending at the same byte.
    us.ends.forEach((end, k) => {
      if (k >= them.ends.length) problems.push(`Baton accepts message ${k + 1} (ends at ${end}), llhttp does not`);
      else if (them.ends[k] !== end) problems.push(`message ${k + 1} ends at ${end} for Baton, at ${them.ends[k]} for llhttp`);
    });
    const tag = /\.(accept|reject|incomplete)\.http$/.exec(file);
    if (tag) {
      const ourKind = accepted(us) ? 'accept' : us.end === 'error' ? 'reject' : 'incomplete';
      if (ourKind !== tag[1]) problems.push(`tagged ${tag[1]}, Baton says ${ourKind}`);
    }

    if (problems.length) {
      tally.fail++;
      fails.push(`FAIL ${name}: ${problems.join('; ')}\n       Baton: ${describe(us)}\n       llhttp: ${describe(them)}`);
    } else if (them.ends.length > us.ends.length || (accepted(them) && !accepted(us))) {
      tally['Baton stricter']++;
      stricter.push(`  ${name}: Baton ${describe(us)} | llhttp ${describe(them)}`);
    } else if (accepted(us)) {
      tally['both accept']++;
    } else {
      tally['both reject']++;
    }
  });

  console.log(`llhttp differential: ${files.length} cases, node ${process.version}, llhttp ${process.versions.llhttp}`);
  console.log(`  ${Object.entries(tally).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  if (stricter.length) {
    console.log('INFO: llhttp accepts more than Baton here (allowed):');
    stricter.forEach((l) => console.log(l));
  }
  fails.forEach((l) => console.log(l));
  process.exit(fails.length ? 1 : 0);
}

main();

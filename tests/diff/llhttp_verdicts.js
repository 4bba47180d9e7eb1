#!/usr/bin/env node
//  llhttp_verdicts.js - what Node's own HTTP parser (llhttp, strict: no
//  leniency flag) makes of raw connection bytes. For each file named on the
//  command line, prints one JSON line in the format of http_parse_cli:
//    {"case":"<file name>","ends":[<end offset of each complete message>],
//     "end":"clean|closed|incomplete|error|upgrade","code":"HPE_...","reason":"..."}
//  Bytes are fed one at a time so each message's end offset is exact.
//  "closed": llhttp refused data after a message without keep-alive
//  (HPE_CLOSED_CONNECTION) - a server closes there and never parses it.
//  "upgrade": the connection switched protocols; later bytes are not HTTP/1.
//  Exits 77 if this node has no usable process.binding('http_parser').
'use strict';

const fs = require('fs');
const path = require('path');

function loadParser() {
  const emit = process.emitWarning;
  process.emitWarning = () => {}; //  DEP0111: we know, it is the point
  try {
    return process.binding('http_parser').HTTPParser;
  } catch (e) {
    return null;
  } finally {
    process.emitWarning = emit;
  }
}

const HTTPParser = loadParser();

function verdict(bytes) {
  const p = new HTTPParser();
  const ends = [];
  let at = 0;
  let keepAlive = true;
  let upgrade = false;
  p[HTTPParser.kOnHeaders] = () => {};
  p[HTTPParser.kOnHeadersComplete] = (maj, min, headers, method, url, statusCode,
                                      statusMessage, upg, shouldKeepAlive) => {
    keepAlive = shouldKeepAlive;
    upgrade = upg;
    return 0;
  };
  p[HTTPParser.kOnBody] = () => {};
  p[HTTPParser.kOnMessageComplete] = () => { ends.push(at + 1); };
  p[HTTPParser.kOnExecute] = () => {};
  //  Header size limit far above any case: compare grammar, not limits.
  p.initialize(HTTPParser.REQUEST, {}, 1 << 24, HTTPParser.kLenientNone);
  const out = { ends, end: 'clean' };
  try {
    for (at = 0; at < bytes.length; at++) {
      const r = p.execute(bytes.subarray(at, at + 1));
      if (r instanceof Error) {
        if (r.code === 'HPE_CLOSED_CONNECTION' && ends.length && !keepAlive) {
          out.end = 'closed';
        } else {
          out.end = 'error';
          out.code = r.code;
          out.reason = r.reason;
          out.offset = at;
        }
        return out;
      }
      if (upgrade) {
        out.end = 'upgrade';
        return out;
      }
    }
    const r = p.finish();
    if (r instanceof Error) out.end = 'incomplete';
    return out;
  } finally {
    p.close();
  }
}

function main(files) {
  if (!HTTPParser) {
    console.error('skip: this node has no process.binding("http_parser")');
    process.exit(77);
  }
  for (const file of files) {
    const v = verdict(fs.readFileSync(file));
    console.log(JSON.stringify({ case: path.basename(file), ...v }));
  }
}

if (require.main === module) main(process.argv.slice(2));
module.exports = { verdict, available: () => HTTPParser !== null };

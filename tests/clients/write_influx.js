// SPDX-License-Identifier: MIT
//
// Writes points through the npm `influx` client (node-influx), for
// tests/integration/test_write_clients.py.
//
//   node write_influx.js SPEC.json
//
// SPEC: {"host", "port", "database", "schema": [{measurement, fields:
// {name: "float"|"integer"|"string"|"boolean"}, tags: [...]}],
// "batches": [{"precision": "n"|"u"|"ms"|"s"|"m"|"h"|null, "points": [
//   {"measurement", "tags": {...}, "fields": {...},
//    "ts": null | {"date_ms": N} | {"nano": "digits"} | {"number": N} | {"string": "digits"}}]}]}
//
// Prints one line "ok <points written>" and exits 0, or prints the error
// and exits 1.
'use strict';

const fs = require('fs');
const path = require('path');
const Influx = require(path.join(__dirname, 'node_modules', 'influx'));

const TYPES = {
  float: Influx.FieldType.FLOAT,
  integer: Influx.FieldType.INTEGER,
  string: Influx.FieldType.STRING,
  boolean: Influx.FieldType.BOOLEAN,
};

function timestamp(ts) {
  if (ts === null || ts === undefined) return undefined;
  if ('date_ms' in ts) return new Date(ts.date_ms);
  if ('nano' in ts) return Influx.toNanoDate(ts.nano);
  if ('number' in ts) return ts.number;
  if ('string' in ts) return ts.string;
  throw new Error('bad ts ' + JSON.stringify(ts));
}

async function main() {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const schema = (spec.schema || []).map((s) => {
    const fields = {};
    for (const k of Object.keys(s.fields)) fields[k] = TYPES[s.fields[k]];
    return { measurement: s.measurement, fields, tags: s.tags || [] };
  });
  const influx = new Influx.InfluxDB({
    host: spec.host,
    port: spec.port,
    database: spec.database,
    schema,
  });
  let n = 0;
  for (const b of spec.batches) {
    const points = b.points.map((p) => {
      const out = { measurement: p.measurement, tags: p.tags || {}, fields: p.fields };
      const t = timestamp(p.ts);
      if (t !== undefined) out.timestamp = t;
      return out;
    });
    const opts = {};
    if (b.precision) opts.precision = b.precision;
    await influx.writePoints(points, opts);
    n += points.length;
  }
  console.log('ok ' + n);
}

main().catch((err) => {
  console.log('error: ' + (err && err.stack ? err.stack : err));
  process.exit(1);
});

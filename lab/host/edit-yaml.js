// Edits one value of a YAML file in place, keeping its comments: the lab's variants of the example config.
// Usage: node lab/host/edit-yaml.js FILE PATH JSON   (PATH: dot-separated keys and list indexes, e.g.
// connections.0.rate; JSON: the new value; `null` deletes the key; PATH ending in `.+` appends to a list).
const fs = require('node:fs');
const path = require('node:path');
const YAML = require(path.join(__dirname, '..', '..', 'node_modules', 'yaml'));

const [file, where, json] = process.argv.slice(2);
if (!file || !where || json === undefined) {
  console.error('usage: edit-yaml.js FILE PATH JSON');
  process.exit(2);
}
const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'));
const keys = where.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k));
const value = JSON.parse(json);
if (keys.at(-1) === '+') {
  const list = doc.getIn(keys.slice(0, -1));
  if (!YAML.isSeq(list)) throw new Error(`${where}: not a list in ${file}`);
  list.add(doc.createNode(value));
} else if (value === null) {
  doc.deleteIn(keys);
} else {
  doc.setIn(keys, doc.createNode(value));
}
fs.writeFileSync(file, String(doc));

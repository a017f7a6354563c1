'use strict';
// Validates xAPI statements with Learning Locker's validator (npm
// xapi-validation, the rules its LRS applies before storing):
//   node xapi_validate.js FILE...
// Each FILE holds one statement or an array of statements (JSON). Prints
// "ok FILE" or one line per problem ("FILE: statement[0].actor.mbox:
// TypeWarning ..."). Exit 0 when every statement is valid, 1 when one is
// not, 2 on a usage error or a file that is not JSON.
// tests/lrs/real_lrs.py runs it with NODE_PATH set to the installed modules.
const fs = require('fs');
const validate = require('xapi-validation').default;

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node xapi_validate.js FILE...');
  process.exit(2);
}
let invalid = false;
for (const file of files) {
  let data;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(file + ': not a JSON file: ' + e.message);
    process.exit(2);
  }
  const list = Array.isArray(data) ? data : [data];
  const problems = [];
  list.forEach((statement, i) => {
    for (const w of validate(statement)) {
      const where = ['statement[' + i + ']'].concat(w.path.slice(1)).join('.');
      problems.push(where + ': ' + w.constructor.name + ' (got ' +
                    JSON.stringify(w.data) + ')');
    }
  });
  if (problems.length) {
    invalid = true;
    for (const p of problems) console.log(file + ': ' + p);
  } else {
    console.log('ok ' + file + ' (' + list.length + ' statement' +
                (list.length === 1 ? '' : 's') + ')');
  }
}
process.exit(invalid ? 1 : 0);

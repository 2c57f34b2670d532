// `make schema`: writes the generated JSON Schema to schema/dito.config.schema.json (or argv[2]).
import { writeFileSync } from 'node:fs';
import { configJsonSchemaText, JSON_SCHEMA_PATH } from './json-schema.js';

const target = process.argv[2] ?? JSON_SCHEMA_PATH;
writeFileSync(target, configJsonSchemaText());
console.log(`wrote ${target}`);

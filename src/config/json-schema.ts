// The JSON Schema of config.yaml for editors (hover docs, completion, validation), generated from
// the same zod schema the loader uses, so the two cannot disagree.
import * as z from 'zod';
import { configSchema } from './schema.js';

/** Where the committed copy lives, relative to the repository root (see `make schema`). */
export const JSON_SCHEMA_PATH = 'schema/dito.config.schema.json';

/** JSON Schema (draft-07, the dialect yaml-language-server reads best) of the config file as written. */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-7',
    unrepresentable: 'throw',
  });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'Dito configuration (config.yaml)',
    description: 'Generated from src/config/schema.ts by `make schema`; do not edit by hand.',
    ...rest,
  };
}

/** The exact text of the committed file. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

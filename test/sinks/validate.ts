/** ajv validation of built events against the shipped schema. */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { eventSchema } from '../../src/sinks/event-schema.js';

const ajv = new Ajv2020({ allErrors: true, strict: true });
const validator = ajv.compile(eventSchema);

/** Validation errors as readable strings; empty when the event is valid. */
export function schemaErrors(event: unknown): string[] {
  // Validate what a reader of the log sees: the JSON text, not the in-memory object.
  const parsed: unknown = JSON.parse(JSON.stringify(event));
  if (validator(parsed)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

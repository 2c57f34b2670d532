// The `auth:` block's own config rules: claim headers Dito owns are refused, a header used twice
// is refused, the realm must fit in a header, and strip_credentials defaults to false.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';

const LOCATION = 'locations:\n  - path: "^/"\n    target_url: http://127.0.0.1:9\n    middlewares: [auth]\n';
const JWT = `${LOCATION}    auth:\n      type: jwt\n      secret: "${'s'.repeat(32)}"\n      algorithms: [HS256]\n`;

function refusal(text: string): string {
  try {
    parseConfigText(text, 'c.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail('the config was accepted');
}

test('forward_claims may not target headers Dito sets, drops or that carry credentials', () => {
  for (const header of ['X-Request-ID', 'x-forwarded-for', 'Authorization', 'Connection', 'Host']) {
    assert.match(
      refusal(`${JWT}      forward_claims: {sub: ${header}}\n`),
      new RegExp(
        `^c\\.yaml:9:\\d+: locations\\[0\\]\\.auth\\.forward_claims\\.sub: header ${header} is reserved`,
      ),
    );
  }
  assert.match(
    refusal(`${JWT}      forward_claims: {sub: X-User, email: x-user}\n`),
    /forward_claims\.email: header x-user is already used by claim sub/,
  );
});

test('the realm must be printable ASCII', () => {
  assert.match(
    refusal(`${LOCATION}    auth: {type: api_key, realm: "a\\nb", keys: ["${'a'.repeat(64)}"]}\n`),
    /auth\.realm: the realm must be printable ASCII/,
  );
});

test('strip_credentials defaults to false and can be set per block', () => {
  const on = parseConfigText(`${JWT}      strip_credentials: true\n`, 'c.yaml').config.locations[0]!.auth;
  assert.equal(on?.stripCredentials, true);
  const off = parseConfigText(JWT, 'c.yaml').config.locations[0]!.auth;
  assert.equal(off?.stripCredentials, false);
});

// The external authorization server of Portico's integration tests and benchmarks: the certified
// oidc-provider, on loopback only, with dynamic client registration (RFC 7591/7592),
// client_credentials, introspection, revocation and JWT access tokens.
//
// Usage: node server.js [--port N] [--initial-access-token T] [--jwt [--signing-alg ES256|RS256]]
//                       [--registration-basic USER:PASSWORD] [--rotate-secret-on-update] [--fs]
// Prints one line `listening <issuer>` once it accepts connections.
//
// --signing-alg: JWT access tokens are signed with a key of this algorithm made at start (the
//   benchmark compares like with like); without it, oidc-provider's development keys (RS256).
// --registration-basic: registrations must carry these HTTP Basic credentials (the header is
//   checked, then removed before oidc-provider sees the request).
// --rotate-secret-on-update: an RFC 7592 update without `client_secret` is answered with a new
//   secret, the old one stops working (RFC 7592 §2.2 lets servers rotate; oidc-provider keeps it).
// --fs: the open-banking profile: RFC 8705 tls_client_auth is offered, and the metadata an
//   open-banking key manager takes (regulatory flag, PKCE flags, token lifetimes) is kept.

import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const port = Number(option('--port', '0'));
const initialAccessToken = option('--initial-access-token', null);
const jwtAccessTokens = args.includes('--jwt');
const registrationBasic = option('--registration-basic', null);
const rotateSecretOnUpdate = args.includes('--rotate-secret-on-update');
const fs = args.includes('--fs');
const signingAlg = option('--signing-alg', null);

// A signing key of `alg` as a private JWK, and an RS256 one beside it (ID tokens default to it).
const signingKeys = (alg) => {
  const jwk = (kind, options, name) => ({
    ...crypto.generateKeyPairSync(kind, options).privateKey.export({ format: 'jwk' }),
    alg: name,
    use: 'sig',
    kid: `${name.toLowerCase()}-${crypto.randomUUID()}`,
  });
  const keys = [jwk('rsa', { modulusLength: 2048 }, 'RS256')];
  if (alg === 'ES256') keys.unshift(jwk('ec', { namedCurve: 'P-256' }, 'ES256'));
  else if (alg !== 'RS256') throw new Error(`--signing-alg ${alg}: ES256 or RS256`);
  return { keys };
};

// The stock memory adapter evicts after about 1000 items; tests and benchmarks need every client.
const stores = new Map();
class UnboundedAdapter {
  constructor(name) {
    this.name = name;
    if (!stores.has(name)) stores.set(name, new Map());
    this.store = stores.get(name);
  }
  static grants = new Map();
  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    this.store.set(id, { payload, expiresAt });
    if (payload.grantId) {
      const members = UnboundedAdapter.grants.get(payload.grantId) ?? [];
      members.push([this.name, id]);
      UnboundedAdapter.grants.set(payload.grantId, members);
    }
    if (payload.userCode) stores.get(`${this.name}:userCode`)?.set(payload.userCode, id);
    if (payload.uid) this.uids().set(payload.uid, id);
  }
  uids() {
    const key = `${this.name}:uid`;
    if (!stores.has(key)) stores.set(key, new Map());
    return stores.get(key);
  }
  async find(id) {
    const entry = this.store.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.store.delete(id);
      return undefined;
    }
    return entry.payload;
  }
  async findByUid(uid) {
    const id = this.uids().get(uid);
    return id ? this.find(id) : undefined;
  }
  async findByUserCode() {
    return undefined;
  }
  async consume(id) {
    const entry = this.store.get(id);
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    this.store.delete(id);
  }
  async revokeByGrantId(grantId) {
    for (const [name, id] of UnboundedAdapter.grants.get(grantId) ?? []) {
      stores.get(name)?.delete(id);
    }
    UnboundedAdapter.grants.delete(grantId);
  }
}

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    adapter: UnboundedAdapter,
    ...(signingAlg ? { jwks: signingKeys(signingAlg) } : {}),
    clients: [],
    clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: initialAccessToken ?? false },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      // RFC 8705 tls_client_auth, offered in discovery. The tests do not terminate TLS, so no
      // certificate is ever presented and none is authorized.
      ...(fs ? {
        mTLS: {
          enabled: true,
          tlsClientAuth: true,
          getCertificate: () => undefined,
          certificateAuthorized: () => false,
          certificateSubjectMatches: () => false,
        },
      } : {}),
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'https://api.portico.test',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'read write default',
          accessTokenFormat: jwtAccessTokens ? 'jwt' : 'opaque',
          ...(jwtAccessTokens && signingAlg ? { jwt: { sign: { alg: signingAlg } } } : {}),
          accessTokenTTL: 3600,
        }),
      },
    },
    scopes: ['openid', 'offline_access', 'read', 'write', 'default'],
    pkce: { required: () => false },
    ...(fs ? {
      clientAuthMethods: ['client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'private_key_jwt', 'none', 'tls_client_auth'],
      extraClientMetadata: {
        properties: [
          'regulatory', 'ext_pkce_mandatory', 'ext_pkce_support_plain',
          'ext_application_token_lifetime', 'ext_user_token_lifetime',
          'ext_refresh_token_lifetime', 'ext_id_token_lifetime',
        ],
      },
    } : {}),
  });
  provider.use(async (ctx, next) => {
    if (registrationBasic && ctx.method === 'POST' && ctx.path === '/reg') {
      const expected = `Basic ${Buffer.from(registrationBasic).toString('base64')}`;
      if (ctx.get('authorization') !== expected) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Basic realm="registration"');
        ctx.body = { error: 'invalid_client', error_description: 'registration needs the registration credentials' };
        return;
      }
      delete ctx.req.headers.authorization;
    }
    await next();
    if (rotateSecretOnUpdate && ctx.method === 'PUT' && ctx.path.startsWith('/reg/')
        && ctx.status === 200 && ctx.body?.client_secret && !('client_secret' in (ctx.oidc?.body ?? {}))) {
      const secret = crypto.randomBytes(32).toString('base64url');
      const entry = stores.get('Client')?.get(ctx.body.client_id);
      if (entry) {
        entry.payload.client_secret = secret;
        ctx.body.client_secret = secret;
      }
    }
  });
  server.on('request', provider.callback());
  process.stdout.write(`listening ${issuer}\n`);
});

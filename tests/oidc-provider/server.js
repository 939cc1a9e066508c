// The external authorization server of Portico's integration tests and benchmarks: the certified
// oidc-provider, on loopback only, with dynamic client registration (RFC 7591/7592),
// client_credentials, introspection, revocation and JWT access tokens.
//
// Usage: node server.js [--port N] [--initial-access-token T] [--jwt]
// Prints one line `listening <issuer>` once it accepts connections.

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
    clients: [],
    clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: initialAccessToken ?? false },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'https://api.portico.test',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'read write default',
          accessTokenFormat: jwtAccessTokens ? 'jwt' : 'opaque',
          accessTokenTTL: 3600,
        }),
      },
    },
    scopes: ['openid', 'offline_access', 'read', 'write', 'default'],
    pkce: { required: () => false },
  });
  server.on('request', provider.callback());
  process.stdout.write(`listening ${issuer}\n`);
});

// A real OpenID provider (node-oidc-provider) for the tests: one process is one issuer
// ("Google" or "Microsoft"), on loopback. tests/helpers/oidc.py starts it; docs/identity.md.
//
// Configuration is one JSON document in OIDC_CONFIG:
//   { "issuer": "http://127.0.0.1:PORT", "port": PORT,
//     "clients": [{ "client_id", "client_secret", "redirect_uris": [...] }],
//     "jwks": { "keys": [<private signing JWK>] } }
// Anyone may sign in on its login page (dev interactions): the login typed is the email;
// a login that starts with "unverified" gets `email_verified: false`.
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_CONFIG);

const provider = new Provider(config.issuer, {
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  })),
  jwks: config.jwks,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // The email claims go into the ID token itself, as Google and Microsoft do.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: [config.cookie_key || 'test-only-cookie-key'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: id,
          email_verified: !id.startsWith('unverified'),
          name: id.split('@')[0],
        };
      },
    };
  },
});

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`oidc provider ${config.issuer} listening\n`);
});

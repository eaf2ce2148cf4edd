// Child process for tests: @tak-ps/node-tak enrolls for a certificate the way CloudTAK's tools do — OAuth password
// grant, tls/config with the bearer token, its own key and CSR (the `pem` package, i.e. the openssl command line),
// signClient/v2 with Basic — and prints {cert, key, ca} as JSON. A child, so that NODE_EXTRA_CA_CERTS (our CA, for
// undici's fetch inside node-tak) applies from its start.
//   node tests/support/node-tak-credentials.mjs https://127.0.0.1:PORT USERNAME PASSWORD

import { APIAuthPassword, TAKAPI } from '@tak-ps/node-tak'

const [url, username, password] = process.argv.slice(2)
try {
  const api = await TAKAPI.init(new URL(url), new APIAuthPassword(username, password))
  const credentials = await api.Credentials.generate()
  process.stdout.write(`${JSON.stringify(credentials)}\n`)
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
}
